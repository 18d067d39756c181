"""How the transforms see an image.

Every accepted input, an (H, W) or (H, W, C) NumPy array, a PIL image, or an Ember
tensor shaped (..., C, H, W) or (H, W), is viewed as a NumPy array shaped (..., H, W, C)
(no copy where NumPy allows), worked on, then turned back into the kind it came in as.
Pillow is never imported here unless a PIL image is turned back into one.
"""
from __future__ import annotations

import enum
import numbers
import sys
from typing import Any, Sequence

import numpy as np

from ember.tensor import Tensor, _make

# PIL modes whose pixels NumPy reads and writes back unchanged (np.asarray / fromarray).
_PIL_MODES = ("L", "LA", "RGB", "RGBA", "I", "I;16", "F")


class InterpolationMode(enum.Enum):
    """Resampling filters, as in ``torchvision.transforms.InterpolationMode``.

    >>> InterpolationMode("bilinear") is InterpolationMode.BILINEAR
    True
    """

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"


def interpolation_mode(value: Any, fn: str) -> InterpolationMode:
    """``value`` (an InterpolationMode or its string value) as an InterpolationMode."""
    if isinstance(value, InterpolationMode):
        return value
    try:
        return InterpolationMode(value)
    except ValueError:
        raise TypeError(f"{fn}: argument interpolation should be an InterpolationMode "
                        f"({', '.join(m.value for m in InterpolationMode)}), got "
                        f"{value!r}") from None


def is_pil(img: Any) -> bool:
    """Whether ``img`` is a PIL image (without importing Pillow)."""
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(img, pil.Image)


def unpack(img: Any, fn: str) -> tuple[np.ndarray, tuple]:
    """``img`` as an (..., H, W, C) array, and what :func:`pack` needs to undo that."""
    if isinstance(img, Tensor):
        if img.requires_grad:
            raise RuntimeError(f"{fn}: image transforms do not record gradients, but the "
                               f"input tensor requires grad; pass tensor.detach()")
        a = img.numpy()
        if a.ndim < 2:
            raise TypeError(f"{fn}: expected a tensor image of shape (..., C, H, W) or "
                            f"(H, W), got shape {tuple(a.shape)}")
        if a.ndim == 2:
            return a[..., None], ("tensor", True)
        # (..., C, H, W) -> (..., H, W, C); a plain transpose is ~10x cheaper than moveaxis
        lead = tuple(range(a.ndim - 3))
        return a.transpose(lead + (a.ndim - 2, a.ndim - 1, a.ndim - 3)), ("tensor", False)
    if isinstance(img, np.ndarray):
        if img.ndim == 2:
            return img[..., None], ("array", True)
        if img.ndim == 3:
            return img, ("array", False)
        raise ValueError(f"{fn}: expected an (H, W) or (H, W, C) array, got shape "
                         f"{img.shape}")
    if is_pil(img):
        if img.mode not in _PIL_MODES:
            raise TypeError(f"{fn}: PIL images of mode {img.mode!r} are not supported "
                            f"(supported: {', '.join(_PIL_MODES)}); convert first, e.g. "
                            f"img.convert('RGB')")
        a = np.asarray(img)
        return (a[..., None] if a.ndim == 2 else a), ("pil", img.mode)
    raise TypeError(f"{fn}: img should be a PIL Image, a NumPy array or an ember Tensor. "
                    f"Got {type(img).__name__}")


def pack(a: np.ndarray, how: tuple) -> Any:
    """Undo :func:`unpack` on a result ``a`` shaped (..., H', W', C')."""
    kind, extra = how
    if kind == "tensor":
        if extra:
            return _make(a[..., 0])
        lead = tuple(range(a.ndim - 3))
        return _make(a.transpose(lead + (a.ndim - 1, a.ndim - 3, a.ndim - 2)))
    if kind == "array":
        return a[..., 0] if extra else a
    from PIL import Image
    return Image.fromarray(np.ascontiguousarray(a[..., 0] if a.shape[-1] == 1 else a))


def size_hw(img: Any, fn: str) -> tuple[int, int]:
    """(height, width) of any accepted image kind."""
    if is_pil(img):
        return img.height, img.width
    a, _ = unpack(img, fn)
    return a.shape[-3], a.shape[-2]


def max_value(dtype: np.dtype) -> float:
    """The value of full intensity: 1.0 for floats, the largest value for integers."""
    return float(np.iinfo(dtype).max) if dtype.kind in "iu" else 1.0


def work_dtype(dtype: np.dtype) -> type:
    """The float type the image math runs in for images of ``dtype``."""
    return np.float64 if dtype == np.float64 else np.float32


def to_dtype(x: np.ndarray, dtype: np.dtype, rounding: bool) -> np.ndarray:
    """Float results back to the image's dtype; integers are clipped to their range and
    rounded (``rounding``) or truncated, as torchvision does per operation."""
    if dtype.kind not in "iu":
        return x.astype(dtype, copy=False)
    info = np.iinfo(dtype)
    if rounding:
        x = np.round(x)
    return np.clip(x, info.min, info.max).astype(dtype)


def fill_value(fill: Any, channels: int, fn: str) -> np.ndarray | float:
    """``fill`` (a number or one number per channel) as something that broadcasts over
    the channel axis."""
    if fill is None:
        return 0.0
    if isinstance(fill, numbers.Number):
        return float(fill)
    if isinstance(fill, (tuple, list)) and all(isinstance(v, numbers.Number) for v in fill):
        if len(fill) == 1:
            return float(fill[0])
        if len(fill) == channels:
            return np.asarray(fill, dtype=np.float64)
        raise ValueError(f"{fn}: the number of elements in 'fill' ({len(fill)}) does not "
                         f"match the number of channels of the image ({channels})")
    raise TypeError(f"{fn}: fill should be a number or a sequence of numbers, got "
                    f"{fill!r}")


def pair(size: Any, name: str, fn: str) -> tuple[int, int]:
    """An int or a 1- or 2-element sequence as ``(h, w)`` (torchvision's _setup_size)."""
    if isinstance(size, numbers.Number) and not isinstance(size, bool):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError(f"{fn}: please provide only two dimensions (h, w) for {name}, got "
                         f"{size!r}")
    return int(size[0]), int(size[1])
