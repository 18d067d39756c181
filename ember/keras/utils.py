"""``keras.utils``: the helpers Keras scripts commonly reach for.

>>> from ember.keras.utils import to_categorical
>>> to_categorical([0, 2], num_classes=3).tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember.keras.callbacks.progbar import Progbar
from ember.keras.saving import get_custom_objects, register_keras_serializable

__all__ = ["Progbar", "to_categorical", "get_custom_objects", "register_keras_serializable"]


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """One-hot float32 rows for integer class labels (a trailing axis of size 1 is
    dropped first, as in Keras)."""
    labels = np.asarray(x)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.size and (labels.dtype.kind not in "iub"
                        and not np.array_equal(labels, np.round(labels))):
        raise ValueError(f"to_categorical: labels must be integers, got {labels.dtype}")
    labels = labels.astype(np.int64)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must lie in [0, {num_classes}), got "
                         f"values from {labels.min()} to {labels.max()}")
    return np.eye(num_classes, dtype=np.float32)[labels]
