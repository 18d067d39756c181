"""``keras.constraints``: projections applied to a weight after each optimizer step.

A layer built with ``kernel_constraint=keras.constraints.MaxNorm(2.0)`` has its kernel
rescaled after every update so each column's L2 norm stays at most 2 (the trainer calls
``layer._apply_constraints()``). Norms are taken over ``axis`` (Keras's default ``0``: for a
Dense kernel ``(in, out)``, the incoming weights of each unit).

>>> import ember
>>> from ember.keras import constraints
>>> constraints.NonNeg()(ember.tensor([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""
from __future__ import annotations

from typing import Any

import ember
from ember import Tensor
from ember.keras._registry import Registry
from ember.keras.backend import epsilon

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get", "serialize",
           "deserialize", "max_norm", "min_max_norm", "non_neg", "unit_norm"]


class Constraint:
    """Base class: ``__call__(w)`` returns the projected weight."""

    def __call__(self, w: Tensor) -> Tensor:
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Constraint":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _norms(w: Tensor, axis: Any) -> Tensor:
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    return (w * w).sum(dim=axes, keepdim=True).sqrt()


class MaxNorm(Constraint):
    """Rescale so the L2 norm along ``axis`` is at most ``max_value``."""

    def __init__(self, max_value: float = 2.0, axis: int | list = 0) -> None:
        self.max_value, self.axis = max_value, axis

    def __call__(self, w: Tensor) -> Tensor:
        norms = _norms(w, self.axis)
        desired = ember.clamp(norms, 0.0, self.max_value)
        return w * (desired / (epsilon() + norms))

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Set negative entries to zero."""

    def __call__(self, w: Tensor) -> Tensor:
        return ember.clamp(w, min=0.0)


class UnitNorm(Constraint):
    """Rescale to unit L2 norm along ``axis``."""

    def __init__(self, axis: int | list = 0) -> None:
        self.axis = axis

    def __call__(self, w: Tensor) -> Tensor:
        return w / (epsilon() + _norms(w, self.axis))

    def get_config(self) -> dict:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move the L2 norm along ``axis`` toward ``[min_value, max_value]`` by ``rate``
    (``rate=1`` enforces the bounds exactly)."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: int | list = 0) -> None:
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w: Tensor) -> Tensor:
        norms = _norms(w, self.axis)
        desired = (self.rate * ember.clamp(norms, self.min_value, self.max_value)
                   + (1.0 - self.rate) * norms)
        return w * (desired / (epsilon() + norms))

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value,
                "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_REGISTRY = Registry("constraint", Constraint, {
    "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
    "min_max_norm": MinMaxNorm})


def get(identifier: Any) -> Any:
    """A constraint from a name, a config dict, an instance or a callable (None stays None)."""
    return _REGISTRY.get(identifier)


def serialize(constraint: Any) -> Any:
    return _REGISTRY.serialize(constraint)


def deserialize(config: Any) -> Any:
    return _REGISTRY.get(config)
