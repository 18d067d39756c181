"""Batching rules of the neural-network ops: matrix products, convolution and pooling,
normalization, losses, embedding and dropout.

Products and convolutions fold the vmap batch into dims the op already batches over:
matmul's broadcast batch dims, the rows of ``linear``, the image batch ``N`` of
convolution and pooling. Per-example *weights* (which per-example gradients produce)
fold into the channels instead: a grouped convolution with one group per example.
"""
from __future__ import annotations

import math
from typing import Any

from ember import random as _random
from ember.func._batching import (HIDDEN_BACKWARD, Call, Level, batched, decomposition,
                                  fallback, per_example, rule)
from ember.ops.linalg import _LETTERS
from ember.ops.registry import REGISTRY
from ember.tensor import Tensor

__all__: list = []

HIDDEN_BACKWARD.update({
    "convolution": "absent",            # its backward rebuilds the columns when given None
    "native_layer_norm": "recompute", "native_batch_norm": "recompute",
    "native_group_norm": "recompute", "fused_lstm_cell": "recompute",
    "fused_gru_cell": "recompute"})


# -- matrix products ----------------------------------------------------------------------

@rule("matmul")
def _matmul(c: Call) -> Any:
    (a, b), (na, nb), n = c.args, c.ndim, c.size
    if na == 1:
        a = a.unsqueeze(-2)
    if nb == 1:
        b = b.unsqueeze(-1)
    rank = max(na, nb, 2)
    if c.bat[0]:
        a = a.reshape((n,) + (1,) * (rank - max(na, 2)) + tuple(a.shape)[1:])
    if c.bat[1]:
        b = b.reshape((n,) + (1,) * (rank - max(nb, 2)) + tuple(b.shape)[1:])
    out = c.run(a, b)
    if na == 1:
        out = out.squeeze(-2)
    return out.squeeze(-1) if nb == 1 else out


@rule("gemm")
def _gemm(c: Call) -> Any:
    a, b = c.args
    if c.attrs.get("trans_a"):
        a = a.transpose(-1, -2)
    if c.attrs.get("trans_b"):
        b = b.transpose(-1, -2)
    return REGISTRY["matmul"](a, b)


@rule("linear")
def _linear(c: Call) -> Any:
    x, w, b = c.args
    n = c.size
    if not c.bat[1]:
        y = c.run(c.full(0), w, None if c.bat[2] else b)
    else:
        lead = tuple(c.logical[0].shape)[:-1]
        rows = c.full(0).reshape(n, math.prod(lead), c.logical[0].shape[-1])
        wt = w.unsqueeze(-1) if c.ndim[1] == 1 else w.transpose(-1, -2)
        y = REGISTRY["matmul"](rows, wt).reshape((n,) + lead + tuple(w.shape)[1:-1])
        if b is not None and not c.bat[2]:
            y = y + b
    if b is not None and c.bat[2]:
        y = y + c.lifted(2, y.dim() - 1)
    return y


@rule("einsum")
def _einsum(c: Call) -> Any:
    eq = c.attrs["equation"]
    lhs, out = eq.split("->")
    z = next(ch for ch in _LETTERS if ch not in eq)
    terms = [z + t if bat else t for t, bat in zip(lhs.split(","), c.bat)]
    return c.run(*c.args, equation=",".join(terms) + "->" + z + out)


# -- convolution and pooling ----------------------------------------------------------------

def _merged(t: Tensor) -> Tensor:
    """(B, N, ...) -> (B*N, ...)."""
    s = tuple(t.shape)
    return t.reshape((s[0] * s[1],) + s[2:])


def _unmerged(t: Tensor, n: int, m: int) -> Tensor:
    """(B*N, ...) -> (B, N, ...)."""
    return t.reshape((n, m) + tuple(t.shape)[1:])


def _into_channels(t: Tensor) -> Tensor:
    """(B, N, C, ...) -> (N, B*C, ...): the examples side by side as channel groups."""
    s = tuple(t.shape)
    return t.movedim(0, 1).reshape((s[1], s[0] * s[2]) + s[3:])


def _from_channels(t: Tensor, n: int) -> Tensor:
    """(N, B*C, ...) -> (B, N, C, ...)."""
    s = tuple(t.shape)
    return t.reshape((s[0], n, s[1] // n) + s[2:]).movedim(1, 0)


def _per_example_bias(c: Call, y: Tensor) -> Tensor:
    """``y`` (B, N, C, H, W) plus a batched bias (B, C)."""
    b = c.args[2]
    return y + b.reshape(tuple(b.shape) + (1, 1))[:, None]


@rule("convolution", "conv_transpose")
def _conv(c: Call) -> Any:
    x, w, b = c.args
    n = c.size
    if not c.bat[1]:
        bias = None if c.bat[2] else b
        if c.bat[0]:
            y = _unmerged(c.run(_merged(x), w, bias), n, x.shape[1])
        else:
            y = c.run(x, w, bias)
        return _per_example_bias(c, y) if c.bat[2] else y
    if n == 0:
        return per_example(c)
    bias = None if b is None else c.full(2).reshape(-1)
    y = c.run(_into_channels(c.full(0)), w.reshape((-1,) + tuple(w.shape)[2:]), bias,
              groups=c.attrs["groups"] * n)
    return _from_channels(y, n)


@rule("conv_weight")
def _conv_weight(c: Call) -> Any:
    n = c.size
    if n == 0:
        return per_example(c)
    gw = c.run(_into_channels(c.full(0)), _into_channels(c.full(1)), None,
               groups=c.attrs["groups"] * n)
    return gw.reshape((n, -1) + tuple(gw.shape)[1:])


@rule("im2col", "col2im", "max_pool2d", "max_pool2d_argmax", "window_scatter",
      "window_gather", "avg_pool2d", "avg_pool2d_adjoint", "adaptive_max_indices",
      "plane_gather", "plane_scatter")
def _image_batch(c: Call) -> Any:
    m = c.logical[0].shape[0]
    out = c.run(*(_merged(c.full(i)) for i in range(len(c.args))))
    return _unmerged(out, c.size, m)


# -- normalization ---------------------------------------------------------------------------

@rule("native_layer_norm", "native_batch_norm", "native_group_norm")
def _normalize(c: Call) -> Any:
    if c.bat[0] and any(r is not None and not bat for r, bat in zip(c.args[3:], c.bat[3:])):
        raise RuntimeError(
            f"vmap: {c.op.name} would update running statistics that are not batched with "
            f"the statistics of a batched input; use eval mode, track_running_stats=False, "
            f"or batch the running statistics too")
    nd = c.ndim[0]
    return c.run(c.full(0), c.lifted(1, nd), c.lifted(2, nd), c.args[3], c.args[4],
                 dims=tuple(d + 1 for d in c.attrs["dims"]))


# -- losses and embedding --------------------------------------------------------------------

def _positions(x: Tensor, t: Tensor, *more: Tensor) -> tuple:
    """Logits and targets (and ``more`` shaped like the targets) with the batch folded
    into the positions: (B*N, C, ...) and (B*N, ...), or (B, C) and (B,) for one sample."""
    if x.dim() < 3:
        return (x, t) + more
    return tuple(_merged(a) for a in (x, t) + more)


def _valid_count(c: Call, t: Tensor) -> Tensor:
    """Per example, the number of targets not ignored."""
    n = c.size
    valid = t != c.attrs["ignore_index"]
    return valid.reshape(n, math.prod(tuple(t.shape)[1:])).sum(1)


@rule("cross_entropy")
def _cross_entropy(c: Call) -> Any:
    x, t, n = c.full(0), c.full(1), c.size
    loss = c.run(*_positions(x, t), reduction="none").reshape(tuple(t.shape))
    red = c.attrs["reduction"]
    if red == "none":
        return loss
    total = loss.reshape(n, math.prod(tuple(t.shape)[1:])).sum(1)
    return total if red == "sum" else total / _valid_count(c, t).to(x.dtype)


@rule("cross_entropy_backward")
def _cross_entropy_backward(c: Call) -> Any:
    g, x, t, n = c.full(0), c.full(1), c.full(2), c.size
    red = c.attrs["reduction"]
    ts = tuple(t.shape)
    if red != "none":
        g = g.reshape((n,) + (1,) * (len(ts) - 1)).expand(ts)
        if red == "mean":
            count = _valid_count(c, t).clamp_min(1).to(x.dtype)
            g = g / count.reshape((n,) + (1,) * (len(ts) - 1))
    xs, ts_, gs = _positions(x, t, g)
    return c.run(gs, xs, ts_, reduction="none").reshape(tuple(x.shape))


@rule("embedding")
def _embedding(c: Call) -> Any:
    idx, w = c.args
    if not c.bat[1]:
        return c.run(idx, w)
    if c.attrs["padding_idx"] is not None:
        return fallback(c)
    from ember.ops.creation import arange
    n, rows = c.size, w.shape[1]
    offsets = arange(n, dtype=idx.dtype).reshape((n,) + (1,) * c.ndim[0]) * rows
    return c.run(c.full(0) + offsets, w.reshape((n * rows,) + tuple(w.shape)[2:]))


@rule("embedding_backward")
def _embedding_backward(c: Call) -> Any:
    if c.attrs["padding_idx"] is not None:       # the padding row differs per example
        return fallback(c)
    from ember.ops.creation import arange
    n, rows = c.size, c.attrs["rows"]
    idx = c.full(0)
    offsets = arange(n, dtype=idx.dtype).reshape((n,) + (1,) * c.ndim[0]) * rows
    out = c.run(idx + offsets, c.full(1), rows=n * rows)
    return out.reshape((n, rows) + tuple(out.shape)[1:])


# -- dropout ---------------------------------------------------------------------------------

@decomposition("dropout")
def _dropout(level: Level, x: Tensor, *, p: float, mask_shape: tuple, alpha: bool) -> Any:
    """``x * scale + shift`` with the op's own random ``scale`` (and ``shift``), drawn
    once for the batch (randomness='same') or once per example ('different')."""
    from ember.ops.creation import ones, zeros
    op = REGISTRY["dropout"]
    shape = ((level.size,) if level.randomness == "different" else ()) + tuple(mask_shape)
    dt = x.dtype

    def draw(base: Any) -> Tensor:
        return level.run_below(lambda b: op(b, p=p, mask_shape=shape, alpha=alpha),
                               base(shape, dtype=dt))
    if alpha:
        state = _random.get_rng_state()
        shift = draw(zeros)
        _random.set_rng_state(state)       # the same mask again
        scale = draw(ones) - shift
    else:
        scale, shift = draw(ones), None
    if level.randomness == "different":
        scale = batched(scale, level)
        shift = None if shift is None else batched(shift, level)
    return x * scale if shift is None else x * scale + shift
