"""Embedding lookup as a fused op with PyTorch's gradient options (the public
``embedding`` with ``nn.functional``'s signature is in ``ember.nn.functional``)."""
from __future__ import annotations

from typing import Any

from ember.ops.creation import ones, zeros
from ember.ops.registry import Op, register
from ember.tensor import Tensor

__all__: list = []


class Embedding(Op):
    """Rows of ``weight`` at integer ``indices``. The weight gradient adds up over
    repeated indices, skips ``padding_idx`` and, with ``scale_grad_by_freq``, divides each
    row's gradient by how often its index occurs in ``indices``."""

    saves = None    # backward reads every input (some only for shapes)

    def forward(self, xp: Any, indices: Any, weight: Any, *, padding_idx: Any,
                scale_grad_by_freq: bool) -> Any:
        n = weight.shape[0]
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            bad = indices[(indices < 0) | (indices >= n)].flat[0]
            raise IndexError(f"index {bad} is out of range for a weight with {n} rows")
        return xp.take(weight, indices, axis=0)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        idx, w = ctx.inputs
        scale = None
        if ctx.attrs["scale_grad_by_freq"]:
            counts = zeros(w.shape[0], dtype=g.dtype).index_put(
                (idx,), ones(tuple(idx.shape), dtype=g.dtype), accumulate=True)
            scale = 1 / counts[idx]
        pad = ctx.attrs["padding_idx"]
        if pad is not None:
            keep = (idx != pad).to(g.dtype)
            scale = keep if scale is None else scale * keep
        if scale is not None:
            g = g * scale.unsqueeze(-1)
        return None, zeros(tuple(w.shape), dtype=g.dtype).index_put((idx,), g, accumulate=True)


embedding = register(Embedding())
