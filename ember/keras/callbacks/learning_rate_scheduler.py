"""``keras.callbacks.LearningRateScheduler``: set the learning rate at each epoch."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ember.keras.callbacks.callback import Callback

__all__ = ["LearningRateScheduler", "current_learning_rate"]


def current_learning_rate(who: str, model: Any) -> float:
    """The optimizer's learning rate as a float, or a clear error if it has none."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f'{who}: the optimizer must have a "learning_rate" attribute '
                         f"(is the model compiled?); got {optimizer!r}")
    return float(optimizer.learning_rate)


class LearningRateScheduler(Callback):
    """At the start of each epoch set the learning rate to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``), ``epoch`` counting from 0; the value used is logged as
    ``learning_rate``.

    >>> from ember import keras
    >>> halve = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    """

    def __init__(self, schedule: Callable, verbose: int = 0) -> None:
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        lr = current_learning_rate("LearningRateScheduler", self.model)
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:         # a schedule that takes only the epoch, as Keras allows
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, int, np.floating, np.integer)) or isinstance(lr, bool):
            raise ValueError('The output of the "schedule" function should be a float. '
                             f"Got: {lr}")
        self.model.optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{float(lr)}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = current_learning_rate("LearningRateScheduler", self.model)
