"""Resampling on (..., H, W, C) arrays: separable resize and inverse-mapped affine warps.

Resize works one axis at a time as a weighted sum of a few gathers (taps) along that axis.
The tap positions and weights follow torch's ``interpolate`` for 'nearest',
'nearest-exact' and non-antialiased 'bilinear' (Ember's own index helpers), and
PIL's / torch's antialiased resampler otherwise: a triangle filter stretched by the
downscaling factor, cut to the image and renormalised.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.ops.resize import _linear_terms, _nearest


# PIL and torch resample uint8 images with weights in fixed point, 22 fractional bits.
_FIXED_POINT = float(1 << 22)


def _antialias_terms(n: int, o: int, fixed_point: bool) -> list:
    """Taps of the stretched-triangle filter (PIL's ImagingResample, torch's _aa kernels);
    ``fixed_point`` rounds the weights to PIL's precision for integer images."""
    scale = n / o
    stretch = max(scale, 1.0)
    centers = (np.arange(o) + 0.5) * scale
    lo = np.maximum(np.trunc(centers - stretch + 0.5).astype(np.int64), 0)
    hi = np.minimum(np.trunc(centers + stretch + 0.5).astype(np.int64), n)
    pos = lo[:, None] + np.arange(2 * math.ceil(stretch) + 1)
    w = np.maximum(1.0 - np.abs((pos - centers[:, None] + 0.5) / stretch), 0.0)
    w[pos >= hi[:, None]] = 0.0
    w /= w.sum(axis=1, keepdims=True)
    if fixed_point:
        w = np.floor(w * _FIXED_POINT + 0.5) / _FIXED_POINT
    keep = w.any(axis=0)
    idx = np.minimum(pos, n - 1)
    return [(idx[:, k], w[:, k]) for k in np.flatnonzero(keep)]


def _pil_nearest(n: int, o: int) -> np.ndarray:
    """PIL's nearest-neighbour source index: the pixel-centre position accumulated step by
    step in double precision (ImagingScaleAffine), floor-ed."""
    steps = np.full(o, n / o)
    steps[0] *= 0.5
    return np.minimum(np.floor(np.cumsum(steps)).astype(np.intp), n - 1)


def _terms(n: int, o: int, mode: str, antialias: bool, fixed_point: bool, dt: type) -> list:
    if mode == "pil-nearest":
        return [(_pil_nearest(n, o), None)]
    if mode in ("nearest", "nearest-exact"):
        return [(np.asarray(_nearest(n, o, None, mode == "nearest-exact")), None)]
    if antialias:
        return _antialias_terms(n, o, fixed_point)
    return [(np.asarray(i), np.asarray(w)) for i, w in _linear_terms(n, o, False, None, dt)]


def resize_axis(a: np.ndarray, axis: int, o: int, mode: str, antialias: bool,
                fixed_point: bool = False) -> np.ndarray:
    """``a`` (floats for the linear modes) resampled to length ``o`` along the negative
    ``axis``; ``fixed_point``: antialias weights rounded as PIL does for 8-bit images."""
    n = a.shape[axis]
    if n == o:
        return a
    shape = (o,) + (1,) * (-axis - 1)
    out = None
    for idx, w in _terms(n, o, mode, antialias, fixed_point, a.dtype.type):
        tap = np.take(a, idx, axis=axis)
        if w is None:
            return tap
        tap *= w.astype(a.dtype).reshape(shape)
        out = tap if out is None else np.add(out, tap, out=out)
    return out


def rotation_matrix(angle: float, center: tuple[float, float], out_hw: tuple[int, int],
                    in_hw: tuple[int, int]) -> np.ndarray:
    """The 2x3 map from output pixel coordinates (centres at +0.5) to input ones for a
    counter-clockwise rotation by ``angle`` degrees about ``center`` (PIL's convention;
    an enlarged output is centred on the input)."""
    t = -math.radians(angle)
    c, s = round(math.cos(t), 15), round(math.sin(t), 15)
    cx, cy = center
    dx, dy = (out_hw[1] - in_hw[1]) / 2.0, (out_hw[0] - in_hw[0]) / 2.0
    return np.array([[c, s, cx - c * (cx + dx) - s * (cy + dy)],
                     [-s, c, cy + s * (cx + dx) - c * (cy + dy)]])


def expanded_size(angle: float, center: tuple[float, float], h: int, w: int) -> tuple:
    """(height, width) that holds the whole rotated image (PIL's ``expand=True``)."""
    m = rotation_matrix(angle, center, (h, w), (h, w))
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], dtype=np.float64)
    xs, ys = corners @ m.T[:, 0], corners @ m.T[:, 1]
    return (int(math.ceil(ys.max()) - math.floor(ys.min())),
            int(math.ceil(xs.max()) - math.floor(xs.min())))


def warp(a: np.ndarray, m: np.ndarray, out_hw: tuple[int, int], mode: str, fill: Any,
         pil_rules: bool) -> np.ndarray:
    """Sample ``a`` (..., H, W, C) at ``m`` applied to each output pixel centre.

    ``pil_rules``: a sample point outside the image gives ``fill``; bilinear reads clamp
    to the edge (PIL's affine transform). Otherwise torch's grid_sample with zero padding,
    then (unless ``fill`` is None) torchvision's blend with ``fill`` through a sampled
    all-ones mask.
    Returns floats for bilinear, ``a``'s dtype for nearest.
    """
    h, w = a.shape[-3], a.shape[-2]
    oh, ow = out_hw
    gy, gx = np.mgrid[0:oh, 0:ow] + 0.5
    xs = m[0, 0] * gx + m[0, 1] * gy + m[0, 2]
    ys = m[1, 0] * gx + m[1, 1] * gy + m[1, 2]
    if mode.startswith("nearest"):
        if pil_rules:
            xi, yi = np.floor(xs), np.floor(ys)
        else:
            xi, yi = np.rint(xs - 0.5), np.rint(ys - 0.5)
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        out = a[..., np.clip(yi, 0, h - 1).astype(np.intp),
                np.clip(xi, 0, w - 1).astype(np.intp), :].copy()
        out[..., ~inside, :] = 0 if fill is None else fill
        return out
    x, y = xs - 0.5, ys - 0.5
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    x0, y0 = x0.astype(np.intp), y0.astype(np.intp)
    f = a.astype(np.float64 if a.dtype == np.float64 else np.float32)
    if pil_rules:
        inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
        cx0, cx1 = np.clip(x0, 0, w - 1), np.clip(x0 + 1, 0, w - 1)
        cy0, cy1 = np.clip(y0, 0, h - 1), np.clip(y0 + 1, 0, h - 1)
        top = f[..., cy0, cx0, :] * (1 - fx) + f[..., cy0, cx1, :] * fx
        bottom = f[..., cy1, cx0, :] * (1 - fx) + f[..., cy1, cx1, :] * fx
        out = top * (1 - fy) + bottom * fy
        out[..., ~inside, :] = 0 if fill is None else fill
        return out
    out = 0.0
    mask = 0.0
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xx, yy = x0 + dx, y0 + dy
            ok = ((xx >= 0) & (xx < w) & (yy >= 0) & (yy < h))[..., None]
            wt = wx * wy * ok
            out = out + f[..., np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1), :] * wt
            mask = mask + wt
    if fill is None:
        return out
    return out * mask + (1.0 - mask) * np.asarray(fill, dtype=f.dtype)
