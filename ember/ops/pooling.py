"""Pooling: max / average pooling (1-D, 2-D), adaptive pooling and max-unpooling.

Windows are walked one kernel offset at a time: each offset is one strided slab of the
(padded) input, so a 2x2/stride-2 max pool is four strided slices and three maximums.
Max pooling keeps no index array in the forward; the backward finds each window's first
maximum (PyTorch's tie rule) by comparing the slabs with the output, then routes the
gradient with ``window_scatter``, whose adjoint ``window_gather`` is its backward, so
gradients of any order work. With numba, the common 2x2 / stride-2 pool runs the max,
the argmax and the scatter as one-pass kernels (``_pool_kernels``) under the same rules.
Adaptive max pooling and unpooling use the same pairing with flat per-plane indices
(``plane_gather`` / ``plane_scatter``); indices returned to the user are flat per (N, C)
plane, ``h * W + w``, as in PyTorch.
"""
from __future__ import annotations

import math
from typing import Any

from ember.ops import _pool_kernels
from ember.ops.checks import check_values
from ember.ops.conv import _pad, _padded_size, _unlift, attrs_but, ntuple, offsets
from ember.ops.resize import adaptive_avg_poolnd, adaptive_windows
from ember.ops.registry import Op, register
from ember.tensor import Tensor

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "adaptive_avg_pool1d"]


# -- gather / scatter of flat per-plane indices -----------------------------------------

class PlaneGather(Op):
    """``out[n, c, ...] = x[n, c].flat[idx[n, c, ...]]``."""

    saves = None    # backward reads every input (some only for shapes)

    def forward(self, xp: Any, x: Any, idx: Any) -> Any:
        n, c = x.shape[:2]
        flat = x.reshape(n, c, x.shape[2] * x.shape[3])
        ids = idx.reshape(n, c, idx.shape[2] * idx.shape[3])
        return xp.take_along_axis(flat, ids, axis=2).reshape(idx.shape)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, idx = ctx.inputs
        return _scatter(g, idx, size=tuple(ctx.edges[0][3][2:]), unique=False), None


class PlaneScatter(Op):
    """The adjoint of ``plane_gather``: values summed into zeros of spatial ``size`` at
    ``idx`` (written directly when ``unique`` promises no index repeats in a plane)."""

    saves = None    # backward reads every input (some only for shapes)

    def forward(self, xp: Any, g: Any, idx: Any, *, size: tuple, unique: bool) -> Any:
        n, c = g.shape[:2]
        m = math.prod(size)
        ids = idx.reshape(n, c, idx.shape[2] * idx.shape[3])
        vals = g.reshape(ids.shape)
        if unique:
            out = xp.zeros((n, c, m), dtype=g.dtype)
            xp.put_along_axis(out, ids, vals, axis=2)
        else:
            base = (xp.arange(n * c, dtype=ids.dtype) * m).reshape(n, c, 1)
            out = xp.bincount((ids + base).ravel(), weights=vals.ravel(),
                              minlength=n * c * m).astype(g.dtype)
        return out.reshape((n, c) + tuple(size))

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        return _gather(g, ctx.inputs[1]), None


_gather = register(PlaneGather())
_scatter = register(PlaneScatter())


# -- max pooling ------------------------------------------------------------------------

def _slabs(xp: Any, x: Any, k: tuple, s: tuple, p: tuple, d: tuple, out: tuple,
           value: Any) -> Any:
    """Yield ``(i, j, slab)`` for every kernel offset of a pooling window."""
    need = tuple((o - 1) * ss + (kk - 1) * dd + 1 for o, ss, kk, dd in zip(out, s, k, d))
    xpad = _pad(xp, x, (p[0], p[0], p[1], p[1]), need, value)
    for i, j, win in offsets(k, s, d, out, 2):
        yield i, j, xpad[win]


def _which_dtype(xp: Any, k: tuple) -> Any:
    """The dtype of kernel offset numbers."""
    return xp.int16 if k[0] * k[1] < 2 ** 15 else xp.int32


def _lowest(xp: Any, dtype: Any) -> Any:
    return -xp.inf if dtype.kind == "f" else xp.iinfo(dtype).min


class MaxPool2d(Op):
    """Max over each window (padding never wins); ``out`` is (Ho, Wo)."""

    saves_output = True

    def forward(self, xp: Any, x: Any, *, k: tuple, s: tuple, p: tuple, d: tuple,
                out: tuple) -> Any:
        if _pool_kernels.applies(xp, x.dtype, x.shape[2:], k, s, p, d, out):
            fast = _pool_kernels.max_pool(x, out, _which_dtype(xp, k))
            if fast is not None:
                return fast[0]
        res = None
        for _, _, slab in _slabs(xp, x, k, s, p, d, out, _lowest(xp, x.dtype)):
            if res is None:
                res = slab.copy()
            else:
                xp.maximum(res, slab, out=res)
        return res

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        a = ctx.attrs
        which = _argmax(ctx.inputs[0], ctx.out, flat=False, **a)
        return _win_scatter(g, which, size=tuple(ctx.edges[0][3][2:]), **a)


def _valid(xp: Any, i: int, j: int, k: tuple, s: tuple, p: tuple, d: tuple, out: tuple,
           size: tuple) -> Any:
    """(Ho, Wo) mask of the windows whose offset (i, j) lies inside the input, or None
    when all do (no padding, no ceil-mode overhang)."""
    if not any(p) and all((o - 1) * ss + (kk - 1) * dd < n
                          for o, ss, kk, dd, n in zip(out, s, k, d, size)):
        return None
    ih = xp.arange(out[0]) * s[0] - p[0] + i * d[0]
    iw = xp.arange(out[1]) * s[1] - p[1] + j * d[1]
    return ((ih >= 0) & (ih < size[0]))[:, None] & ((iw >= 0) & (iw < size[1]))[None, :]


class MaxPool2dArgmax(Op):
    """Where each window's maximum ``m`` sits: its kernel offset number ``i * kw + j``,
    or with ``flat`` its flat plane index ``h * W + w``. The first maximum in row-major
    window order wins, or the last NaN (PyTorch's rule)."""

    differentiable = False

    def forward(self, xp: Any, x: Any, m: Any, *, k: tuple, s: tuple, p: tuple, d: tuple,
                out: tuple, flat: bool) -> Any:
        size = x.shape[2:]
        fast = None
        if _pool_kernels.applies(xp, x.dtype, size, k, s, p, d, out):
            fast = _pool_kernels.max_pool(x, out, _which_dtype(xp, k))
        which = fast[1] if fast is not None else self._which(xp, x, m, k, s, p, d, out)
        if not flat:
            return which
        ih = (xp.arange(out[0]) * s[0] - p[0])[:, None] + (which // k[1]) * d[0]
        iw = (xp.arange(out[1]) * s[1] - p[1]) + (which % k[1]) * d[1]
        return ih.astype(xp.int64) * size[1] + iw

    @staticmethod
    def _which(xp: Any, x: Any, m: Any, k: tuple, s: tuple, p: tuple, d: tuple,
               out: tuple) -> Any:
        """The offset numbers, one kernel offset at a time."""
        size = x.shape[2:]
        which = xp.zeros(m.shape, dtype=_which_dtype(xp, k))
        todo = xp.ones(m.shape, dtype=bool)
        step = xp.empty_like(which)
        nan = xp.isnan(m) if m.dtype.kind == "f" else None
        if nan is not None and not nan.any():
            nan = None
        for i, j, slab in _slabs(xp, x, k, s, p, d, out, _lowest(xp, x.dtype)):
            hit = slab == m
            valid = _valid(xp, i, j, k, s, p, d, out, size)
            if valid is not None:
                hit &= valid
            hit &= todo
            which += xp.multiply(hit, i * k[1] + j, out=step)   # (a masked copy is slower)
            todo ^= hit
            if nan is not None:
                hit = xp.isnan(slab) & nan
                if valid is not None:
                    hit &= valid
                xp.copyto(which, i * k[1] + j, where=hit)
        return which


class WindowScatter(Op):
    """Each window's gradient written to its maximum (offset numbers from
    ``max_pool2d_argmax``), summed where windows overlap: (N, C, Ho, Wo) -> (N, C, *size)."""

    saves = None    # backward reads every input (some only for shapes)

    def forward(self, xp: Any, g: Any, which: Any, *, size: tuple, k: tuple, s: tuple,
                p: tuple, d: tuple, out: tuple) -> Any:
        if _pool_kernels.applies(xp, g.dtype, size, k, s, p, d, out):
            fast = _pool_kernels.scatter(g, which, size)
            if fast is not None:
                return fast
        need = tuple(max(n + 2 * pp, (o - 1) * ss + (kk - 1) * dd + 1)
                     for n, pp, o, ss, kk, dd in zip(size, p, out, s, k, d))
        buf = xp.zeros(g.shape[:2] + need, dtype=g.dtype)
        overlap = any(ss < (kk - 1) * dd + 1 for ss, kk, dd in zip(s, k, d))
        tmp = xp.empty_like(g) if overlap else None
        # disjoint windows: each slab position is written once, and multiplying by the
        # mask is ~6x faster than a masked copy, but only a finite g times 0 gives 0
        multiply = not overlap and bool(xp.isfinite(g).all())
        for i, j, win in offsets(k, s, d, out, 2):
            slab = buf[win]
            mask = which == i * k[1] + j
            if overlap:
                xp.add(slab, xp.multiply(g, mask, out=tmp), out=slab)
            elif multiply:
                xp.multiply(g, mask, out=slab)
            else:
                xp.copyto(slab, g, where=mask)
        return xp.ascontiguousarray(buf[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]])

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        return _win_gather(g, ctx.inputs[1], **attrs_but(ctx, "size")), None


class WindowGather(Op):
    """The adjoint of ``window_scatter``: each window's value at its recorded offset."""

    saves = None    # backward reads every input (some only for shapes)

    def forward(self, xp: Any, x: Any, which: Any, *, k: tuple, s: tuple, p: tuple,
                d: tuple, out: tuple) -> Any:
        res = xp.zeros(which.shape, dtype=x.dtype)
        for i, j, slab in _slabs(xp, x, k, s, p, d, out, 0):
            xp.copyto(res, slab, where=which == i * k[1] + j)
        return res

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        return _win_scatter(g, ctx.inputs[1], size=tuple(ctx.edges[0][3][2:]),
                            **ctx.attrs), None


_max_pool = register(MaxPool2d())
_argmax = register(MaxPool2dArgmax())
_win_scatter = register(WindowScatter())
_win_gather = register(WindowGather())


def pool_out_len(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output length (a ceil-mode window must start inside the input
    or its left padding)."""
    span = n + 2 * p - d * (k - 1) - 1
    o = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def _pool_args(op: str, x: Any, nd: int, kernel_size: Any, stride: Any, padding: Any,
               dilation: Any, ceil_mode: bool) -> tuple:
    """Checked 2-D (k, s, p, d, out) and the input as a batched 2-D tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a tensor")
    if x.ndim not in (nd + 1, nd + 2) or any(v == 0 for v in x.shape[-nd - 1:]):
        raise RuntimeError(f"{op}: Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with "
                           f"optional 0 dim batch size for input, but got: {list(x.shape)}")
    lead = (1,) * (2 - nd)
    k = lead + ntuple(kernel_size, nd, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else \
        lead + ntuple(stride, nd, "stride", op)
    p = (0,) * (2 - nd) + ntuple(padding, nd, "padding", op)
    d = lead + ntuple(dilation, nd, "dilation", op)
    if any(v <= 0 for v in k):
        raise RuntimeError(f"{op}: kernel_size should be greater than zero, but got "
                           f"{list(k[2 - nd:])}")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"{op}: stride should not be zero, but got {list(s[2 - nd:])}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got "
                           f"{list(d[2 - nd:])}")
    for pp, kk in zip(p, k):
        if pp < 0 or pp > kk // 2:
            raise RuntimeError(f"{op}: pad should be at most half of kernel size and "
                               f"non-negative, but got pad={pp} and kernel_size={kk}")
    x2 = x.unsqueeze(0) if x.ndim == nd + 1 else x
    if nd == 1:
        x2 = x2.unsqueeze(-2)
    out = tuple(pool_out_len(n, kk, ss, pp, dd, ceil_mode)
                for n, kk, ss, pp, dd in zip(x2.shape[2:], k, s, p, d))
    if any(o < 1 for o in out):
        raise RuntimeError(f"{op}: Given input size: {tuple(x.shape[-nd - 1:])}. Calculated "
                           f"output size: {(x2.shape[1],) + out[2 - nd:]}. Output size is too "
                           f"small")
    return x2, dict(k=k, s=s, p=p, d=d, out=out)


def _max_poolnd(nd: int, op: str, input: Tensor, kernel_size: Any, stride: Any,
                padding: Any, dilation: Any, ceil_mode: bool, return_indices: bool) -> Any:
    x, geom = _pool_args(op, input, nd, kernel_size, stride, padding, dilation, ceil_mode)
    if x._data.dtype.kind == "b":
        raise RuntimeError(f"{op}: not implemented for 'Bool'")
    y = _max_pool(x, **geom)
    if not return_indices:
        return _unlift(y, input, nd)
    return _unlift(y, input, nd), _unlift(_argmax(x, y.detach(), flat=True, **geom), input, nd)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """2-D max pooling over an NCHW (or CHW) input; ``stride`` defaults to the kernel.
    With ``return_indices`` also returns the flat per-plane index of each maximum.

    >>> max_pool2d(ember.randn(1, 1, 4, 4), 2).shape
    ember.Size([1, 1, 2, 2])
    """
    return _max_poolnd(2, "max_pool2d", input, kernel_size, stride, padding, dilation,
                       ceil_mode, return_indices)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """1-D max pooling over an (N, C, L) (or (C, L)) input."""
    return _max_poolnd(1, "max_pool1d", input, kernel_size, stride, padding, dilation,
                       ceil_mode, return_indices)


# -- average pooling --------------------------------------------------------------------

def _divisor(xp: Any, size: tuple, k: tuple, s: tuple, p: tuple, out: tuple,
             include_pad: bool, override: Any, dtype: Any) -> Any:
    """The (Ho, Wo) divisors of PyTorch's avg_pool: a window counts the padding it covers
    (when ``include_pad``) but never the ceil-mode overhang past it."""
    if override:
        return override
    counts = []
    for n, kk, ss, pp, o in zip(size, k, s, p, out):
        start = xp.arange(o) * ss - pp
        end = xp.minimum(start + kk, n + pp)
        if not include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, n)
        counts.append(end - start)
    return (counts[0][:, None] * counts[1][None, :]).astype(dtype)


class AvgPool2d(Op):
    """Window sums divided by PyTorch's divisor; its adjoint is ``avg_pool2d_adjoint``."""

    saves = ()

    def forward(self, xp: Any, x: Any, *, k: tuple, s: tuple, p: tuple, out: tuple,
                include_pad: bool, override: Any) -> Any:
        acc = None
        for _, _, slab in _slabs(xp, x, k, s, p, (1, 1), out, 0):
            if acc is None:
                acc = slab.copy()
            else:
                acc += slab
        acc /= _divisor(xp, x.shape[2:], k, s, p, out, include_pad, override, x.dtype)
        return acc

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return _avg_adj(g, size=tuple(ctx.edges[0][3][2:]), **ctx.attrs)


class AvgPool2dAdjoint(Op):
    """Each output's share spread back over its window: (N, C, Ho, Wo) -> (N, C, *size)."""

    saves = ()

    def forward(self, xp: Any, g: Any, *, size: tuple, k: tuple, s: tuple, p: tuple,
                out: tuple, include_pad: bool, override: Any) -> Any:
        g = g / _divisor(xp, size, k, s, p, out, include_pad, override, g.dtype)
        need = tuple((o - 1) * ss + kk for o, ss, kk in zip(out, s, k))
        hp, wp = _padded_size(size, (p[0], p[0], p[1], p[1]))
        buf = xp.zeros(g.shape[:2] + (max(hp, need[0]), max(wp, need[1])), dtype=g.dtype)
        for _, _, win in offsets(k, s, (1, 1), out, 2):
            slab = buf[win]
            xp.add(slab, g, out=slab)
        return xp.ascontiguousarray(buf[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]])

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return _avg_pool(g, **attrs_but(ctx, "size"))


_avg_pool = register(AvgPool2d())
_avg_adj = register(AvgPool2dAdjoint())


def _avg_poolnd(nd: int, op: str, input: Tensor, kernel_size: Any, stride: Any,
                padding: Any, ceil_mode: bool, count_include_pad: bool,
                divisor_override: Any) -> Tensor:
    x, geom = _pool_args(op, input, nd, kernel_size, stride, padding, 1, ceil_mode)
    if not input.is_floating_point():
        raise RuntimeError(f"{op}: only floating point inputs are supported, got "
                           f"{input.dtype}")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor must be not zero")
    del geom["d"]
    y = _avg_pool(x, include_pad=bool(count_include_pad), override=divisor_override, **geom)
    return _unlift(y, input, nd)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """2-D average pooling; padded zeros count in the divisor unless
    ``count_include_pad=False``; ``divisor_override`` replaces the divisor.

    >>> avg_pool2d(ember.ones(1, 1, 4, 4), 2).sum().item()
    4.0
    """
    return _avg_poolnd(2, "avg_pool2d", input, kernel_size, stride, padding, ceil_mode,
                       count_include_pad, divisor_override)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """1-D average pooling over an (N, C, L) (or (C, L)) input."""
    return _avg_poolnd(1, "avg_pool1d", input, kernel_size, stride, padding, ceil_mode,
                       count_include_pad, None)


# -- adaptive pooling -------------------------------------------------------------------

def _adaptive_size(op: str, x: Any, nd: int, output_size: Any) -> tuple:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a tensor")
    if x.ndim not in (nd + 1, nd + 2) or any(v == 0 for v in x.shape[-nd - 1:]):
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor with non-zero "
                           f"sizes for non-batch dimensions, but got {list(x.shape)}")
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != nd:
            raise RuntimeError(f"{op}: output_size must be {nd}, got {list(output_size)}")
    else:
        output_size = (output_size,) * nd
    out = tuple(int(n) if o is None else int(o) for o, n in zip(output_size, x.shape[-nd:]))
    if any(o < 0 for o in out):
        raise RuntimeError(f"{op}: output_size must be non-negative, got {list(out)}")
    return out


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average over ``output_size`` adaptive windows (a None entry keeps that size).

    >>> adaptive_avg_pool2d(ember.randn(2, 3, 7, 7), 1).shape
    ember.Size([2, 3, 1, 1])
    """
    out = _adaptive_size("adaptive_avg_pool2d", input, 2, output_size)
    if not input.is_floating_point():
        raise RuntimeError(f"adaptive_avg_pool2d: not implemented for {input.dtype}")
    return adaptive_avg_poolnd(input, out)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average over ``output_size`` adaptive windows of an (N, C, L) input."""
    out = _adaptive_size("adaptive_avg_pool1d", input, 1, output_size)
    if not input.is_floating_point():
        raise RuntimeError(f"adaptive_avg_pool1d: not implemented for {input.dtype}")
    return adaptive_avg_poolnd(input, out)


class AdaptiveMaxIndices(Op):
    """Flat plane index of each adaptive window's maximum (first max, or last NaN)."""

    differentiable = False

    def forward(self, xp: Any, x: Any, *, out: tuple) -> Any:
        h, w = x.shape[2:]
        (hs, he), (ws, we) = adaptive_windows(h, out[0]), adaptive_windows(w, out[1])
        kh = max((e - b for b, e in zip(hs, he)), default=0)
        kw = max((e - b for b, e in zip(ws, we)), default=0)
        best = arg = None
        for i in range(kh):
            rows = xp.asarray([min(b + i, e - 1) for b, e in zip(hs, he)], dtype=xp.int64)
            for j in range(kw):
                cols = xp.asarray([min(b + j, e - 1) for b, e in zip(ws, we)], dtype=xp.int64)
                slab = x[:, :, rows[:, None], cols[None, :]]
                flat = rows[:, None] * w + cols[None, :]
                if best is None:
                    best, arg = slab.copy(), xp.broadcast_to(flat, slab.shape).copy()
                    continue
                take = slab > best
                if slab.dtype.kind == "f":
                    take |= xp.isnan(slab)
                xp.copyto(best, slab, where=take)
                xp.copyto(arg, flat, where=take)
        if arg is None:
            arg = xp.zeros(x.shape[:2] + tuple(out), dtype=xp.int64)
        return arg


_adaptive_max_indices = register(AdaptiveMaxIndices())


def _adaptive_max_poolnd(nd: int, op: str, input: Tensor, output_size: Any,
                         return_indices: bool) -> Any:
    out = _adaptive_size(op, input, nd, output_size)
    x = input.unsqueeze(0) if input.ndim == nd + 1 else input
    if nd == 1:
        x, out = x.unsqueeze(-2), (1,) + out
    idx = _adaptive_max_indices(x, out=out)
    y = _gather(x, idx)
    y, idx = _unlift(y, input, nd), _unlift(idx, input, nd)
    return (y, idx) if return_indices else y


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max over ``output_size`` adaptive windows (a None entry keeps that size)."""
    return _adaptive_max_poolnd(2, "adaptive_max_pool2d", input, output_size, return_indices)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max over ``output_size`` adaptive windows of an (N, C, L) input."""
    return _adaptive_max_poolnd(1, "adaptive_max_pool1d", input, output_size, return_indices)


# -- unpooling --------------------------------------------------------------------------

def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """Place each value at its max-pool index in a zero tensor (the inverse of
    ``max_pool2d(..., return_indices=True)``)."""
    op = "max_unpool2d"
    k = ntuple(kernel_size, 2, "kernel_size", op)
    s = k if stride is None else ntuple(stride, 2, "stride", op)
    p = ntuple(padding, 2, "padding", op)
    if input.ndim not in (3, 4) or tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{op}: expected a 3D or 4D input and indices of the same shape, "
                           f"got input {list(input.shape)} and indices "
                           f"{list(indices.shape)}")
    if indices._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected indices to be an integer tensor, got "
                           f"{indices.dtype}")
    default = tuple((n - 1) * ss - 2 * pp + kk for n, ss, pp, kk in
                    zip(input.shape[-2:], s, p, k))
    size = default if output_size is None else tuple(int(v) for v in output_size)[-2:]
    if len(size) != 2 or any(abs(a - b) >= ss for a, b, ss in zip(size, default, s)):
        raise ValueError(f"{op}: invalid output_size {output_size!r}: expected sizes within "
                         f"one stride of {list(default)}")
    batched = input.ndim == 4
    x = input if batched else input.unsqueeze(0)
    idx = indices if batched else indices.unsqueeze(0)
    check_values(_check_unpool_indices, (idx,), op, size)
    y = _scatter(x, idx, size=size, unique=True)
    return y if batched else y.squeeze(0)


def _check_unpool_indices(idx: Any, op: str, size: tuple) -> None:
    """Raise if a max index falls outside the ``size`` output (a value check: a traced
    graph repeats it on each call's indices)."""
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= size[0] * size[1]):
        raise RuntimeError(f"{op}: Found an invalid max index (outside an output of size "
                           f"{list(size)})")
