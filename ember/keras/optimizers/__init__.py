"""``keras.optimizers``: Keras 3's optimizers on ``ember.optim`` engines.

The trainer uses ``build(variables)``, ``apply_gradients(pairs)`` / ``apply(grads)`` and
the fast path ``step_from_grads()`` (update from the variables' ``.grad``); callbacks read
and set ``learning_rate``.

>>> from ember.keras import optimizers
>>> optimizers.get("adam").get_config()["epsilon"]
1e-07
"""
from __future__ import annotations

from typing import Any

from ember.keras._registry import Registry
from ember.keras.optimizers import schedules
from ember.keras.optimizers.adadelta import Adadelta
from ember.keras.optimizers.adagrad import Adagrad
from ember.keras.optimizers.adam import Adam, AdamW
from ember.keras.optimizers.adamax import Adamax
from ember.keras.optimizers.lion import Lion
from ember.keras.optimizers.nadam import Nadam
from ember.keras.optimizers.optimizer import Optimizer
from ember.keras.optimizers.rmsprop import RMSprop
from ember.keras.optimizers.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "Nadam", "Lion", "schedules", "get", "serialize", "deserialize"]

_CLASSES = (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion)
_REGISTRY = Registry("optimizer", Optimizer, {
    **{cls.__name__.lower(): cls for cls in _CLASSES},
    **{cls.__name__: cls for cls in _CLASSES},
})


def get(identifier: Any) -> Optimizer:
    """An optimizer from a name ('adam', 'sgd', 'rmsprop', ... or a class name, with
    Keras's defaults), a config dict, a class or an instance.

    >>> get("sgd").learning_rate
    0.01
    """
    optimizer = _REGISTRY.get(identifier)
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
    return optimizer


def serialize(optimizer: Optimizer) -> dict:
    """``{"class_name", "config"}`` of an optimizer."""
    return _REGISTRY.serialize(optimizer)


def deserialize(config: dict) -> Optimizer:
    """The optimizer a :func:`serialize` result (or a Keras config) describes."""
    return get(config)
