"""Resampling: interpolate (nearest, nearest-exact, linear family, bicubic, area),
adaptive average pooling, pixel_shuffle / pixel_unshuffle.

Every mode is separable, so it is applied one spatial axis at a time as a weighted sum of
gathers along that axis: ``take_axis`` (a gather with fixed indices) and its adjoint
(a segment sum), each the other's backward. Indices and weights depend on shapes only
and follow PyTorch's coordinate conventions, computed in the input's precision as
PyTorch's CPU kernels do.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ember.ops.registry import Op, register
from ember.tensor import Tensor, _make

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


class AxisTake(Op):
    """``x`` gathered along ``axis`` at the fixed indices ``idx`` (a tuple)."""

    saves = ()

    def forward(self, xp: Any, x: Any, *, idx: tuple, axis: int) -> Any:
        return xp.take(x, xp.asarray(idx, dtype=xp.int64), axis=axis)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        a = ctx.attrs
        return _take_adj(g, idx=a["idx"], axis=a["axis"], n=ctx.edges[0][3][a["axis"]])


class AxisTakeAdjoint(Op):
    """The adjoint of ``axis_take``: slices of ``g`` summed into ``n`` slots by index."""

    saves = ()

    def forward(self, xp: Any, g: Any, *, idx: tuple, axis: int, n: int) -> Any:
        shape = list(g.shape)
        shape[axis] = n
        out = xp.zeros(shape, dtype=g.dtype)
        if not idx:
            return out
        ids = xp.asarray(idx, dtype=xp.int64)
        if (ids[1:] < ids[:-1]).any():
            order = xp.argsort(ids, kind="stable")
            ids, g = ids[order], xp.take(g, order, axis=axis)
        starts = xp.flatnonzero(xp.concatenate([xp.ones(1, bool), ids[1:] != ids[:-1]]))
        pos = (slice(None),) * axis + (ids[starts],)
        out[pos] = xp.add.reduceat(g, starts, axis=axis)
        return out

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        a = ctx.attrs
        return _take(g, idx=a["idx"], axis=a["axis"])


_take = register(AxisTake())
_take_adj = register(AxisTakeAdjoint())


def take_axis(x: Tensor, idx: Any, axis: int) -> Tensor:
    """``x`` gathered along ``axis`` at fixed integer indices (differentiable in ``x``)."""
    return _take(x, idx=tuple(int(i) for i in idx), axis=axis)


def _weighted(x: Tensor, axis: int, terms: list) -> Tensor:
    """sum over (idx, weights) of take_axis(x, idx) * weights, weights along ``axis``."""
    trail = (1,) * (x.ndim - axis - 1)
    total = None
    for idx, w in terms:
        wt = _make(np.asarray(w, dtype=x._data.dtype).reshape((len(idx),) + trail))
        term = take_axis(x, idx, axis) * wt
        total = term if total is None else total + term
    return total


# -- adaptive average pooling (also interpolate's 'area' mode) ---------------------------

def adaptive_windows(n: int, o: int) -> tuple:
    """Start and end (exclusive) of each of the ``o`` adaptive windows over length ``n``."""
    return [i * n // o for i in range(o)], [-((-(i + 1) * n) // o) for i in range(o)]


def _adaptive_avg_axis(x: Tensor, axis: int, o: int) -> Tensor:
    """Adaptive average along one axis: reshape-and-mean when the windows tile the axis,
    else a weighted sum of shifted gathers (one per position inside the widest window)."""
    n = x.shape[axis]
    if o == n:
        return x
    if o and n % o == 0:
        shape = tuple(x.shape[:axis]) + (o, n // o) + tuple(x.shape[axis + 1:])
        return x.reshape(shape).mean(axis + 1)
    starts, ends = adaptive_windows(n, o)
    width = max((e - b for b, e in zip(starts, ends)), default=0)
    if not width:
        return take_axis(x, (), axis)
    return _weighted(x, axis, [([min(b + j, e - 1) for b, e in zip(starts, ends)],
                                [1.0 / (e - b) if b + j < e else 0.0
                                 for b, e in zip(starts, ends)]) for j in range(width)])


def adaptive_avg_poolnd(x: Tensor, out: tuple) -> Tensor:
    """Adaptive average pooling of the last ``len(out)`` axes to sizes ``out``."""
    k = len(out)
    if all(o == 1 for o in out) and all(n > 0 for n in x.shape[-k:]):
        return x.mean(tuple(range(x.ndim - k, x.ndim)), keepdim=True)
    for i, o in enumerate(out):
        x = _adaptive_avg_axis(x, x.ndim - k + i, o)
    return x


# -- per-axis source indices, PyTorch's conventions -------------------------------------

def _src_scale(n: int, o: int, align_corners: bool, scale: Any, dt: Any) -> Any:
    """area_pixel_compute_scale: input pixels per output pixel."""
    if align_corners:
        return dt(n - 1) / dt(o - 1) if o > 1 else dt(0)
    return dt(1.0 / scale) if scale is not None and scale > 0 else dt(n) / dt(o)


def _nearest(n: int, o: int, scale: Any, exact: bool) -> list:
    if o == n and not exact:
        return list(range(o))
    if o == 2 * n and not exact:
        return [i >> 1 for i in range(o)]
    s = np.float32(1.0 / scale) if scale is not None and scale > 0 else \
        np.float32(n) / np.float32(o)
    dst = np.arange(o, dtype=np.float64) + 0.5 if exact else np.arange(o, dtype=np.float32)
    src = np.floor((dst * s).astype(np.float32)).astype(np.int64)
    return np.minimum(src, n - 1).tolist()


def _linear_terms(n: int, o: int, align_corners: bool, scale: Any, dt: Any) -> list:
    s = _src_scale(n, o, align_corners, scale, dt)
    dst = np.arange(o, dtype=dt)
    src = s * dst if align_corners else np.maximum(s * (dst + dt(0.5)) - dt(0.5), dt(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    l1 = np.clip(src - i0, 0, 1).astype(dt)
    i1 = i0 + (i0 < n - 1)
    return [(i0.tolist(), dt(1) - l1), (i1.tolist(), l1)]


def _cubic_terms(n: int, o: int, align_corners: bool, scale: Any, dt: Any) -> list:
    s = _src_scale(n, o, align_corners, scale, dt)
    dst = np.arange(o, dtype=dt)
    src = s * dst if align_corners else s * (dst + dt(0.5)) - dt(0.5)
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    t = np.clip(src - i0, 0, 1).astype(dt)
    a = dt(-0.75)

    def near(x: Any) -> Any:        # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: Any) -> Any:         # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    return [(np.clip(i0 - 1 + j, 0, n - 1).tolist(), w.astype(dt))
            for j, w in enumerate(weights)]


_LINEAR = {"linear": 3, "bilinear": 4, "trilinear": 5}


def _resize_axis(x: Tensor, axis: int, o: int, mode: str, align_corners: bool,
                 scale: Any) -> Tensor:
    n = x.shape[axis]
    dt = x._data.dtype.type
    if mode in ("nearest", "nearest-exact"):
        idx = _nearest(n, o, scale, mode == "nearest-exact")
        return x if idx == list(range(n)) else take_axis(x, idx, axis)
    if mode == "bicubic":
        return _weighted(x, axis, _cubic_terms(n, o, align_corners, scale, dt))
    if o == n:
        return x
    return _weighted(x, axis, _linear_terms(n, o, align_corners, scale, dt))


def _spatial_arg(v: Any, dim: int, x: Tensor, scale: bool) -> list:
    """``size`` / ``scale_factor`` as one value per spatial dim."""
    if not isinstance(v, (list, tuple)):
        return [v] * dim
    if len(v) != dim:
        what, arg, sym = ("scale_factor", "scale_factor of shape", "s") if scale else \
            ("output", "output size of", "o")
        raise ValueError(f"Input and {what} must have the same number of spatial dimensions, "
                         f"but got input with spatial dimensions of {list(x.shape[2:])} and "
                         f"{arg} {tuple(v)}. Please provide input tensor in (N, C, d1, d2, "
                         f"...,dK) format and {arg.split(' of')[0]} in ({sym}1, {sym}2, "
                         f"...,{sym}K) format.")
    return list(v)


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None,
                mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """Resize the spatial dims of an (N, C, ...) input to ``size`` or by ``scale_factor``.

    Modes: 'nearest', 'nearest-exact' (3-5-D), 'linear' (3-D), 'bilinear' (4-D),
    'trilinear' (5-D), 'bicubic' (4-D), 'area' (adaptive average).

    >>> interpolate(ember.randn(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
    ember.Size([1, 3, 8, 8])
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if input.ndim not in (3, 4, 5) or mode not in ("nearest", "nearest-exact", "area",
                                                    "bicubic", *_LINEAR):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input.ndim}D) for the modes: nearest | linear | "
                                  f"bilinear | bicubic | trilinear | area | nearest-exact "
                                  f"(got {mode})")
    need = _LINEAR.get(mode, 4 if mode == "bicubic" else None)
    if need is not None and input.ndim != need:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {need}D "
                                  f"input")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if size is not None:
        out = [int(v) for v in _spatial_arg(size, dim, input, False)]
        scales = [None] * dim
    else:
        scales = [float(v) for v in _spatial_arg(scale_factor, dim, input, True)]
        out = [int(math.floor(n * s)) for n, s in zip(input.shape[2:], scales)]
        if recompute_scale_factor or mode == "area":
            scales = [None] * dim
    if any(o <= 0 for o in out) or any(n <= 0 for n in input.shape[2:]):
        raise RuntimeError(f"interpolate: Input and output sizes should be greater than 0, "
                           f"but got input {list(input.shape[2:])} output {out}")
    if mode == "area":
        return adaptive_avg_poolnd(input, tuple(out))
    x = input
    for i, (o, s) in enumerate(zip(out, scales)):
        x = _resize_axis(x, 2 + i, o, mode, bool(align_corners), s)
    return x


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None,
             mode: str = "nearest", align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate`, as in PyTorch."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


# -- pixel shuffle ----------------------------------------------------------------------

def _shuffle_args(op: str, what: str, input: Tensor, factor: int) -> tuple:
    """Checked factor, leading dims and (C, H, W) of a pixel (un)shuffle input."""
    r = int(factor)
    if input.ndim < 3:
        raise RuntimeError(f"{op} expects input to have at least 3 dimensions, but got input "
                           f"with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"{op} expects a positive {what}, but got {r}")
    return r, tuple(input.shape[:-3]), tuple(input.shape[-3:])

def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): channel blocks become r x r pixel blocks.

    >>> pixel_shuffle(ember.randn(1, 8, 3, 3), 2).shape
    ember.Size([1, 2, 6, 6])
    """
    r, lead, (c, h, w) = _shuffle_args("pixel_shuffle", "upscale_factor", input,
                                       upscale_factor)
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but "
                           f"input.size(-3)={c} is not divisible by {r * r}")
    b = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(b), b, b + 3, b + 1, b + 4, b + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W), the inverse of :func:`pixel_shuffle`."""
    r, lead, (c, h, w) = _shuffle_args("pixel_unshuffle", "downscale_factor", input,
                                       downscale_factor)
    for name, v, d in (("height", h, -2), ("width", w, -1)):
        if v % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by "
                               f"downscale_factor, but input.size({d})={v} is not divisible "
                               f"by {r}")
    b = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(b), b, b + 2, b + 4, b + 1, b + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)
