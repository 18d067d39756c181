"""``keras.callbacks.ProgbarLogger``: prints training progress (added by ``fit``)."""
from __future__ import annotations

import sys
from typing import Any, TextIO

from ember.keras.callbacks.callback import Callback
from ember.keras.callbacks.progbar import Progbar

__all__ = ["ProgbarLogger"]


class ProgbarLogger(Callback):
    """Prints ``Epoch i/n`` and a Keras-style progress bar with the running logs.

    ``fit``, ``evaluate`` and ``predict`` add one unless ``verbose=0``; its verbosity is
    the ``verbose`` given to them (1: bar, 2: one line per epoch). ``stream`` defaults
    to ``sys.stdout``.

    >>> from ember import keras
    >>> keras.callbacks.ProgbarLogger().verbose
    1
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream
        self.verbose = 1
        self.epochs = 1
        self.target: int | None = None
        self.progbar: Progbar | None = None
        self._called_in_fit = False

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _print(self, text: str) -> None:
        out = self.stream or sys.stdout
        out.write(text + "\n")
        out.flush()

    def _reset(self, target: int | None) -> None:
        self.progbar = Progbar(target, verbose=self.verbose, unit_name="step",
                               stream=self.stream)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._called_in_fit = True      # validation inside fit shows on the epoch's line

    def on_train_end(self, logs: dict | None = None) -> None:
        self._called_in_fit = False

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.target = self.params.get("steps")
        self._reset(self.target)
        if self.verbose and self.epochs > 1:
            self._print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.progbar.update(batch + 1, _shown(logs), finalize=False)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._finish(logs)

    def on_test_begin(self, logs: dict | None = None) -> None:
        if not self._called_in_fit:
            self._reset(self.params.get("steps"))

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if not self._called_in_fit:
            self.progbar.update(batch + 1, _shown(logs), finalize=False)

    def on_test_end(self, logs: dict | None = None) -> None:
        if not self._called_in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._reset(self.params.get("steps"))

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.progbar.update(batch + 1, finalize=False)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._finish(None)

    def _finish(self, logs: dict | None) -> None:
        """Print the finished line (the step count becomes known if it was not)."""
        seen = self.progbar._seen
        if self.progbar.target is None:
            self.progbar.target = seen
        self.progbar.update(seen, _shown(logs), finalize=True)


def _shown(logs: Any) -> list:
    return [(k, v) for k, v in (logs or {}).items() if isinstance(v, (int, float))]
