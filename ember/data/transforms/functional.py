"""Functional image transforms, mirroring ``torchvision.transforms.functional``.

Each function takes an (H, W) or (H, W, C) NumPy array, a PIL image, or an Ember tensor
shaped (..., C, H, W) or (H, W), and returns the same kind. NumPy arrays follow the PIL
rules where torchvision's PIL and tensor paths differ (nearest-neighbour resize, rotation
edges); tensors follow the tensor rules.

>>> import numpy as np
>>> from ember.data.transforms import functional as F
>>> F.hflip(np.arange(6, dtype=np.uint8).reshape(2, 3)).tolist()
[[2, 1, 0], [5, 4, 3]]
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Sequence

import numpy as np

from ember.data.transforms import _colorspace as cs
from ember.data.transforms._convert import normalize, pil_to_tensor, to_pil_image, \
    to_tensor
from ember.data.transforms._image import InterpolationMode, fill_value, interpolation_mode, \
    is_pil, max_value, pack, size_hw, to_dtype, unpack, work_dtype
from ember.data.transforms._sampling import expanded_size, resize_axis, rotation_matrix, warp
from ember.tensor import Tensor

__all__ = ["InterpolationMode", "to_tensor", "pil_to_tensor", "to_pil_image", "normalize",
           "get_dimensions", "get_image_size", "resize", "crop", "center_crop", "pad",
           "hflip", "vflip", "rotate", "resized_crop", "adjust_brightness",
           "adjust_contrast", "adjust_saturation", "adjust_hue", "rgb_to_grayscale", "erase"]

_PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def get_dimensions(img: Any) -> list[int]:
    """``[channels, height, width]`` of an image."""
    a, _ = unpack(img, "get_dimensions")
    return [a.shape[-1], a.shape[-3], a.shape[-2]]


def get_image_size(img: Any) -> list[int]:
    """``[width, height]`` of an image (torchvision's order)."""
    h, w = size_hw(img, "get_image_size")
    return [w, h]


# -- geometry ---------------------------------------------------------------------------

def _resized_hw(h: int, w: int, size: Any, max_size: int | None) -> tuple[int, int]:
    """torchvision's output size: an int (or 1-sequence) is the smaller edge."""
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError(f"resize: size must be an int or a 1 or 2 element tuple/list, "
                             f"not a {len(size)} element tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("resize: max_size should only be passed if size specifies the "
                             "length of the smaller edge, i.e. size should be an int or a "
                             "sequence of length 1")
        if len(size) == 2:
            return int(size[0]), int(size[1])
        size = size[0]
    elif not isinstance(size, numbers.Integral):
        raise TypeError(f"resize: size should be int or sequence. Got {type(size)}")
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = int(size), int(int(size) * long / short)
    if max_size is not None:
        if max_size <= size:
            raise ValueError(f"resize: max_size = {max_size} must be strictly greater than "
                             f"the requested size for the smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


def _resample(a: np.ndarray, oh: int, ow: int, mode: InterpolationMode, antialias: bool,
              pil_rules: bool) -> np.ndarray:
    """(..., H, W, C) resized to (oh, ow); the dtype is kept (integers rounded)."""
    if oh <= 0 or ow <= 0:
        raise ValueError(f"resize: output size should be positive, got ({oh}, {ow})")
    name = "pil-nearest" if pil_rules and mode is InterpolationMode.NEAREST else mode.value
    if name != "bilinear":
        return resize_axis(resize_axis(a, -3, oh, name, False), -2, ow, name, False)
    # Width first, then height. Antialiased integer images follow PIL's (and torch's
    # uint8) fixed-point resampler: weights with 22 fractional bits (exact in float64),
    # results rounded half up after each pass.
    pil_int = antialias and a.dtype.kind in "iu"
    f = a.astype(np.float64 if pil_int else work_dtype(a.dtype))
    f = resize_axis(f, -2, ow, name, antialias, pil_int)
    if pil_int:
        f = to_dtype(np.floor(f + 0.5), a.dtype, rounding=False).astype(f.dtype)
    f = resize_axis(f, -3, oh, name, antialias, pil_int)
    return to_dtype(np.floor(f + 0.5) if pil_int else f, a.dtype, rounding=not pil_int)


def resize(img: Any, size: Any, interpolation: Any = InterpolationMode.BILINEAR,
           max_size: int | None = None, antialias: bool | None = True) -> Any:
    """Resize to ``size`` = (h, w), or make the smaller edge ``size`` if it is an int.

    >>> F.resize(np.zeros((20, 40, 3), np.uint8), 10).shape
    (10, 20, 3)
    """
    mode = interpolation_mode(interpolation, "resize")
    h, w = size_hw(img, "resize")
    oh, ow = _resized_hw(h, w, size, max_size)
    if (oh, ow) == (h, w):
        return img
    if is_pil(img) and antialias is False:
        warnings.warn("resize: anti-alias is always applied to PIL images; antialias=False "
                      "is ignored", stacklevel=2)
        antialias = True
    a, how = unpack(img, "resize")
    return pack(_resample(a, oh, ow, mode, bool(antialias), how[0] != "tensor"), how)


def _pad_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source index along an axis of length ``n`` for every padded position."""
    i = np.arange(-before, n + after)
    if mode == "edge":
        return np.clip(i, 0, n - 1)
    period = 2 * n - 2 if mode == "reflect" else 2 * n
    if period == 0:
        return np.zeros_like(i)
    i = i % period
    return np.where(i >= n, period - i - (mode == "symmetric"), i)


def _pad_hwc(a: np.ndarray, ltrb: Sequence[int], fill: Any, mode: str) -> np.ndarray:
    left, top, right, bottom = ltrb
    h, w = a.shape[-3], a.shape[-2]
    if min(ltrb) < 0:            # negative padding crops, as in torchvision
        a = a[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0), :]
        left, top, right, bottom = (max(v, 0) for v in ltrb)
        h, w = a.shape[-3], a.shape[-2]
    if mode == "constant":
        out = np.empty(a.shape[:-3] + (h + top + bottom, w + left + right, a.shape[-1]),
                       dtype=a.dtype)
        out[...] = fill_value(fill, a.shape[-1], "pad")
        out[..., top:top + h, left:left + w, :] = a
        return out
    if h == 0 or w == 0:
        raise ValueError(f"pad: cannot pad an empty image of size ({h}, {w}) in mode "
                         f"{mode!r}")
    rows, cols = _pad_index(h, top, bottom, mode), _pad_index(w, left, right, mode)
    return a[..., rows[:, None], cols[None, :], :]


def _parse_padding(padding: Any) -> list[int]:
    if isinstance(padding, numbers.Integral):
        return [int(padding)] * 4
    if not isinstance(padding, (tuple, list)) or \
            not all(isinstance(p, numbers.Integral) for p in padding):
        raise TypeError(f"pad: got inappropriate padding arg {padding!r} (expected an int or "
                        f"a tuple/list of ints)")
    if len(padding) == 1:
        return [int(padding[0])] * 4
    if len(padding) == 2:
        return [int(padding[0]), int(padding[1])] * 2
    if len(padding) == 4:
        return [int(p) for p in padding]
    raise ValueError(f"pad: padding must be an int or a 1, 2, or 4 element tuple, not a "
                     f"{len(padding)} element tuple")


def pad(img: Any, padding: Any, fill: Any = 0, padding_mode: str = "constant") -> Any:
    """Pad the borders: ``padding`` is an int (all sides), (left/right, top/bottom) or
    (left, top, right, bottom); ``padding_mode`` is 'constant' (with ``fill``), 'edge',
    'reflect' (without repeating the edge) or 'symmetric' (repeating it).

    >>> F.pad(np.ones((2, 2), np.uint8), 1).shape
    (4, 4)
    """
    ltrb = _parse_padding(padding)
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"pad: padding mode should be either constant, edge, reflect or "
                         f"symmetric, got {padding_mode!r}")
    a, how = unpack(img, "pad")
    return pack(_pad_hwc(a, ltrb, fill, padding_mode), how)


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """The ``height`` x ``width`` window at (``top``, ``left``); parts outside the image
    are zero. Arrays and tensors come back as views where the window is inside.

    >>> F.crop(np.arange(16).reshape(4, 4), 1, 1, 2, 2).tolist()
    [[5, 6], [9, 10]]
    """
    a, how = unpack(img, "crop")
    return pack(_crop_hwc(a, int(top), int(left), int(height), int(width)), how)


def _crop_hwc(a: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    h, w = a.shape[-3], a.shape[-2]
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return _pad_hwc(a[..., max(top, 0):bottom, max(left, 0):right, :], ltrb, 0,
                        "constant")
    return a[..., top:bottom, left:right, :]


def center_crop(img: Any, output_size: Any) -> Any:
    """The central window of ``output_size`` (int or (h, w)); zero-padded if larger than
    the image.

    >>> F.center_crop(np.zeros((5, 7)), 3).shape
    (3, 3)
    """
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    ch, cw = (int(v) for v in output_size)
    a, how = unpack(img, "center_crop")
    h, w = a.shape[-3], a.shape[-2]
    if cw > w or ch > h:
        ltrb = [(cw - w) // 2 if cw > w else 0, (ch - h) // 2 if ch > h else 0,
                (cw - w + 1) // 2 if cw > w else 0, (ch - h + 1) // 2 if ch > h else 0]
        a = _pad_hwc(a, ltrb, 0, "constant")
        h, w = a.shape[-3], a.shape[-2]
    top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
    return pack(_crop_hwc(a, top, left, ch, cw), how)


def hflip(img: Any) -> Any:
    """Mirror left to right (a new array or tensor)."""
    a, how = unpack(img, "hflip")
    return pack(a[..., ::-1, :].copy(), how)


def vflip(img: Any) -> Any:
    """Flip top to bottom (a new array or tensor)."""
    a, how = unpack(img, "vflip")
    return pack(a[..., ::-1, :, :].copy(), how)


def resized_crop(img: Any, top: int, left: int, height: int, width: int, size: Any,
                 interpolation: Any = InterpolationMode.BILINEAR,
                 antialias: bool | None = True) -> Any:
    """:func:`crop` then :func:`resize` to ``size``.

    >>> F.resized_crop(np.zeros((8, 8, 3), np.uint8), 0, 0, 4, 4, [2, 2]).shape
    (2, 2, 3)
    """
    return resize(crop(img, top, left, height, width), size, interpolation,
                  antialias=antialias)


def rotate(img: Any, angle: float, interpolation: Any = InterpolationMode.NEAREST,
           expand: bool = False, center: Sequence[float] | None = None,
           fill: Any = None) -> Any:
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (default: the image
    centre), by inverse mapping; uncovered pixels get ``fill``. ``expand`` enlarges the
    output to hold the whole rotated image.

    >>> F.rotate(np.zeros((4, 6), np.uint8), 90, expand=True).shape
    (6, 4)
    """
    mode = interpolation_mode(interpolation, "rotate")
    if mode is InterpolationMode.NEAREST_EXACT:
        raise ValueError("rotate: interpolation should be NEAREST or BILINEAR, got "
                         "NEAREST_EXACT")
    if not isinstance(angle, numbers.Number):
        raise TypeError(f"rotate: argument angle should be int or float, got {angle!r}")
    if center is not None and (not isinstance(center, (list, tuple)) or len(center) != 2):
        raise ValueError(f"rotate: center should be a sequence of length 2, got {center!r}")
    a, how = unpack(img, "rotate")
    h, w = a.shape[-3], a.shape[-2]
    c = (w / 2.0, h / 2.0) if center is None else (float(center[0]), float(center[1]))
    out_hw = expanded_size(angle, c, h, w) if expand else (h, w)
    m = rotation_matrix(float(angle), c, out_hw, (h, w))
    fill = None if fill is None else fill_value(fill, a.shape[-1], "rotate")
    pil_rules = how[0] != "tensor"
    out = warp(a, m, out_hw, mode.value, fill, pil_rules)
    # PIL truncates bilinear results to integers; torchvision rounds them
    return pack(to_dtype(out, a.dtype, rounding=not pil_rules), how)


# -- colour -----------------------------------------------------------------------------

def _color_input(img: Any, fn: str, factor: float, name: str) -> tuple:
    if factor < 0:
        raise ValueError(f"{fn}: {name} ({factor}) is not non-negative.")
    a, how = unpack(img, fn)
    if a.shape[-1] not in (1, 3):
        raise TypeError(f"{fn}: input image permitted channel values are [1, 3], but found "
                        f"{a.shape[-1]}")
    return a, how


def adjust_brightness(img: Any, brightness_factor: float) -> Any:
    """Scale intensities by ``brightness_factor`` (0 gives black, 1 the original).

    >>> F.adjust_brightness(np.full((1, 1, 3), 100, np.uint8), 1.5)[0, 0].tolist()
    [150, 150, 150]
    """
    a, how = _color_input(img, "adjust_brightness", brightness_factor, "brightness_factor")
    return pack(cs.blend(a, 0.0, brightness_factor), how)


def adjust_contrast(img: Any, contrast_factor: float) -> Any:
    """Blend with the mean grayscale level (0 gives a flat grey image, 1 the original)."""
    a, how = _color_input(img, "adjust_contrast", contrast_factor, "contrast_factor")
    gray = cs.grayscale(a) if a.shape[-1] == 3 else a
    mean = gray.astype(work_dtype(a.dtype)).mean(axis=(-3, -2, -1), keepdims=True)
    return pack(cs.blend(a, mean, contrast_factor), how)


def adjust_saturation(img: Any, saturation_factor: float) -> Any:
    """Blend with the grayscale image (0 gives grayscale, 1 the original); one-channel
    images come back unchanged."""
    a, how = _color_input(img, "adjust_saturation", saturation_factor, "saturation_factor")
    if a.shape[-1] == 1:
        return img
    gray = cs.grayscale(a).astype(work_dtype(a.dtype))
    return pack(cs.blend(a, gray, saturation_factor), how)


def adjust_hue(img: Any, hue_factor: float) -> Any:
    """Shift the hue by ``hue_factor`` turns of the colour circle, in [-0.5, 0.5];
    one-channel images come back unchanged."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    a, how = _color_input(img, "adjust_hue", 0.0, "hue_factor")
    if a.shape[-1] == 1:
        return img
    f = a.astype(work_dtype(a.dtype)) / max_value(a.dtype)
    hsv = cs.rgb_to_hsv(f)
    hsv[..., 0] = (hsv[..., 0] + hue_factor) % 1.0
    rgb = cs.hsv_to_rgb(hsv) * max_value(a.dtype)
    return pack(to_dtype(rgb, a.dtype, rounding=False), how)


def rgb_to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    """ITU-R 601-2 luma ``0.2989 R + 0.587 G + 0.114 B``, as 1 or 3 equal channels."""
    if num_output_channels not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: num_output_channels should be either 1 or 3, "
                         f"got {num_output_channels}")
    a, how = unpack(img, "rgb_to_grayscale")
    if a.shape[-1] != 3:
        raise TypeError(f"rgb_to_grayscale: input image permitted channel values are [3], "
                        f"but found {a.shape[-1]}")
    gray = cs.grayscale(a)
    return pack(np.repeat(gray, 3, axis=-1) if num_output_channels == 3 else gray, how)


# -- erasing ----------------------------------------------------------------------------

def erase(img: Tensor, i: int, j: int, h: int, w: int, v: Any,
          inplace: bool = False) -> Tensor:
    """Set the ``h`` x ``w`` window at (``i``, ``j``) of a (..., C, H, W) tensor to ``v``
    (a number or a tensor that broadcasts to (C, h, w)).

    >>> F.erase(ember.ones(1, 4, 4), 1, 1, 2, 2, 0).sum().item()
    12.0
    """
    if not isinstance(img, Tensor):
        raise TypeError(f"erase: img should be Tensor Image. Got {type(img)}")
    if not inplace:
        img = img.clone()
    img[..., i:i + h, j:j + w] = v
    return img
