"""``keras.callbacks.EarlyStopping``: stop training when a monitored value stops
improving."""
from __future__ import annotations

import warnings
from typing import Any

from ember.keras.callbacks._monitor import checked_mode, maximize_metric
from ember.keras.callbacks.callback import Callback

__all__ = ["EarlyStopping"]


class EarlyStopping(Callback):
    """Stop ``fit`` after ``patience`` epochs without an improvement of ``monitor`` by
    more than ``min_delta``.

    ``mode`` 'min'/'max' says which way is better ('auto': losses go down, accuracies
    up). ``baseline``: training stops unless ``monitor`` beats it within ``patience``
    epochs. ``restore_best_weights`` puts back the weights of the best epoch when
    training stops (or ends). Epochs before ``start_from_epoch`` are not watched.

    >>> from ember import keras
    >>> stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3,
    ...                                      restore_best_weights=True)
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.min_delta = abs(min_delta)
        self.start_from_epoch = start_from_epoch
        self.mode = checked_mode("EarlyStopping", mode)
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best: float | None = None
        self.best_weights: list | None = None
        self._maximize: bool | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = None
        self.best_weights = None

    def _improves(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        if self._maximize:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._maximize is None:
            self._maximize = self.mode == "max" or (
                self.mode == "auto" and maximize_metric("EarlyStopping", self.monitor,
                                                        self.model))
        current = self.get_monitor_value(logs)
        if current is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is "
                          f"not available. Available metrics are: "
                          f"{','.join(logs or {})}", UserWarning, stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: dict | None) -> Any:
        """The monitored value in ``logs`` (None when absent)."""
        return (logs or {}).get(self.monitor)
