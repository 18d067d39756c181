"""Activation functions of ``ember.nn.functional``: re-exported from the op library
(``ember.ops.activations``, ``ember.ops.math``), plus ``softmax``, ``log_softmax`` and
``softmin`` with ``nn.functional``'s signature, which guesses a missing ``dim`` the
(deprecated) way PyTorch does."""
from __future__ import annotations

import warnings
from typing import Any

from ember.ops.activations import (celu, celu_, elu, elu_, gelu, hardshrink, hardsigmoid,
                                   hardswish, hardtanh, hardtanh_, leaky_relu, leaky_relu_,
                                   logsigmoid, mish, prelu, relu, relu6, relu_, selu, selu_,
                                   silu, softplus, softshrink, softsign, tanhshrink,
                                   threshold, threshold_)
from ember.ops.creation import rand_like
from ember.ops.elementwise import where
from ember.ops.inplace import inplace as _inplace
from ember.ops.math import sigmoid, tanh
from ember.ops.softmax import log_softmax as _log_softmax, softmax as _softmax
from ember.tensor import Tensor

__all__ = ["celu", "celu_", "elu", "elu_", "gelu", "hardshrink", "hardsigmoid", "hardswish",
           "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "logsigmoid", "mish", "prelu",
           "relu", "relu6", "relu_", "selu", "selu_", "silu", "softplus", "softshrink",
           "softsign", "tanhshrink", "threshold", "threshold_", "sigmoid", "tanh",
           "softmax", "log_softmax", "softmin", "glu", "rrelu", "rrelu_"]


def _dim(name: str, dim: int | None, ndim: int, stacklevel: int) -> int:
    """``dim``, or when it is None PyTorch's deprecated guess (0 for 0-, 1- and 3-d
    inputs, else 1), with its warning."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """Softmax along ``dim`` (see :func:`ember.softmax`); without ``dim``, warns and
    picks it as PyTorch does.

    >>> softmax(ember.tensor([1.0, 1.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    return _softmax(input, _dim("softmax", dim, input.ndim, _stacklevel), dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    """Log-softmax along ``dim`` (a missing ``dim`` is guessed as in :func:`softmax`)."""
    return _log_softmax(input, _dim("log_softmax", dim, input.ndim, _stacklevel), dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """``softmax(-input)`` along ``dim`` (a missing ``dim`` is guessed as in
    :func:`softmax`)."""
    dim = _dim("softmin", dim, input.ndim, _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _softmax(-input, dim)


# -- gated and randomized units ------------------------------------------------------------


def _check_floating(name: str, input: Tensor) -> None:
    if not input.is_floating_point():
        raise NotImplementedError(f"{name}: not implemented for dtype {input.dtype}")


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: split ``input`` in halves ``a``, ``b`` along ``dim`` (its size
    must be even) and return ``a * sigmoid(b)``.

    >>> glu(ember.tensor([1.0, 0.0]))
    tensor([0.5000])
    """
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = input.size(dim)
    dim = dim % input.ndim
    if n % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {dim} is size "
                           f"{n} (input of shape {list(input.shape)})")
    _check_floating("glu", input)
    half = n // 2
    return input.narrow(dim, 0, half) * sigmoid(input.narrow(dim, half, half))


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: while ``training`` each non-positive entry is multiplied by
    its own slope drawn from ``U(lower, upper)`` (Ember's default generator, so
    ``ember.manual_seed`` makes it reproducible); otherwise by the fixed slope
    ``(lower + upper) / 2``.

    >>> rrelu(ember.tensor([-1.0, 2.0]), 0.1, 0.3)
    tensor([-0.2000,  2.0000])
    """
    if lower > upper:
        raise RuntimeError(f"rrelu: Lower bound should be less than or equal to the upper "
                           f"bound, got lower={lower} and upper={upper}")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    _check_floating("rrelu", input)

    def fn(x: Tensor) -> Tensor:
        slope = rand_like(x) * (upper - lower) + lower
        return where(x > 0, x, x * slope.detach())

    return _inplace(input, fn, name="rrelu_") if inplace else fn(input)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    """In-place :func:`rrelu`: overwrites ``input`` and returns it."""
    return rrelu(input, lower, upper, training, inplace=True)
