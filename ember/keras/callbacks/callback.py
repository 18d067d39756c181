"""``keras.callbacks.Callback``: hooks the training loop calls at fixed points."""
from __future__ import annotations

from typing import Any

__all__ = ["Callback"]


class Callback:
    """Base class of callbacks: override the ``on_*`` hooks you need.

    ``self.model`` is the model being trained and ``self.params`` holds ``verbose``,
    ``epochs`` and ``steps`` (batches per epoch, None when unknown). ``logs`` are dicts
    of Python floats: ``loss`` and the metrics (running means over the epoch so far) at
    batch ends, plus ``val_*`` entries at epoch ends.

    >>> from ember import keras
    >>> class Count(keras.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print("finished epoch", epoch)
    """

    def __init__(self) -> None:
        self.params: dict = {}
        self._model: Any = None

    def set_params(self, params: dict) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self._model = model

    @property
    def model(self) -> Any:
        return self._model

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Called once when ``fit`` starts."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """Called once when ``fit`` ends; ``logs`` are the last epoch's."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the start of each epoch (``epoch`` counts from 0)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Called after each epoch with its training and validation logs."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each training batch (``batch`` counts from 0 in each epoch)."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each training batch with the running logs."""
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs: dict | None = None) -> None:
        """Called when ``evaluate`` (or the validation of an epoch) starts."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """Called when ``evaluate`` (or the validation of an epoch) ends."""

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each evaluation batch."""

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each evaluation batch."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """Called when ``predict`` starts."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """Called when ``predict`` ends."""

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each prediction batch."""

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each prediction batch (``logs["outputs"]`` holds its outputs)."""

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Keras's older name for the training-batch start hook (called by the default
        ``on_train_batch_begin``)."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Keras's older name for the training-batch end hook (called by the default
        ``on_train_batch_end``)."""
