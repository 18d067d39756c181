"""``keras.optimizers.schedules``: learning rates as functions of the optimizer's step.

An optimizer given a schedule evaluates it at its ``iterations`` (0 for the first step)
before each update. Calling a schedule with an int gives a float; with a NumPy array of
steps, an array (handy for plotting).

>>> from ember.keras.optimizers import schedules
>>> decay = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> round(decay(20), 6)
0.025
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.keras._registry import Registry

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
           "PolynomialDecay", "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts",
           "serialize", "deserialize"]


def _positive(who: str, name: str, value: Any) -> Any:
    if not value > 0:
        raise ValueError(f"{who}: argument `{name}` must be > 0. Received: {name}={value}")
    return value


def _out(value: Any) -> Any:
    """A float for a scalar step, an array for an array of steps."""
    value = np.asarray(value, dtype=np.float64)
    return float(value) if value.ndim == 0 else value


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``.

    >>> class Halving(LearningRateSchedule):
    ...     def __call__(self, step):
    ...         return 0.1 * 0.5 ** (step // 100)
    ...     def get_config(self):
    ...         return {}
    >>> Halving()(250)
    0.025
    """

    def __call__(self, step: Any) -> Any:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (the exponent
    floored with ``staircase=True``)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("ExponentialDecay", "decay_steps", decay_steps)
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def __call__(self, step: Any) -> Any:
        p = np.asarray(step, dtype=np.float64) / self.decay_steps
        if self.staircase:
            p = np.floor(p)
        return _out(self.initial_learning_rate * np.power(self.decay_rate, p))

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` up to ``boundaries[0]`` (inclusive), ``values[1]`` up to
    ``boundaries[1]``, ..., ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries: list, values: list, name: str = "PiecewiseConstant") -> None:
        if len(boundaries) != len(values) - 1:
            raise ValueError("PiecewiseConstantDecay: the length of boundaries should be 1 "
                             f"less than the length of values. Received: boundaries="
                             f"{boundaries} of length {len(boundaries)}, and values={values} "
                             f"of length {len(values)}.")
        if any(b >= a for a, b in zip(boundaries[1:], boundaries)):
            raise ValueError(f"PiecewiseConstantDecay: boundaries must be increasing, got "
                             f"{boundaries}")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step: Any) -> Any:
        index = np.searchsorted(np.asarray(self.boundaries, dtype=np.float64),
                                np.asarray(step, dtype=np.float64), side="left")
        return _out(np.asarray(self.values, dtype=np.float64)[index])

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From ``initial_learning_rate`` to ``end_learning_rate`` over ``decay_steps`` along
    ``(1 - step / decay_steps) ** power``; with ``cycle=True`` the decay restarts with
    ``decay_steps`` stretched to the next multiple, else the rate stays at the end."""

    def __init__(self, initial_learning_rate: float, decay_steps: int,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str = "PolynomialDecay") -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("PolynomialDecay", "decay_steps", decay_steps)
        self.end_learning_rate, self.power, self.cycle, self.name = \
            end_learning_rate, power, cycle, name

    def __call__(self, step: Any) -> Any:
        step = np.asarray(step, dtype=np.float64)
        decay_steps = np.float64(self.decay_steps)
        if self.cycle:
            decay_steps = decay_steps * np.where(step == 0, 1.0, np.ceil(step / decay_steps))
        else:
            step = np.minimum(step, decay_steps)
        span = self.initial_learning_rate - self.end_learning_rate
        return _out(span * (1.0 - step / decay_steps) ** self.power + self.end_learning_rate)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (the ratio
    floored with ``staircase=True``)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay") -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("InverseTimeDecay", "decay_steps", decay_steps)
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def __call__(self, step: Any) -> Any:
        p = np.asarray(step, dtype=np.float64) / self.decay_steps
        if self.staircase:
            p = np.floor(p)
        return _out(self.initial_learning_rate / (1.0 + self.decay_rate * p))

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


def _cosine(fraction: Any, alpha: float) -> Any:
    """``(1 - alpha) * 0.5 * (1 + cos(pi * fraction)) + alpha``."""
    return (1.0 - alpha) * 0.5 * (1.0 + np.cos(math.pi * fraction)) + alpha


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` (or, after a linear warmup of
    ``warmup_steps`` to ``warmup_target``, from ``warmup_target``) down to ``alpha`` times
    it over ``decay_steps``, then constant."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: int = 0) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("CosineDecay", "decay_steps", decay_steps)
        if warmup_steps < 0:
            raise ValueError(f"CosineDecay: argument `warmup_steps` must be >= 0. Received: "
                             f"warmup_steps={warmup_steps}")
        self.alpha, self.name = alpha, name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def __call__(self, step: Any) -> Any:
        step = np.asarray(step, dtype=np.float64)
        if self.warmup_target is None:
            fraction = np.minimum(step, self.decay_steps) / self.decay_steps
            return _out(self.initial_learning_rate * _cosine(fraction, self.alpha))
        step = np.minimum(step, self.decay_steps + self.warmup_steps)
        warm = self.warmup_steps or 1
        warming = (self.warmup_target - self.initial_learning_rate) * step / warm + \
            self.initial_learning_rate
        decayed = self.warmup_target * _cosine((step - self.warmup_steps) / self.decay_steps,
                                               self.alpha)
        return _out(np.where(step < self.warmup_steps, warming, decayed))

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods of ``first_decay_steps``, each
    ``t_mul`` times longer than the last and starting ``m_mul`` times lower."""

    def __init__(self, initial_learning_rate: float, first_decay_steps: int,
                 t_mul: float = 2.0, m_mul: float = 1.0, alpha: float = 0.0,
                 name: str = "SGDRDecay") -> None:
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = _positive("CosineDecayRestarts", "first_decay_steps",
                                           first_decay_steps)
        self.t_mul, self.m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step: Any) -> Any:
        fraction = np.asarray(step, dtype=np.float64) / self.first_decay_steps
        if self.t_mul == 1.0:
            restarts = np.floor(fraction)
            fraction = fraction - restarts
        else:
            restarts = np.floor(np.log(1.0 - fraction * (1.0 - self.t_mul)) /
                                np.log(self.t_mul))
            done = (1.0 - self.t_mul ** restarts) / (1.0 - self.t_mul)
            fraction = (fraction - done) / self.t_mul ** restarts
        cosine = 0.5 * self.m_mul ** restarts * (1.0 + np.cos(math.pi * fraction))
        return _out(self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha))

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


_REGISTRY = Registry("learning rate schedule", LearningRateSchedule, {
    cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                  InverseTimeDecay, CosineDecay, CosineDecayRestarts)})


def serialize(schedule: LearningRateSchedule) -> dict:
    """``{"class_name", "config"}`` of a schedule."""
    return _REGISTRY.serialize(schedule)


def deserialize(config: dict) -> LearningRateSchedule:
    """The schedule a :func:`serialize` result (or a Keras config) describes."""
    return _REGISTRY.get(config)
