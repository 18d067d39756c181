"""Winograd F(2x2, 3x3): 3x3 stride-1 convolutions with 2.25x fewer multiplications.

Each 2x2 block of outputs is computed from a 4x4 tile of the input ``d`` (tiles overlap
by 2) as ``A^T [(G w G^T) * (B^T d B)] A``, with the sum over input channels of the
elementwise product done as 16 GEMMs ``(O, C) @ (C, tiles*N)``: 16*O*C multiplies per
tile against 36*O*C for im2col. The transforms are additions and subtractions (G holds
halves, exact in binary), so float32 results differ from im2col's by a few ulps of the
sum (measured: ~1e-6 relative to the largest output at 576-term sums).

The same three functions serve the forward (``conv``), the input gradient (a 3x3
stride-1 convolution of the output gradient with the flipped, transposed weight: see
``conv_input_grad``) and the weight gradient (``conv_weight_grad``, the adjoint of the
forward in ``G w G^T``, from the transformed input the forward kept).

Layout: batch last as in ``conv.py``, and split by parity. The padded input is stored as
``P[c, rp, a, sp, b, n] = xpad[n, c, 2a + rp, 2b + sp]``, so tile element ``(r, s)`` of
every tile is the contiguous block ``P[:, r % 2, r // 2 : r // 2 + th, s % 2,
s // 2 : s // 2 + tw]``: each transform step reads rows of ``tw * N`` contiguous values
instead of ``N`` (about 3x faster in NumPy). The output is built batch-last,
``(O, Ho, Wo, N)``, and moved to NCHW by the same transposing copy as im2col's.
"""
from __future__ import annotations

import os
from typing import Any

from ember.backend.blas_threads import blas_threads
from ember.ops._batch_last import to_nchw, unaliased

#: smallest input and output channel count that takes this path: below it the
#: transforms cost more than the multiplications they save
MIN_CHANNELS = 16

#: largest share of wasted outputs in the 2x2 tiles that still takes this path: odd
#: sizes such as 11x11 compute 19 % more outputs than they keep, and measured slower than
#: im2col (32 -> 64 channels on 13x13, batch 64: 18.9 ms against 14.8 ms)
MAX_TILE_WASTE = 0.1

#: ``EMBER_WINOGRAD=0`` in the environment turns this path off (to compare against im2col)
ENABLED = os.environ.get("EMBER_WINOGRAD", "1") != "0"

_G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))


def single_blas_thread() -> bool:
    """True when NumPy's BLAS runs on one thread. With more, each of the 16 GEMMs of a
    Winograd convolution makes the BLAS threads meet, where im2col's one GEMM does once:
    measured on a 2-core machine whose second core was busy, Winograd took 2-6x
    im2col's time (docs/performance.md), so the path is kept to one BLAS thread."""
    return blas_threads() == 1


def applies(w_shape: tuple, stride: tuple, pad: tuple, dilation: tuple, groups: int,
            dtype: Any, out: tuple) -> bool:
    """Whether a convolution with weight shape ``(O, C, kh, kw)`` and output size ``out``
    takes this path: 3x3, stride 1, dilation 1, no groups, padding at most 2 per side (so
    that the input gradient is again such a convolution), float32/float64, enough
    channels, 2x2 tiles covering at most ``MAX_TILE_WASTE`` more outputs than ``out``
    holds, and NumPy's BLAS on one thread (:func:`single_blas_thread`)."""
    th, tw = _tiles(out)
    return (ENABLED and tuple(w_shape[2:]) == (3, 3) and stride == (1, 1) and dilation == (1, 1)
            and groups == 1 and max(pad) <= 2 and dtype.kind == "f" and dtype.itemsize >= 4
            and min(w_shape[:2]) >= MIN_CHANNELS
            and 4 * th * tw <= (1 + MAX_TILE_WASTE) * out[0] * out[1] and single_blas_thread())


def _tiles(out: tuple) -> tuple:
    return (out[0] + 1) // 2, (out[1] + 1) // 2


def _parity_split(xp: Any, x: Any, pad: tuple, th: int, tw: int) -> Any:
    """NCHW ``x`` zero-padded by ``pad`` (top, bottom, left, right; anything beyond the
    tiles is dropped, missing rows are zeros) as ``P`` (C, 2, th+1, 2, tw+1, N)."""
    n, c, h, w = x.shape
    p = xp.zeros((c, 2, th + 1, 2, tw + 1, n), dtype=x.dtype)
    xt = unaliased(xp, x).transpose(1, 2, 3, 0)
    for rp in range(2):
        h0 = (rp - pad[0]) % 2                 # first input row landing on parity rp
        a0 = (h0 + pad[0]) // 2
        nh = max(0, min((h - h0 + 1) // 2, th + 1 - a0))
        for sp in range(2):
            w0 = (sp - pad[2]) % 2
            b0 = (w0 + pad[2]) // 2
            nw = max(0, min((w - w0 + 1) // 2, tw + 1 - b0))
            if nh and nw:
                p[:, rp, a0:a0 + nh, sp, b0:b0 + nw] = \
                    xt[:, h0:h0 + 2 * nh - 1:2, w0:w0 + 2 * nw - 1:2]
    return p


def _input_transform(xp: Any, p: Any, th: int, tw: int, v: list) -> list:
    """``B^T d B`` for every tile into ``v``: four (4, C, th*tw*N) arrays, one per tile row
    ``r`` (kept apart so that no temporary reaches glibc's 32 MiB mmap threshold, whose
    blocks are handed back to the kernel and faulted in again on every call)."""
    c, n = p.shape[0], p.shape[-1]
    rows = [p[:, r % 2, r // 2:r // 2 + th] for r in range(4)]     # (C, th, 2, tw+1, N)
    rt = xp.empty((4,) + rows[0].shape, dtype=p.dtype)
    _bt(xp, rows, rt)
    for r in range(4):
        _bt(xp, [rt[r][:, :, s % 2, s // 2:s // 2 + tw] for s in range(4)],
            v[r].reshape(4, c, th, tw, n))
    return v


def _chunks(xp: Any, shape: tuple, dtype: Any) -> list:
    return [xp.empty(shape, dtype=dtype) for _ in range(4)]


def _bt(xp: Any, d: list, out: Any) -> None:
    """``B^T`` along one tile axis: (d0 - d2, d1 + d2, d2 - d1, d1 - d3) into ``out``."""
    xp.subtract(d[0], d[2], out=out[0])
    xp.add(d[1], d[2], out=out[1])
    xp.subtract(d[2], d[1], out=out[2])
    xp.subtract(d[1], d[3], out=out[3])


def _at(xp: Any, m: Any, out0: Any, out1: Any) -> None:
    """``A^T`` along the first axis of ``m`` (4, ...): (m0 + m1 + m2, m1 - m2 - m3)."""
    xp.add(m[0], m[1], out=out0)
    out0 += m[2]
    xp.subtract(m[1], m[2], out=out1)
    out1 -= m[3]


def _kron(xp: Any, dtype: Any) -> Any:
    """(9, 16): ``w.reshape(-1, 9) @ K`` is ``G w G^T`` flattened, for every (o, c)."""
    g = xp.asarray(_G, dtype=dtype)
    return xp.einsum("rk,sl->klrs", g, g).reshape(9, 16)


def _weight_transform(xp: Any, w: Any, flip: bool = False) -> Any:
    """``G w G^T`` per (o, c) as (16, O, C); with ``flip``, of ``w`` flipped in both
    spatial axes (its flattened 3x3 read backwards). One GEMM (16, 9) @ (9, O*C) with the
    weight as a transposed operand, so no copy of the weight is made."""
    o, c = w.shape[:2]
    k = _kron(xp, w.dtype)
    return (k[::-1] if flip else k).T @ w.reshape(o * c, 9).T


def _products_at(xp: Any, u: Any, vs: list, free: bool) -> Any:
    """``A^T`` along the tile rows of the products ``u @ v`` (one (4, O, tiles*N) GEMM per
    tile row ``r``), as (2, 4, O, tiles*N): ``_at`` fed one product at a time, so at most
    two are alive; with ``free`` each ``vs[r]`` is dropped once multiplied. Same additions
    in the same order as ``_at``."""
    t = prev = None
    for r in range(4):
        m = xp.matmul(u[4 * r:4 * r + 4], vs[r])
        if free:
            vs[r] = None
        if r == 0:
            t = xp.empty((2,) + m.shape, dtype=m.dtype)
        elif r == 1:
            xp.add(prev, m, out=t[0])
        elif r == 2:
            t[0] += m
            xp.subtract(prev, m, out=t[1])
        else:
            t[1] -= m
        prev = m
    return t


def _output_transform(xp: Any, t: Any, o: int, th: int, tw: int, n: int,
                      out: tuple) -> Any:
    """``A^T m A`` per tile given ``t`` = ``A^T m`` (2, 4, O, tiles*N) from
    ``_products_at``, cropped to ``out``, as contiguous NCHW."""
    t = t.reshape(2, 4, o, th, tw, n)
    y = xp.empty((o, th, 2, tw, 2, n), dtype=t.dtype)         # = (O, 2*th, 2*tw, N)
    for i in range(2):
        _at(xp, t[i], y[:, :, i, :, 0], y[:, :, i, :, 1])
    return to_nchw(xp, y.reshape(o, 2 * th, 2 * tw, n), (0, 0, 0, 0), out)


def transformed_nbytes(x_shape: tuple, out: tuple, dtype: Any) -> int:
    """Bytes of the transformed input ``conv`` keeps for an NCHW input of ``x_shape``."""
    th, tw = _tiles(out)
    return 16 * x_shape[1] * th * tw * x_shape[0] * dtype.itemsize


def conv(xp: Any, x: Any, w: Any, pad: tuple, out: tuple, keep: bool = True) -> tuple:
    """``conv2d(x, w)`` (NCHW, 3x3, stride 1, padding ``pad``) with output size ``out``,
    and, if ``keep``, the transformed input (16, C, tiles*N) for ``conv_weight_grad``
    (else None)."""
    u = _weight_transform(xp, w)
    return _conv(xp, x, u.reshape(16, w.shape[0], w.shape[1]), pad, out, keep)


def _conv(xp: Any, x: Any, u: Any, pad: tuple, out: tuple, keep: bool) -> tuple:
    """``conv`` given the transformed weight ``u`` (16, O, C); the transformed input is
    returned only if ``keep``."""
    th, tw = _tiles(out)
    c, n = x.shape[1], x.shape[0]
    v = xp.empty((16, c, th * tw * n), dtype=x.dtype) if keep else None
    vs = _input_transform(xp, _parity_split(xp, x, pad, th, tw), th, tw,
                          [v[4 * r:4 * r + 4] for r in range(4)] if keep else
                          _chunks(xp, (4, c, th * tw * n), x.dtype))
    t = _products_at(xp, u, vs, not keep)
    return _output_transform(xp, t, u.shape[1], th, tw, n, out), v


def conv_input_grad(xp: Any, g: Any, w: Any, pad: tuple, size: tuple) -> Any:
    """The gradient w.r.t. the input (spatial ``size``) of ``conv(x, w, pad)`` given the
    output gradient ``g``: the cross-correlation of ``g`` with the weight flipped in both
    spatial axes and its channel axes swapped, padded by ``2 - pad``."""
    u = _weight_transform(xp, w, flip=True).reshape(16, w.shape[0], w.shape[1])
    return _conv(xp, g, u.transpose(0, 2, 1), tuple(2 - p for p in pad), size, False)[0]


def conv_weight_grad(xp: Any, x: Any, v: Any, g: Any, pad: tuple) -> Any:
    """The gradient w.r.t. the weight (O, C, 3, 3) given the input ``x``, its transformed
    input ``v`` from ``conv`` (None to build it) and the output gradient ``g``
    (N, O, Ho, Wo): the adjoint of the output transform (``A g A^T`` per tile, zero
    beyond the output), 16 GEMMs, then ``G^T . G``."""
    n, o, ho, wo = g.shape
    c = x.shape[1]
    th, tw = _tiles((ho, wo))
    if v is None or v.shape != (16, c, th * tw * n):
        v = _input_transform(xp, _parity_split(xp, x, pad, th, tw), th, tw,
                             _chunks(xp, (4, c, th * tw * n), x.dtype))
    else:
        v = [v[4 * r:4 * r + 4] for r in range(4)]
    gt = xp.zeros((o, th, 2, tw, 2, n), dtype=g.dtype)
    gt.reshape(o, 2 * th, 2 * tw, n)[:, :ho, :wo] = g.transpose(1, 2, 3, 0)
    gt = gt.transpose(2, 4, 0, 1, 3, 5)                          # (i, j, o, a, b, n)
    rows = xp.empty((4, 2, o, th, tw, n), dtype=g.dtype)
    _a(xp, gt, rows)
    gu = xp.empty((4, 4, c, o), dtype=g.dtype)
    m = xp.empty((4, o, th, tw, n), dtype=g.dtype)
    for r in range(4):
        _a(xp, rows[r], m)
        # v @ m^T rather than m @ v^T: OpenBLAS is slow on a long transposed inner dimension
        xp.matmul(v[r], m.reshape(4, o, th * tw * n).transpose(0, 2, 1), out=gu[r])
    gw = _kron(xp, g.dtype) @ gu.reshape(16, c * o)                   # (9, C*O)
    return xp.ascontiguousarray(gw.reshape(9, c, o).transpose(2, 1, 0)).reshape(o, c, 3, 3)


def _a(xp: Any, e: Any, out: Any) -> None:
    """``A`` along the first axis of ``e`` (2, ...): (e0, e0 + e1, e0 - e1, -e1)."""
    out[0] = e[0]
    xp.add(e[0], e[1], out=out[1])
    xp.subtract(e[0], e[1], out=out[2])
    xp.negative(e[1], out=out[3])
