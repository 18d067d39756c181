"""Linear algebra: matmul (1-D, 2-D and batched with broadcasting) and friends."""
from __future__ import annotations

from typing import Any

from ember.ops.registry import Op, register, tensor_method
from ember.tensor import Tensor

__all__ = ["matmul"]


class Matmul(Op):
    promote = "same"

    def check(self, a: Tensor, b: Tensor) -> None:
        if not isinstance(a, Tensor) or not isinstance(b, Tensor):
            raise TypeError("matmul: both arguments must be tensors")
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(f"matmul: both arguments to matmul need to be at least 1D, but "
                               f"they are {a.ndim}D and {b.ndim}D")
        k1 = a.shape[-1]
        k2 = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if k1 != k2:
            raise RuntimeError(f"matmul: cannot multiply shapes {tuple(a.shape)} and "
                               f"{tuple(b.shape)}: {k1} != {k2}")
        if a._data.dtype.kind == "b":
            raise RuntimeError("matmul: not implemented for bool tensors")

    def forward(self, xp: Any, a: Any, b: Any) -> Any:
        return xp.matmul(a, b)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        a, b = ctx.inputs
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if ctx.edges[0] else None), (g * a if ctx.edges[1] else None)
        if a.ndim == 1:                      # (k) @ (..., k, n) -> (..., n)
            if ctx.edges[0]:
                ga = matmul(g.unsqueeze(-2), b.mT).squeeze(-2)
            if ctx.edges[1]:
                gb = a.unsqueeze(-1) * g.unsqueeze(-2)
            return ga, gb
        if b.ndim == 1:                      # (..., m, k) @ (k) -> (..., m)
            if ctx.edges[0]:
                ga = g.unsqueeze(-1) * b
            if ctx.edges[1]:
                gb = matmul(a.mT, g.unsqueeze(-1)).squeeze(-1)
            return ga, gb
        if ctx.edges[0]:
            ga = matmul(g, b.mT)
        if ctx.edges[1]:
            gb = matmul(a.mT, g)
        return ga, gb


matmul = register(Matmul())
tensor_method("matmul")(matmul)
Tensor.__matmul__ = lambda self, o: matmul(self, o)
Tensor.__rmatmul__ = lambda self, o: matmul(o, self)
