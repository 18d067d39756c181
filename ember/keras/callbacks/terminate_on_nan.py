"""``keras.callbacks.TerminateOnNaN``: stop training when the loss becomes NaN or inf."""
from __future__ import annotations

import math

from ember.keras.callbacks.callback import Callback

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Stop ``fit`` at the end of the first batch whose loss is NaN or infinite, printing
    ``Batch N: Invalid loss, terminating training``.

    >>> from ember import keras
    >>> callbacks = [keras.callbacks.TerminateOnNaN()]
    """

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
