"""Reductions: sum, mean and the other ops that collapse dimensions."""
from __future__ import annotations

from typing import Any

from ember.backend.dtypes import to_dtype
from ember.ops._util import norm_dims
from ember.ops.registry import Op, register, tensor_method
from ember.tensor import Tensor

__all__ = ["sum", "mean", "sum_to_size"]


def _restore(g: Tensor, in_shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back over the reduced dims."""
    if not keepdim and dims:
        shape = list(in_shape)
        for d in dims:
            shape[d] = 1
        g = g.reshape(tuple(shape))
    return g.expand(in_shape)


class Sum(Op):
    saves = ()

    def forward(self, xp: Any, x: Any, *, dims: tuple, keepdim: bool, dtype: Any) -> Any:
        if x.dtype.kind in "bui" and dtype is None:
            return xp.sum(x, axis=dims, keepdims=keepdim, dtype="int64")
        return xp.sum(x, axis=dims, keepdims=keepdim, dtype=None if dtype is None else dtype.np)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        a = ctx.attrs
        return _restore(g, ctx.edges[0][3], a["dims"], a["keepdim"])


class Mean(Op):
    saves = ()

    def check(self, x: Tensor, *, dims: tuple, keepdim: bool, dtype: Any) -> None:
        dt = dtype or x.dtype
        if not dt.is_floating_point:
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be "
                               f"either a floating point or complex dtype. Got: {x.dtype}")

    def forward(self, xp: Any, x: Any, *, dims: tuple, keepdim: bool, dtype: Any) -> Any:
        if dtype is not None:
            x = x.astype(dtype.np)
        n = 1
        for d in dims:
            n *= x.shape[d]
        if n == 0:
            return xp.full(xp.sum(x, axis=dims, keepdims=keepdim).shape, xp.nan, x.dtype)
        return xp.mean(x, axis=dims, keepdims=keepdim, dtype=x.dtype)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        a = ctx.attrs
        shape = ctx.edges[0][3]
        n = 1
        for d in a["dims"]:
            n *= shape[d]
        return _restore(g / max(n, 1), shape, a["dims"], a["keepdim"])


_sum = register(Sum())
_mean = register(Mean())


@tensor_method()
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Sum over ``dim`` (an int, a tuple, or None for all); bool/int inputs give int64."""
    return _sum(input, dims=norm_dims(dim, input.ndim, "sum"), keepdim=bool(keepdim),
                dtype=None if dtype is None else to_dtype(dtype))


@tensor_method()
def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Mean over ``dim``; an empty reduction gives NaN, as in PyTorch."""
    return _mean(input, dims=norm_dims(dim, input.ndim, "mean"), keepdim=bool(keepdim),
                 dtype=None if dtype is None else to_dtype(dtype))


@tensor_method()
def sum_to_size(input: Tensor, *size: Any) -> Tensor:
    """Sum ``input`` down to ``size``, which it must broadcast from (used by autograd to
    undo broadcasting)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = tuple(input.shape)
    lead = len(shape) - len(size)
    if lead < 0 or any(s != 1 and s != shape[lead + i] for i, s in enumerate(size)):
        raise RuntimeError(f"sum_to_size: size {list(size)} is not expandable to size "
                           f"{list(shape)}")
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                      if s == 1 and shape[lead + i] != 1)
    if not dims:
        return input
    out = _sum(input, dims=dims, keepdim=True, dtype=None)
    return out.reshape(size) if lead else out
