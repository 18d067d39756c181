"""Which way a monitored quantity should go, shared by the callbacks that watch one
(EarlyStopping, ModelCheckpoint, ReduceLROnPlateau)."""
from __future__ import annotations

import warnings
from typing import Any

_MAXIMIZED = ("acc", "auc", "precision", "recall", "fmeasure", "f1")
_MINIMIZED = ("loss", "error", "crossentropy", "hinge", "divergence", "mse", "mae", "mape",
              "msle", "poisson", "logcosh", "kld", "huber")


def checked_mode(who: str, mode: str) -> str:
    """``mode`` if it is 'auto', 'min' or 'max'; otherwise Keras's warning and 'auto'."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{who} mode {mode} is unknown, fallback to auto mode.", UserWarning,
                      stacklevel=3)
        return "auto"
    return mode


def maximize_by_name(monitor: str) -> bool:
    """Keras's rule for ModelCheckpoint and ReduceLROnPlateau in 'auto' mode."""
    return "acc" in monitor or monitor.startswith("fmeasure")


def maximize_metric(who: str, monitor: str, model: Any) -> bool:
    """EarlyStopping's 'auto' rule: losses go down; a metric goes the way its
    ``_direction`` says, else the way its name says; otherwise Keras's error."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("_loss"):
        return False
    for metric in getattr(model, "metrics", None) or []:
        direction = getattr(metric, "_direction", None)
        if getattr(metric, "name", None) == name and direction in ("up", "down"):
            return direction == "up"
    lowered = name.lower()
    if any(word in lowered for word in _MAXIMIZED):
        return True
    if any(word in lowered for word in _MINIMIZED):
        return False
    raise ValueError(f"{who} callback received monitor={monitor} but Keras isn't able to "
                     "automatically determine whether that metric should be maximized or "
                     "minimized. Pass `mode='max'` in order to do early stopping based on the "
                     "highest metric value, or pass `mode='min'` in order to use the lowest "
                     "value.")
