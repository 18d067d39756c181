"""``keras.callbacks.History``: what ``fit`` returns."""
from __future__ import annotations

from typing import Any

from ember.keras.callbacks.callback import Callback

__all__ = ["History"]


class History(Callback):
    """Records each epoch's logs: ``history`` maps every log key ('loss', 'accuracy',
    'val_loss', ...) to its list of per-epoch values, ``epoch`` lists the epoch indices.
    ``fit`` adds one to every run and sets it as ``model.history``.

    >>> from ember import keras
    >>> h = keras.callbacks.History()
    >>> h.on_train_begin(); h.on_epoch_end(0, {"loss": 0.5})
    >>> h.history, h.epoch
    ({'loss': [0.5]}, [0])
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        if model is not None:
            model.history = self
