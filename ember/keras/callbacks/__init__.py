"""``keras.callbacks``: objects ``fit``/``evaluate``/``predict`` call at fixed points.

>>> from ember import keras
>>> stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)
"""
from ember.keras.callbacks.backup_and_restore import BackupAndRestore
from ember.keras.callbacks.callback import Callback
from ember.keras.callbacks.callback_list import CallbackList
from ember.keras.callbacks.csv_logger import CSVLogger
from ember.keras.callbacks.early_stopping import EarlyStopping
from ember.keras.callbacks.history import History
from ember.keras.callbacks.lambda_callback import LambdaCallback
from ember.keras.callbacks.learning_rate_scheduler import LearningRateScheduler
from ember.keras.callbacks.model_checkpoint import ModelCheckpoint
from ember.keras.callbacks.progbar import Progbar
from ember.keras.callbacks.progbar_logger import ProgbarLogger
from ember.keras.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from ember.keras.callbacks.tensorboard import TensorBoard
from ember.keras.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["BackupAndRestore", "Callback", "CallbackList", "CSVLogger", "EarlyStopping",
           "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint",
           "Progbar", "ProgbarLogger", "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN"]
