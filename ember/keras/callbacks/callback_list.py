"""``keras.callbacks.CallbackList``: calls a list of callbacks in order."""
from __future__ import annotations

from typing import Any

from ember.keras.callbacks.callback import Callback

__all__ = ["CallbackList"]

_BATCH_HOOKS = {
    "train_batch_begin": ("on_train_batch_begin", "on_batch_begin"),
    "train_batch_end": ("on_train_batch_end", "on_batch_end"),
    "test_batch_begin": ("on_test_batch_begin",),
    "test_batch_end": ("on_test_batch_end",),
    "predict_batch_begin": ("on_predict_batch_begin",),
    "predict_batch_end": ("on_predict_batch_end",),
}


def _overrides(callback: Any, names: tuple) -> bool:
    """Whether ``callback`` has its own version of one of the hooks ``names`` (a method
    of a subclass, or a function set on the instance as LambdaCallback does)."""
    for name in names:
        hook = getattr(callback, name, None)
        if getattr(hook, "__func__", hook) is not getattr(Callback, name):
            return True
    return False


class CallbackList(Callback):
    """A container that forwards every hook to its callbacks, in order.

    ``add_history`` / ``add_progbar`` append a :class:`History` and a
    :class:`ProgbarLogger` (as ``fit`` does) unless the list already holds one. Batch
    hooks only reach callbacks that define them, so unused hooks cost nothing per step.

    >>> from ember import keras
    >>> callbacks = keras.callbacks.CallbackList([], add_history=True)
    >>> [type(c).__name__ for c in callbacks.callbacks]
    ['History']
    """

    def __init__(self, callbacks: Any = None, add_history: bool = False,
                 add_progbar: bool = False, model: Any = None, **params: Any) -> None:
        super().__init__()
        from ember.keras.callbacks.history import History
        from ember.keras.callbacks.progbar_logger import ProgbarLogger
        self.callbacks = list(callbacks) if callbacks else []
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"CallbackList: every callback must be a "
                                f"keras.callbacks.Callback, got {callback!r}")
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if add_history and not any(isinstance(c, History) for c in self.callbacks):
            self.callbacks.append(History())
        self._batch_users = {hook: [c for c in self.callbacks if _overrides(c, names)]
                             for hook, names in _BATCH_HOOKS.items()}
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)
        for hook, names in _BATCH_HOOKS.items():
            if _overrides(callback, names):
                self._batch_users[hook].append(callback)

    def set_params(self, params: dict) -> None:
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)

    def set_model(self, model: Any) -> None:
        self._model = model
        for callback in self.callbacks:
            callback.set_model(model)

    def wants(self, hook: str) -> bool:
        """Whether any callback defines the batch hook ``hook`` (e.g. 'train_batch_end')."""
        return bool(self._batch_users[hook])

    def _batch(self, hook: str, batch: int, logs: dict | None) -> None:
        for callback in self._batch_users[hook]:
            getattr(callback, "on_" + hook)(batch, logs)

    def on_train_begin(self, logs: dict | None = None) -> None:
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        for callback in self.callbacks:
            callback.on_train_end(logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_test_begin(self, logs: dict | None = None) -> None:
        for callback in self.callbacks:
            callback.on_test_begin(logs)

    def on_test_end(self, logs: dict | None = None) -> None:
        for callback in self.callbacks:
            callback.on_test_end(logs)

    def on_predict_begin(self, logs: dict | None = None) -> None:
        for callback in self.callbacks:
            callback.on_predict_begin(logs)

    def on_predict_end(self, logs: dict | None = None) -> None:
        for callback in self.callbacks:
            callback.on_predict_end(logs)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._batch("train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._batch("train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._batch("test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._batch("test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._batch("predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._batch("predict_batch_end", batch, logs)
