"""Softmax and log-softmax as fused ops: a numerically stable forward (the maximum is
subtracted before exponentiating) and a closed-form backward written with Ember ops."""
from __future__ import annotations

from typing import Any

from ember.backend.dtypes import to_dtype
from ember.ops._util import norm_dim
from ember.ops.registry import Op, register, tensor_method
from ember.tensor import Tensor

__all__ = ["softmax", "log_softmax"]


class _Normalize(Op):
    saves = ()
    saves_output = True

    def check(self, x: Tensor, *, dim: int) -> None:
        if not x.is_floating_point():
            raise RuntimeError(f"{self.name}: expected a floating point input, got "
                               f"{x.dtype.name} (pass dtype= to convert it first)")

    def forward(self, xp: Any, x: Any, *, dim: int) -> Any:
        if x.size == 0:
            return x.copy()
        axis = dim if x.ndim else None
        shifted = xp.asarray(x - x.max(axis=axis, keepdims=True))    # a fresh buffer
        return self._finish(xp, shifted, axis)

    def _finish(self, xp: Any, s: Any, axis: Any) -> Any:
        raise NotImplementedError


class Softmax(_Normalize):
    def _finish(self, xp: Any, s: Any, axis: Any) -> Any:
        xp.exp(s, out=s)
        s /= s.sum(axis=axis, keepdims=True)
        return s

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        y = ctx.out
        return y * (g - (g * y).sum(ctx.attrs["dim"], keepdim=True))


class LogSoftmax(_Normalize):
    def _finish(self, xp: Any, s: Any, axis: Any) -> Any:
        s -= xp.log(xp.exp(s).sum(axis=axis, keepdims=True))
        return s

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
