"""``keras.initializers``: how a layer's weights start, with Keras 3's names and defaults.

An initializer is called with a shape (Keras's layout: a Dense kernel is ``(in, out)``, a
Conv2D kernel ``(kh, kw, in, out)``) and returns an Ember tensor. Fans follow Keras: the
last axis is ``fan_out``, the one before ``fan_in``, the leading axes a receptive field.

Randomness: an integer ``seed`` gives the same values on every call; without one, values
come from Ember's global generator, so ``ember.manual_seed`` makes a model reproducible.

>>> from ember.keras import initializers
>>> initializers.get("glorot_uniform")((3, 4)).shape
ember.Size([3, 4])
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import ember
from ember import random as ember_random
from ember.keras._registry import Registry

# stddev of a standard normal truncated to [-2, 2], to undo the truncation's shrinkage
_TRUNCATED_STDDEV = 0.87962566103423978


def compute_fans(shape: tuple) -> tuple[float, float]:
    """Keras's ``(fan_in, fan_out)`` for a weight of ``shape``."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)``."""

    def __call__(self, shape: tuple, dtype: Any = None) -> ember.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__")

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _dtype(dtype: Any) -> Any:
    return ember.get_default_dtype() if dtype is None else dtype


def _finish(array: np.ndarray, dtype: Any) -> ember.Tensor:
    return ember.tensor(np.ascontiguousarray(array)).to(_dtype(dtype))


class Constant(Initializer):
    """Every element equal to ``value``."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def __call__(self, shape: tuple, dtype: Any = None) -> ember.Tensor:
        return ember.full(tuple(shape), self.value, dtype=_dtype(dtype))

    def get_config(self) -> dict:
        return {"value": self.value}


class Zeros(Constant):
    def __init__(self) -> None:
        super().__init__(0.0)

    def get_config(self) -> dict:
        return {}


class Ones(Constant):
    def __init__(self) -> None:
        super().__init__(1.0)

    def get_config(self) -> dict:
        return {}


class _Random(Initializer):
    """Shared seeding: an int seed reproduces the same draw on every call."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError(f"{type(self).__name__}: seed must be an int or None, got "
                             f"{seed!r}")
        self.seed = seed

    def _rng(self) -> np.random.Generator:
        if self.seed is None:
            return ember_random.get(None)
        return np.random.default_rng(int(self.seed))

    def get_config(self) -> dict:
        return {"seed": self.seed}


def _truncated_normal(rng: np.random.Generator, shape: tuple, stddev: float) -> np.ndarray:
    """Normal samples redrawn until they lie within two standard deviations."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * stddev


class RandomNormal(_Random):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape: tuple, dtype: Any = None) -> ember.Tensor:
        return _finish(self._rng().normal(self.mean, self.stddev, tuple(shape)), dtype)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class TruncatedNormal(RandomNormal):
    """Normal values more than two standard deviations from the mean are redrawn."""

    def __call__(self, shape: tuple, dtype: Any = None) -> ember.Tensor:
        return _finish(self.mean + _truncated_normal(self._rng(), tuple(shape), self.stddev),
                       dtype)


class RandomUniform(_Random):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape: tuple, dtype: Any = None) -> ember.Tensor:
        return _finish(self._rng().uniform(self.minval, self.maxval, tuple(shape)), dtype)

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class VarianceScaling(_Random):
    """Samples with variance ``scale / n`` where ``n`` is fan_in, fan_out or their mean."""

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None) -> None:
        super().__init__(seed)
        if scale <= 0.0:
            raise ValueError(f"VarianceScaling: `scale` must be positive, got scale={scale}")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling: invalid `mode` argument {mode!r}; expected "
                             f"one of {self._MODES}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: invalid `distribution` argument "
                             f"{distribution!r}; expected one of {self._DISTRIBUTIONS}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape: tuple, dtype: Any = None) -> ember.Tensor:
        shape = tuple(shape)
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        variance = self.scale / max(1.0, n[self.mode])
        rng = self._rng()
        if self.distribution == "truncated_normal":
            values = _truncated_normal(rng, shape, math.sqrt(variance) / _TRUNCATED_STDDEV)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(variance), shape)
        else:
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, shape)
        return _finish(values, dtype)

    def get_config(self) -> dict:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                **super().get_config()}


def _preset(name: str, scale: float, mode: str, distribution: str, doc: str) -> type:
    """A VarianceScaling subclass with fixed arguments (GlorotUniform, HeNormal, ...)."""
    def __init__(self, seed: int | None = None) -> None:
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": doc, "__module__": __name__})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "Uniform in ±sqrt(6 / (fan_in + fan_out)) (Xavier uniform).")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Truncated normal with stddev sqrt(2 / (fan_in + fan_out)).")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform",
                    "Uniform in ±sqrt(6 / fan_in).")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "Truncated normal with stddev sqrt(2 / fan_in).")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform",
                       "Uniform in ±sqrt(3 / fan_in).")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "Truncated normal with stddev sqrt(1 / fan_in).")


class Orthogonal(_Random):
    """An orthogonal matrix (QR of a normal matrix), flattened to ``shape``, times ``gain``."""

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape: tuple, dtype: Any = None) -> ember.Tensor:
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the shape must have at least 2 dimensions, got "
                             f"shape={shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return _finish(self.gain * q.reshape(shape), dtype)

    def get_config(self) -> dict:
        return {"gain": self.gain, **super().get_config()}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def __call__(self, shape: tuple, dtype: Any = None) -> ember.Tensor:
        shape = tuple(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity: the shape must be 2-D, got shape={shape}")
        return _finish(self.gain * np.eye(*shape), dtype)

    def get_config(self) -> dict:
        return {"gain": self.gain}


_REGISTRY = Registry("initializer", Initializer, {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity,
})
# Keras also exports the lower-case names: keras.initializers.glorot_uniform, ...
globals().update(_REGISTRY.aliases)


def get(identifier: Any) -> Any:
    """An initializer from a string name, a config dict, an instance or a callable."""
    return _REGISTRY.get(identifier)


def serialize(initializer: Any) -> Any:
    return _REGISTRY.serialize(initializer)


def deserialize(config: Any) -> Any:
    return _REGISTRY.get(config)
