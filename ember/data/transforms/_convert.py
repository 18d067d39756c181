"""Conversions between image kinds (to_tensor, pil_to_tensor, to_pil_image) and
normalize, with torchvision's rules."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ember.data.transforms._image import is_pil
from ember.tensor import Tensor, _make

# modes of one channel that NumPy data maps to (torchvision's to_pil_image table)
_GRAY_MODES = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16",
               np.dtype(np.int32): "I", np.dtype(np.float32): "F"}
_MULTI_MODES = {2: ("LA",), 3: ("RGB", "YCbCr", "HSV"), 4: ("RGBA", "CMYK", "RGBX")}


def _pil_array(pic: Any) -> np.ndarray:
    """A PIL image's pixels as an (H, W, C) array (mode '1' as 0/255 uint8)."""
    a = np.asarray(pic)
    if pic.mode == "1":
        a = a.astype(np.uint8) * 255
    return a[..., None] if a.ndim == 2 else a


def _hwc_input(pic: Any, fn: str) -> np.ndarray:
    if is_pil(pic):
        return _pil_array(pic)
    if not isinstance(pic, np.ndarray):
        raise TypeError(f"{fn}: pic should be PIL Image or ndarray. Got {type(pic)}")
    if pic.ndim not in (2, 3):
        raise ValueError(f"{fn}: pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    return pic[..., None] if pic.ndim == 2 else pic


def to_tensor(pic: Any) -> Tensor:
    """A PIL image or (H, W[, C]) array as a (C, H, W) tensor; uint8 data becomes float32
    in [0, 1], other dtypes keep their values.

    >>> to_tensor(np.zeros((28, 28), np.uint8)).shape
    ember.Size([1, 28, 28])
    """
    a = _hwc_input(pic, "to_tensor")
    chw = a.transpose(2, 0, 1)
    if a.dtype != np.uint8:
        return _make(np.ascontiguousarray(chw))
    out = np.empty(chw.shape, dtype=np.float32)
    np.divide(chw, np.float32(255), out=out)
    return _make(out)


def pil_to_tensor(pic: Any) -> Tensor:
    """A PIL image as a (C, H, W) tensor of its pixel values, without scaling.

    >>> from PIL import Image
    >>> pil_to_tensor(Image.new("RGB", (4, 2))).dtype
    ember.uint8
    """
    if not is_pil(pic):
        raise TypeError(f"pil_to_tensor: pic should be PIL Image. Got {type(pic)}")
    return _make(np.ascontiguousarray(_pil_array(pic).transpose(2, 0, 1)))


def to_pil_image(pic: Any, mode: str | None = None) -> Any:
    """A (C, H, W) tensor or (H, W[, C]) array as a PIL image. Floats are scaled by 255
    and truncated to uint8 unless ``mode='F'``.

    >>> to_pil_image(ember.ones(3, 2, 4)).size
    (4, 2)
    """
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("to_pil_image needs Pillow: pip install 'ember[datasets]'") from None
    if isinstance(pic, Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_pil_image: pic should be 2/3 dimensional. Got {pic.ndim} "
                             f"dimensions.")
        a = pic.detach().numpy()
        a = a[..., None] if a.ndim == 2 else a.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        a = _hwc_input(pic, "to_pil_image")
    else:
        raise TypeError(f"to_pil_image: pic should be Tensor or ndarray. Got {type(pic)}")
    channels = a.shape[-1]
    if channels > 4:
        raise ValueError(f"to_pil_image: pic should not have > 4 channels. Got {channels} "
                         f"channels.")
    if a.dtype.kind == "f" and mode != "F":
        a = (a * 255).astype(np.uint8)
    if channels == 1:
        expected = _GRAY_MODES.get(a.dtype)
        if expected is None:
            raise TypeError(f"to_pil_image: input type {a.dtype} is not supported")
        if mode is not None and mode != expected:
            raise ValueError(f"to_pil_image: incorrect mode ({mode}) supplied for input type "
                             f"{a.dtype}. Should be {expected}")
        return Image.fromarray(np.ascontiguousarray(a[..., 0]))
    allowed = _MULTI_MODES[channels]
    if mode is not None and mode not in allowed:
        raise ValueError(f"to_pil_image: only modes {list(allowed)} are supported for "
                         f"{channels}D inputs, got {mode!r}")
    if a.dtype != np.uint8:
        raise TypeError(f"to_pil_image: input type {a.dtype} is not supported for "
                        f"{channels} channels (expected uint8 or float)")
    return Image.frombytes(mode or allowed[0], (a.shape[1], a.shape[0]),
                           np.ascontiguousarray(a).tobytes())


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float],
              inplace: bool = False) -> Tensor:
    """``(tensor - mean) / std`` per channel of a float (..., C, H, W) tensor, with Ember
    ops (so it is differentiable).

    >>> normalize(ember.ones(3, 2, 2), [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]).sum().item()
    12.0
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"normalize: img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"normalize: input tensor should be a float tensor. Got "
                        f"{tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(f"normalize: expected tensor to be a tensor image of size (..., C, "
                         f"H, W). Got tensor.size() = {tuple(tensor.shape)}")
    dt = tensor._data.dtype
    m = np.asarray(mean, dtype=dt)
    s = np.asarray(std, dtype=dt)
    if 0 in s.ravel().tolist():
        raise ValueError(f"normalize: std evaluated to zero after conversion to "
                         f"{tensor.dtype}, leading to division by zero.")
    c = tensor.shape[-3]
    for name, v in (("mean", m), ("std", s)):
        if v.ndim > 1 or v.size not in (1, c):
            raise ValueError(f"normalize: {name} should have 1 or {c} (number of channels) "
                             f"values, got {v.size}")
    m, s = m.reshape(-1, 1, 1), s.reshape(-1, 1, 1)
    if not (inplace or tensor.requires_grad):      # no autograd or version to record
        return _make((tensor._data - m) / s)
    m, s = _make(m), _make(s)
    if inplace:
        return tensor.sub_(m).div_(s)
    return (tensor - m) / s
