"""Softmax and log-softmax as fused ops: a numerically stable forward (the maximum is
subtracted before exponentiating) and a closed-form backward written with Ember ops.
Along the last axis of a large float32 array, with numba, the forward is one pass
(:func:`ember.ops._fast_math_kernels.softmax32_rows_loop`)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ember.backend.dtypes import to_dtype
from ember.ops import _fast_math_kernels as _fk
from ember.ops._util import norm_dim
from ember.ops.registry import Op, register, tensor_method
from ember.tensor import Tensor

__all__ = ["softmax", "log_softmax"]


# NumPy reduces a short contiguous axis one slice at a time (about 40 ns each); along the
# first axis of a contiguous copy it runs vectorized across all slices instead. Below this
# length the copy pays for itself (measured at 1 thread: 2.5x faster for (512, 10)).
_SHORT_AXIS = 64


def _normalize(xp: Any, x: Any, axis: Any, finish: Any) -> Any:
    """``finish(xp, s, axis)`` on ``s = x - max(x)`` along ``axis``, a fresh buffer it may
    overwrite; returns the C-contiguous result."""
    if x.size == 0:
        return x.copy()
    if axis is None or axis == 0 or x.shape[axis] > _SHORT_AXIS:
        s = xp.asarray(x - x.max(axis=axis, keepdims=True))
        finish(xp, s, axis)
        return s
    s = (x.T if x.ndim == 2 else xp.moveaxis(x, axis, 0)).copy()    # axis first
    s -= s.max(axis=0)
    finish(xp, s, 0)
    return xp.ascontiguousarray(s.T if x.ndim == 2 else xp.moveaxis(s, 0, axis))


def _finish_softmax(xp: Any, s: Any, axis: Any) -> None:
    xp.exp(s, out=s)
    s /= s.sum(axis=axis, keepdims=True)


def _finish_log_softmax(xp: Any, s: Any, axis: Any) -> None:
    s -= xp.log(xp.exp(s).sum(axis=axis, keepdims=True))


def _last_axis_fast(x: Any, axis: Any, log: bool) -> Any:
    """(Log-)softmax along the last axis of a C-contiguous float32 NumPy array of at least
    :data:`~ember.ops._fast_math_kernels.MIN_SIZE` elements, with numba; None otherwise."""
    if (x.__class__ is not np.ndarray or x.dtype != np.float32 or x.size < _fk.MIN_SIZE
            or axis != x.ndim - 1 or not x.flags.c_contiguous):
        return None
    rows = _fk.kernel(_fk.softmax32_rows_loop)
    if rows is None:
        return None
    out = np.empty_like(x)
    rows(x.reshape(-1), x.shape[-1], log, out.reshape(-1))
    return out


def softmax_array(xp: Any, x: Any, axis: Any) -> Any:
    """Softmax of the array ``x`` along ``axis`` (None: a 0-d array), as a new array."""
    fast = _last_axis_fast(x, axis, False)
    return _normalize(xp, x, axis, _finish_softmax) if fast is None else fast


def log_softmax_array(xp: Any, x: Any, axis: Any) -> Any:
    """Log-softmax of the array ``x`` along ``axis``, as a new array."""
    fast = _last_axis_fast(x, axis, True)
    return _normalize(xp, x, axis, _finish_log_softmax) if fast is None else fast


def require_float(name: str, x: Tensor) -> None:
    if not x.is_floating_point():
        raise RuntimeError(f"{name}: expected a floating point input, got {x.dtype.name} "
                           f"(pass dtype= to convert it first)")


class _Normalize(Op):
    saves = ()
    saves_output = True
    fn: Any = None          # staticmethod(softmax_array or log_softmax_array)

    def check(self, x: Tensor, *, dim: int) -> None:
        require_float(self.name, x)

    def forward(self, xp: Any, x: Any, *, dim: int) -> Any:
        return self.fn(xp, x, dim if x.ndim else None)


class Softmax(_Normalize):
    fn = staticmethod(softmax_array)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        y = ctx.out
        return y * (g - (g * y).sum(ctx.attrs["dim"], keepdim=True))


class LogSoftmax(_Normalize):
    fn = staticmethod(log_softmax_array)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return g - ctx.out.exp() * g.sum(ctx.attrs["dim"], keepdim=True)


_softmax = register(Softmax())
_log_softmax = register(LogSoftmax())


def _apply(op: Op, input: Tensor, dim: int, dtype: Any) -> Tensor:
    if dtype is not None:
        input = input.to(to_dtype(dtype))
    return op(input, dim=norm_dim(dim, input.ndim, op.name))


@tensor_method()
def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """``exp(x) / exp(x).sum(dim)``, computed stably; ``dtype`` casts the input first.

    >>> softmax(tensor([1.0, 1.0]), 0)
    tensor([0.5000, 0.5000])
    """
    return _apply(_softmax, input, dim, dtype)


@tensor_method()
def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """``x - logsumexp(x, dim)``: the log of :func:`softmax`, without its underflow."""
    return _apply(_log_softmax, input, dim, dtype)
