"""Dropout: zero random elements (or whole channels) while training.

One op draws a keep-mask from Ember's default generator (so ``ember.manual_seed`` makes
it reproducible), keeps the scaled mask as a hidden output, and multiplies; its backward
multiplies by the same mask. Alpha dropout (for SELU networks) also shifts the dropped
entries so mean and variance are kept.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

from ember import random as _random
from ember.ops.creation import from_numpy
from ember.ops.inplace import inplace
from ember.ops.registry import Op, register
from ember.tensor import Tensor

__all__ = ["dropout", "alpha_dropout", "feature_alpha_dropout"]

_SELU_ALPHA = 1.7580993408473766     # SELU's scale * alpha: the value dropped units take


class Dropout(Op):
    """``x * scale (+ shift)`` with a random keep-mask of shape ``mask_shape``."""

    saves = ()
    hidden = 1
    random = True         # draws from the default generator: graph passes keep every call

    def forward(self, xp: Any, x: Any, *, p: float, mask_shape: tuple, alpha: bool) -> Any:
        keep = _random.get(None).random(mask_shape, dtype="float32") >= p
        if not alpha:
            scale = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
            return x * scale, scale
        a = 1.0 / math.sqrt((_SELU_ALPHA ** 2 * p + 1.0) * (1.0 - p))
        k = keep.astype(x.dtype)
        scale = k * x.dtype.type(a)
        shift = (k - 1) * x.dtype.type(_SELU_ALPHA * a) + x.dtype.type(_SELU_ALPHA * a * p)
        return x * scale + shift, scale

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return g * from_numpy(ctx.saved[0])


_dropout = register(Dropout())


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _apply(input: Tensor, p: float, training: bool, inplace_: bool, mask_shape: tuple,
           alpha: bool, name: str) -> Tensor:
    _check_p(p)
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        def fn(x: Tensor) -> Tensor:
            return x * 0
    elif not input.is_floating_point():
        raise RuntimeError(f"{name}: result type Float can't be cast to the desired output "
                           f"type {input.dtype}")
    else:
        def fn(x: Tensor) -> Tensor:
            return _dropout(x, p=float(p), mask_shape=mask_shape, alpha=alpha)
    return inplace(input, fn, name=name + "_") if inplace_ else fn(input)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    (identity when not ``training``). ``p == 1`` gives zeros.

    >>> ember.manual_seed(0); y = dropout(ember.ones(4), 0.5)   # entries are 0 or 2
    """
    return _apply(input, p, training, inplace, tuple(input.shape), False, "dropout")


def _feature(input: Tensor, p: float, training: bool, inplace_: bool, batched: bool,
             alpha: bool, name: str) -> Tensor:
    """Channel-wise (alpha) dropout: the mask spans dims 0 and 1 of a batched input
    ``(N, C, *)`` and dim 0 of an unbatched one ``(C, *)``."""
    s = tuple(input.shape)
    lead = 2 if batched else 1
    if len(s) < lead:
        raise RuntimeError(f"{name}: Feature dropout requires at least 2 dimensions in the "
                           f"input, got shape {list(s)}")
    return _apply(input, p, training, inplace_, s[:lead] + (1,) * (len(s) - lead), alpha, name)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an ``(N, C, L)`` or ``(C, L)`` input with probability ``p``."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D "
                           f"input. Note that dropout1d exists to provide channel-wise dropout "
                           f"on inputs with 1 spatial dimension, a channel dimension, and an "
                           f"optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature(input, p, training, inplace, input.ndim == 3, False, "dropout1d")


def _warn_dims(name: str, ndim: int, ok: tuple) -> None:
    if ndim not in ok:
        warnings.warn(f"{name}: Received a {ndim}-D input to {name}, which is deprecated and "
                      f"will result in an error in a future release. To retain the behavior "
                      f"and silence this warning, please use dropout instead. Note that {name} "
                      f"exists to provide channel-wise dropout on inputs with {ok[0] - 1} "
                      f"spatial dimensions, a channel dimension, and an optional batch "
                      f"dimension (i.e. {ok[0]}D or {ok[1]}D inputs).", stacklevel=3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an ``(N, C, H, W)`` input with probability ``p``.

    As in PyTorch, dims 0 and 1 are always batch and channel: a 3-D input is read as
    ``(N, C, L)`` (with a warning).
    """
    _check_p(p)
    _warn_dims("dropout2d", input.ndim, (3, 4))
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change "
                      "in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise "
                      "dropout behavior, please switch to using dropout1d instead.",
                      stacklevel=2)
    return _feature(input, p, training, inplace, True, False, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input."""
    _check_p(p)
    _warn_dims("dropout3d", input.ndim, (4, 5))
    return _feature(input, p, training, inplace, input.ndim == 5, False, "dropout3d")


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped entries take SELU's negative saturation value and
    an affine correction keeps zero mean and unit variance. Off unless ``training``."""
    return _apply(input, p, training, inplace, tuple(input.shape), True, "alpha_dropout")


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels of an ``(N, C, *)`` input."""
    return _feature(input, p, training, inplace, True, True, "feature_alpha_dropout")
