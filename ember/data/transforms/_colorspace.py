"""Colour math on (..., H, W, C) arrays, with torchvision's tensor formulas: ITU-R 601-2
luma for grayscale, blends clipped to the image's range, and RGB <-> HSV."""
from __future__ import annotations

import numpy as np

from ember.data.transforms._image import max_value, to_dtype, work_dtype


def grayscale(a: np.ndarray) -> np.ndarray:
    """(..., H, W, 1) luma ``0.2989 R + 0.587 G + 0.114 B`` in ``a``'s dtype (integers
    truncated, as torchvision's rgb_to_grayscale does)."""
    f = a.astype(work_dtype(a.dtype), copy=False)
    luma = 0.2989 * f[..., 0:1] + 0.587 * f[..., 1:2] + 0.114 * f[..., 2:3]
    return to_dtype(luma, a.dtype, rounding=False)


def blend(a: np.ndarray, b: np.ndarray | float, ratio: float) -> np.ndarray:
    """``ratio * a + (1 - ratio) * b`` clipped to the image range, in ``a``'s dtype
    (integers truncated, as torchvision's _blend does)."""
    f = a.astype(work_dtype(a.dtype), copy=False)
    out = ratio * f + (1.0 - ratio) * b
    np.clip(out, 0.0, max_value(a.dtype), out=out)
    return to_dtype(out, a.dtype, rounding=False)


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB in [0, 1] to HSV, each in [0, 1]."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    v = rgb.max(axis=-1)
    chroma = v - rgb.min(axis=-1)
    grey = chroma == 0
    s = chroma / np.where(grey, 1.0, v)
    c = np.where(grey, 1.0, chroma)
    rc, gc, bc = (v - r) / c, (v - g) / c, (v - b) / c
    h = np.where(v == r, bc - gc, np.where(v == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = np.where(grey, 0.0, h)
    return np.stack([(h / 6.0) % 1.0, s, v], axis=-1)


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """(..., 3) HSV in [0, 1] to RGB in [0, 1]."""
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    sector = np.floor(h * 6.0)
    frac = h * 6.0 - sector
    sector = sector.astype(np.intp) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * frac), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - frac)), 0.0, 1.0)
    # (R, G, B) for each sixth of the hue circle
    table = np.stack([np.stack(c, axis=-1) for c in
                      ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))])
    return np.take_along_axis(table, sector[None, ..., None], axis=0)[0]
