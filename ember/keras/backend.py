"""``keras.backend``: the few global settings Keras code reads.

Ember is its own backend: floats default to ``float32``, images are channels-last, and the
fuzz factor is ``1e-7``, as in Keras.

>>> from ember.keras import backend
>>> backend.floatx(), backend.epsilon(), backend.image_data_format()
('float32', 1e-07, 'channels_last')
"""
from __future__ import annotations

from ember.keras._naming import clear_session

__all__ = ["backend", "clear_session", "epsilon", "floatx", "image_data_format"]

_EPSILON = 1e-7


def backend() -> str:
    """The name of the backend running Keras code: ``"ember"``."""
    return "ember"


def floatx() -> str:
    """The default float dtype of layer weights and computations."""
    return "float32"


def epsilon() -> float:
    """The fuzz factor added to denominators (``1e-7``)."""
    return _EPSILON


def image_data_format() -> str:
    """Always ``"channels_last"`` (NHWC), Keras's default and the only layout here."""
    return "channels_last"
