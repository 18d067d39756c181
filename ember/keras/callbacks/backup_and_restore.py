"""``keras.callbacks.BackupAndRestore``: resume an interrupted ``fit`` where it stopped."""
from __future__ import annotations

import json
import os
import shutil
from typing import Any

from ember.io.atomic import atomic_write
from ember.keras.callbacks.callback import Callback

__all__ = ["BackupAndRestore"]

_METADATA = "training_metadata.json"


class BackupAndRestore(Callback):
    """Back up the weights to ``backup_dir`` after every epoch (or every ``save_freq``
    batches); when ``fit`` starts again after an interruption with the same
    ``backup_dir``, the weights are restored and training continues at the epoch after
    the last backup. ``delete_checkpoint``: remove the backup when training finishes.

    Each backup is a new weights file plus a JSON record naming it, both written
    atomically, so an interruption at any point leaves the previous complete backup.
    A backup made mid-epoch resumes at the start of that epoch.

    >>> from ember import keras
    >>> backup = keras.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
    """

    def __init__(self, backup_dir: Any, save_freq: Any = "epoch",
                 delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: "
                             f"save_freq={save_freq}. Expected either 'epoch' or a positive "
                             "integer")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.delete_checkpoint = save_freq, delete_checkpoint
        self._batches_seen = 0
        self._current_epoch = 0
        self._saves = 0

    @property
    def _metadata_path(self) -> str:
        return os.path.join(self.backup_dir, _METADATA)

    def on_train_begin(self, logs: dict | None = None) -> None:
        if not self.model.built:
            raise ValueError("To use the BackupAndRestore callback, your model must be built "
                             "before you call `fit()`. Call `model.build(input_shape)` or "
                             "call the model on a batch of data first.")
        if not os.path.exists(self._metadata_path):
            return
        try:
            with open(self._metadata_path, encoding="utf-8") as f:
                metadata = json.load(f)
            epoch, weights = int(metadata["epoch"]), str(metadata["weights"])
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"BackupAndRestore: the backup record {self._metadata_path} is "
                             f"not valid ({e}); delete {self.backup_dir} to start over") \
                from None
        self.model.load_weights(os.path.join(self.backup_dir, os.path.basename(weights)))
        self.model._initial_epoch = epoch
        self._current_epoch = epoch

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.save_freq != "epoch":
            self._batches_seen += 1
            if self._batches_seen % self.save_freq == 0:
                self._backup(resume_epoch=self._current_epoch)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            self._backup(resume_epoch=epoch + 1)

    def _backup(self, resume_epoch: int) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        old = self._recorded_weights()
        self._saves += 1
        name = f"backup-{resume_epoch}-{self._saves}.weights.safetensors"
        self.model.save_weights(os.path.join(self.backup_dir, name), overwrite=True)
        record = json.dumps({"epoch": resume_epoch, "weights": name})

        def write(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(record)

        atomic_write(self._metadata_path, write, who="BackupAndRestore")
        if old is not None and old != name:
            try:
                os.unlink(os.path.join(self.backup_dir, old))
            except FileNotFoundError:
                pass

    def _recorded_weights(self) -> str | None:
        try:
            with open(self._metadata_path, encoding="utf-8") as f:
                return os.path.basename(str(json.load(f)["weights"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir)
