"""``keras.regularizers``: weight penalties added to the training loss.

A layer built with ``kernel_regularizer=keras.regularizers.l2(1e-4)`` reports
``regularizer(kernel)`` in ``layer.losses``, and ``fit`` adds it to the loss.

>>> from ember.keras import regularizers
>>> import ember
>>> float(regularizers.L2(0.5)(ember.tensor([1.0, 2.0])))
2.5
"""
from __future__ import annotations

from typing import Any

from ember import Tensor
from ember.keras._registry import Registry


class Regularizer:
    """Base class: ``__call__(weight)`` returns a scalar penalty tensor."""

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__")

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Regularizer":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _factor(who: str, name: str, value: Any) -> float:
    value = float(value)
    if value < 0.0 or value != value:
        raise ValueError(f"{who}: `{name}` must be a non-negative number, got {value}")
    return value


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _factor(type(self).__name__, "l1", l1)
        self.l2 = _factor(type(self).__name__, "l2", l2)

    def __call__(self, x: Tensor) -> Tensor:
        penalty = None
        if self.l1:
            penalty = self.l1 * x.abs().sum()
        if self.l2:
            term = self.l2 * (x * x).sum()
            penalty = term if penalty is None else penalty + term
        return penalty if penalty is not None else (x * 0.0).sum()

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """Both penalties; note Keras's function defaults (0.01 each) differ from the class's."""
    return L1L2(l1=l1, l2=l2)


l1 = L1
l2 = L2

_REGISTRY = Registry("regularizer", Regularizer,
                     {"l1": L1, "l2": L2, "l1_l2": l1_l2, "L1L2": L1L2})


def get(identifier: Any) -> Any:
    return _REGISTRY.get(identifier)


def serialize(regularizer: Any) -> Any:
    return _REGISTRY.serialize(regularizer)


def deserialize(config: Any) -> Any:
    return _REGISTRY.get(config)
