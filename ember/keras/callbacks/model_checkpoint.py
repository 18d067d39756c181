"""``keras.callbacks.ModelCheckpoint``: save the model or its weights during training."""
from __future__ import annotations

import os
import warnings
from typing import Any

from ember.keras.callbacks._monitor import checked_mode, maximize_by_name
from ember.keras.callbacks.callback import Callback

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Save the model (``.keras``) or its weights (``.weights.safetensors``) every epoch
    or every ``save_freq`` batches.

    ``filepath`` may hold ``{epoch:02d}`` and log keys (``{val_loss:.2f}``).
    ``save_best_only`` keeps only saves where ``monitor`` improved on the best value so
    far (``initial_value_threshold`` starts it); 'auto' ``mode`` maximizes names with
    'acc'. Files are written atomically: an interruption never leaves a partial file.

    >>> from ember import keras
    >>> ckpt = keras.callbacks.ModelCheckpoint("best.keras", save_best_only=True)
    """

    def __init__(self, filepath: Any, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: Any = "epoch",
                 initial_value_threshold: float | None = None) -> None:
        super().__init__()
        from ember.keras.saving.weights_file import SUFFIX
        self.filepath = os.fspath(filepath)
        self.monitor, self.verbose = monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.save_freq = save_freq
        if save_weights_only and not self.filepath.endswith(SUFFIX):
            raise ValueError(f"When using `save_weights_only=True` in `ModelCheckpoint`, the "
                             f"filepath provided must end in `{SUFFIX}` (Keras weights "
                             f"format). Received: filepath={self.filepath}")
        if not save_weights_only and not self.filepath.endswith(".keras"):
            raise ValueError("The filepath provided must end in `.keras` (Keras model "
                             f"format). Received: filepath={self.filepath}")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are "
                             "'epoch' or integer values")
        mode = checked_mode("ModelCheckpoint", mode)
        self.maximize = mode == "max" or (mode == "auto" and maximize_by_name(monitor))
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = -float("inf") if self.maximize else float("inf")
        self._batches_seen = 0
        self._current_epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _improved(self, current: float) -> bool:
        return current > self.best if self.maximize else current < self.best

    def _save(self, epoch: int, batch: int | None, logs: dict | None) -> None:
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available, "
                              "skipping.", UserWarning, stacklevel=2)
                return
            if not self._improved(current):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} "
                      f"to {current:.5f}, saving model to {filepath}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
        directory = os.path.dirname(os.path.abspath(filepath))
        os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def _get_file_path(self, epoch: int, batch: int | None, logs: dict) -> str:
        """``filepath`` with ``{epoch}``, ``{batch}`` and log keys filled in."""
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}") from None
