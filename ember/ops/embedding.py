"""Embedding lookup as a fused op with PyTorch's gradient options (the public
``embedding`` with ``nn.functional``'s signature is in ``ember.nn.functional``)."""
from __future__ import annotations

from typing import Any

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
        return None, _embedding_backward(idx, g, rows=w.shape[0], **ctx.attrs)


class EmbeddingBackward(Op):
    """The weight gradient of ``embedding``: ``g``'s rows added up per index (an op taking
    the indices as an input, so a traced graph reads each call's indices)."""

    saves = (0,)

    def forward(self, xp: Any, indices: Any, g: Any, *, rows: int, padding_idx: Any,
                scale_grad_by_freq: bool) -> Any:
        out = xp.zeros((rows, g.shape[-1]), dtype=g.dtype)
        return self._add_rows(xp, out, indices, g, padding_idx, scale_grad_by_freq)

    def forward_out(self, xp: Any, out: Any, indices: Any, g: Any, *, rows: int,
                    padding_idx: Any, scale_grad_by_freq: bool) -> Any:
        """The same into ``out`` (a compiled graph's reused buffer: a language model's
        dense ``(vocab, dim)`` gradient is then not allocated, and its pages not faulted
        in, on every step)."""
        out.fill(0)
        return self._add_rows(xp, out, indices, g, padding_idx, scale_grad_by_freq)

    @staticmethod
    def _add_rows(xp: Any, out: Any, indices: Any, g: Any, padding_idx: Any,
                  scale_grad_by_freq: bool) -> Any:
        flat = indices.reshape(-1)
        g = g.reshape(flat.size, g.shape[-1])
        if scale_grad_by_freq:
            counts = xp.bincount(flat, minlength=out.shape[0])
            g = g / counts[flat].astype(g.dtype)[:, None]
        xp.add.at(out, flat, g)
        if padding_idx is not None:
            out[padding_idx] = 0
        return out

    def backward(self, ctx: Any, gg: Tensor) -> tuple:
        a = ctx.attrs
        idx = ctx.inputs[0]
        if a["scale_grad_by_freq"] or a["padding_idx"] is not None:
            raise RuntimeError("embedding: double backward with padding_idx or "
                               "scale_grad_by_freq is not supported")
        return None, embedding(idx, gg, padding_idx=None, scale_grad_by_freq=False)


embedding = register(Embedding())
_embedding_backward = register(EmbeddingBackward())


class OneHot(Op):
    """int64 one-hot rows: ``out[..., k] = (t[...] == k)`` for ``k < num_classes``; class
    values outside ``[0, num_classes)`` raise (checked on each call's values)."""

    differentiable = False

    def forward(self, xp: Any, t: Any, *, num_classes: int) -> Any:
        if t.size:
            lo, hi = int(t.min()), int(t.max())
            if lo < 0:
                raise RuntimeError(f"one_hot: Class values must be non-negative (got {lo}).")
            if hi >= num_classes:
                raise RuntimeError(f"one_hot: Class values must be smaller than num_classes "
                                   f"(got {hi} for num_classes={num_classes}).")
        return (t[..., None] == xp.arange(num_classes)).astype(xp.int64)


one_hot = register(OneHot())
