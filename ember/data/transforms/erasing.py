"""RandomErasing: blank a random rectangle of a (..., C, H, W) tensor (Zhong et al. 2017)."""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Sequence

from ember.data.transforms import functional as F
from ember.nn import Module
from ember.ops.creation import tensor as _tensor
from ember.random import get as _generator
from ember.tensor import Tensor, _make


class RandomErasing(Module):
    """With probability ``p``, set a random rectangle of area fraction in ``scale`` and
    aspect ratio (height / width) in ``ratio`` to ``value``: a number, one number per
    channel, or 'random' (standard normal noise).

    >>> RandomErasing(p=1.0)(ember.ones(3, 32, 32)).shape
    ember.Size([3, 32, 32])
    """

    def __init__(self, p: float = 0.5, scale: Sequence[float] = (0.02, 0.33),
                 ratio: Sequence[float] = (0.3, 3.3), value: Any = 0,
                 inplace: bool = False) -> None:
        super().__init__()
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("RandomErasing: argument value should be either a number or str "
                            f"or a sequence, got {value!r}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: if value is str, it should be 'random', got "
                             f"{value!r}")
        if not isinstance(scale, Sequence):
            raise TypeError(f"RandomErasing: scale should be a sequence, got {scale!r}")
        if not isinstance(ratio, Sequence):
            raise TypeError(f"RandomErasing: ratio should be a sequence, got {ratio!r}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("RandomErasing: scale and ratio should be of kind (min, max)",
                          stacklevel=2)
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError(f"RandomErasing: scale should be between 0 and 1, got {scale}")
        if not 0 <= p <= 1:
            raise ValueError(f"RandomErasing: random erasing probability should be between 0 "
                             f"and 1, got {p}")
        self.p, self.scale, self.ratio = p, scale, ratio
        self.value, self.inplace = value, inplace

    @staticmethod
    def get_params(img: Tensor, scale: Sequence[float], ratio: Sequence[float],
                   value: list[float] | None = None) -> tuple:
        """(top, left, height, width, fill): up to 10 draws of an area fraction (uniform in
        ``scale``) and aspect ratio (log-uniform in ``ratio``) until the rectangle fits
        strictly inside; otherwise the whole image and the image itself (no change)."""
        c, img_h, img_w = img.shape[-3], img.shape[-2], img.shape[-1]
        area = img_h * img_w
        g = _generator(None)
        log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
        for _ in range(10):
            erase_area = area * g.uniform(scale[0], scale[1])
            aspect = math.exp(g.uniform(log_lo, log_hi))
            h = int(round(math.sqrt(erase_area * aspect)))
            w = int(round(math.sqrt(erase_area / aspect)))
            if not (h < img_h and w < img_w):
                continue
            if value is None:
                v = _make(g.standard_normal((c, h, w), dtype="float32"))
            else:
                v = _tensor(value, dtype="float32")[:, None, None]
            i = int(g.integers(0, img_h - h + 1))
            j = int(g.integers(0, img_w - w + 1))
            return i, j, h, w, v
        return 0, 0, img_h, img_w, img

    def forward(self, img: Tensor) -> Tensor:
        if not isinstance(img, Tensor):
            raise TypeError(f"RandomErasing: img should be Tensor Image. Got {type(img)}")
        if img.ndim < 3:
            raise ValueError(f"RandomErasing: expected a tensor image of shape (..., C, H, W), "
                             f"got shape {tuple(img.shape)}")
        if _generator(None).random() >= self.p:
            return img
        if isinstance(self.value, numbers.Number):
            value = [float(self.value)]
        elif isinstance(self.value, str):
            value = None
        else:
            value = [float(v) for v in self.value]
        if value is not None and len(value) not in (1, img.shape[-3]):
            raise ValueError(f"RandomErasing: if value is a sequence, it should have either a "
                             f"single value or {img.shape[-3]} (number of input channels), "
                             f"got {len(value)}")
        i, j, h, w, v = self.get_params(img, self.scale, self.ratio, value)
        return F.erase(img, i, j, h, w, v, self.inplace)

    def extra_repr(self) -> str:
        return (f"p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value}, "
                f"inplace={self.inplace}")
