"""``ember.keras``: Keras 3's API on Ember (``from ember import keras``).

Layers are ``ember.nn`` modules, optimizers wrap ``ember.optim``, losses and metrics are
written with Ember ops: Keras code runs by changing its import, and Keras layers mix
with PyTorch-style Ember code. Tensors are channels-last (NHWC) as in Keras.

Submodules load on first use, so ``import ember`` stays fast.
"""
from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = ("activations", "backend", "callbacks", "initializers", "layers", "losses",
               "metrics", "models", "optimizers", "regularizers", "saving", "utils",
               "constraints")
_NAMES = {"Input": "layers", "InputSpec": "layers", "Layer": "layers",
          "Model": "models", "Sequential": "models"}

__all__ = list(_SUBMODULES) + list(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"ember.keras.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"ember.keras.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'ember.keras' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
