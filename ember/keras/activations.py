"""``keras.activations``: Keras 3's activation functions, each one Ember op or functional.

>>> from ember.keras import activations
>>> activations.get("relu") is activations.relu
True
"""
from __future__ import annotations

from typing import Any

import ember
import ember.nn.functional as F
from ember import Tensor
from ember.keras._registry import Registry


def linear(x: Tensor) -> Tensor:
    """The identity (Keras's ``activation=None``)."""
    return x


def relu(x: Tensor, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> Tensor:
    """``max(x, 0)``; optionally leaky below ``threshold`` and capped at ``max_value``."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return F.relu(x)
    below = x < threshold
    out = ember.where(below, (x - threshold) * negative_slope, x)
    return out if max_value is None else ember.clamp(out, max=max_value)


def relu6(x: Tensor) -> Tensor:
    return F.relu6(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.2) -> Tensor:
    return F.leaky_relu(x, negative_slope)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    return F.elu(x, alpha)


def selu(x: Tensor) -> Tensor:
    return F.selu(x)


def gelu(x: Tensor, approximate: bool = False) -> Tensor:
    return F.gelu(x, approximate="tanh" if approximate else "none")


def sigmoid(x: Tensor) -> Tensor:
    return F.sigmoid(x)


def hard_sigmoid(x: Tensor) -> Tensor:
    """``relu6(x + 3) / 6``, Keras 3's definition."""
    return F.hardsigmoid(x)


def silu(x: Tensor) -> Tensor:
    return F.silu(x)


def hard_silu(x: Tensor) -> Tensor:
    return F.hardswish(x)


def mish(x: Tensor) -> Tensor:
    return F.mish(x)


def tanh(x: Tensor) -> Tensor:
    return F.tanh(x)


def softplus(x: Tensor) -> Tensor:
    return F.softplus(x)


def softsign(x: Tensor) -> Tensor:
    return F.softsign(x)


def exponential(x: Tensor) -> Tensor:
    return ember.exp(x)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return F.softmax(x, dim=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return F.log_softmax(x, dim=axis)


swish = silu
hard_swish = hard_silu

_REGISTRY = Registry("activation", None, {
    "linear": linear, "relu": relu, "relu6": relu6, "leaky_relu": leaky_relu, "elu": elu,
    "selu": selu, "gelu": gelu, "sigmoid": sigmoid, "hard_sigmoid": hard_sigmoid,
    "silu": silu, "swish": swish, "hard_silu": hard_silu, "hard_swish": hard_swish,
    "mish": mish, "tanh": tanh, "softplus": softplus, "softsign": softsign,
    "exponential": exponential, "softmax": softmax, "log_softmax": log_softmax,
})


def get(identifier: Any) -> Any:
    """An activation from its name, a callable, or None (meaning ``linear``)."""
    if identifier is None:
        return linear
    return _REGISTRY.get(identifier)


def serialize(activation: Any) -> Any:
    return _REGISTRY.serialize(activation)


def deserialize(config: Any) -> Any:
    return get(config)
