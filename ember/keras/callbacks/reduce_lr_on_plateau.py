"""``keras.callbacks.ReduceLROnPlateau``: lower the learning rate when progress stalls."""
from __future__ import annotations

import warnings

import numpy as np

from ember.keras.callbacks._monitor import checked_mode, maximize_by_name
from ember.keras.callbacks.callback import Callback
from ember.keras.callbacks.learning_rate_scheduler import current_learning_rate

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs in which
    ``monitor`` did not improve by ``min_delta``; then wait ``cooldown`` epochs; never
    go below ``min_lr``. The learning rate is logged as ``learning_rate``.

    >>> from ember import keras
    >>> plateau = keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=2)
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0, **kwargs: object) -> None:
        super().__init__()
        if kwargs:
            raise ValueError(f"ReduceLROnPlateau: unrecognized arguments {sorted(kwargs)}")
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. Received "
                             f"factor={factor}")
        self.monitor, self.factor, self.patience = monitor, float(factor), patience
        self.verbose, self.min_delta, self.cooldown = verbose, min_delta, cooldown
        self.min_lr = min_lr
        self.mode = checked_mode("Learning rate reduction", mode)
        self._reset()

    def _reset(self) -> None:
        self.maximize = self.mode == "max" or (self.mode == "auto"
                                               and maximize_by_name(self.monitor))
        self.best = -np.inf if self.maximize else np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def _improved(self, current: float) -> bool:
        if self.maximize:
            return current > self.best + self.min_delta
        return current < self.best - self.min_delta

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        logs["learning_rate"] = current_learning_rate("ReduceLROnPlateau", self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          f"which is not available. Available metrics are: "
                          f"{','.join(logs)}.", UserWarning, stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = logs["learning_rate"]
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
