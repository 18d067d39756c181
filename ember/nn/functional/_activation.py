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
from ember.ops.math import sigmoid, tanh
from ember.ops.softmax import log_softmax as _log_softmax, softmax as _softmax
from ember.tensor import Tensor

__all__ = ["celu", "celu_", "elu", "elu_", "gelu", "hardshrink", "hardsigmoid", "hardswish",
           "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "logsigmoid", "mish", "prelu",
           "relu", "relu6", "relu_", "selu", "selu_", "silu", "softplus", "softshrink",
           "softsign", "tanhshrink", "threshold", "threshold_", "sigmoid", "tanh",
           "softmax", "log_softmax", "softmin"]


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
