"""Geometric transforms: resizing, cropping, padding, flipping and rotation, with
torchvision's arguments, defaults and random sampling. Random draws come from Ember's
default generator, so ``ember.manual_seed`` makes them reproducible."""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Sequence

from ember.data.transforms import functional as F
from ember.data.transforms._image import InterpolationMode, interpolation_mode, pair, \
    size_hw
from ember.nn import Module
from ember.random import get as _generator


def _coin(p: float) -> bool:
    return _generator(None).random() < p


def _check_p(p: float, cls: str) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{cls}: p should be a probability in [0, 1], got {p}")
    return p


class Resize(Module):
    """Resize to ``size`` = (h, w), or make the smaller edge ``size`` if it is an int
    (keeping the aspect ratio; ``max_size`` caps the longer edge).

    >>> import numpy as np
    >>> Resize(14)(np.zeros((28, 56), np.uint8)).shape
    (14, 28)
    """

    def __init__(self, size: Any, interpolation: Any = InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool | None = True) -> None:
        super().__init__()
        if not isinstance(size, (int, Sequence)):
            raise TypeError(f"Resize: size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError(f"Resize: if size is a sequence, it should have 1 or 2 values, "
                             f"got {size!r}")
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = interpolation_mode(interpolation, "Resize")

    def forward(self, img: Any) -> Any:
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def extra_repr(self) -> str:
        return (f"size={self.size}, interpolation={self.interpolation.value}, "
                f"max_size={self.max_size}, antialias={self.antialias}")


class CenterCrop(Module):
    """The central ``size`` (int or (h, w)) window, zero-padded if the image is smaller.

    >>> import numpy as np
    >>> CenterCrop(24)(np.zeros((28, 28), np.uint8)).shape
    (24, 24)
    """

    def __init__(self, size: Any) -> None:
        super().__init__()
        self.size = pair(size, "size", "CenterCrop")

    def forward(self, img: Any) -> Any:
        return F.center_crop(img, self.size)

    def extra_repr(self) -> str:
        return f"size={self.size}"


class Pad(Module):
    """Pad the borders (see :func:`functional.pad` for ``padding`` and the modes)."""

    def __init__(self, padding: Any, fill: Any = 0, padding_mode: str = "constant") -> None:
        super().__init__()
        F._parse_padding(padding)
        if padding_mode not in F._PADDING_MODES:
            raise ValueError(f"Pad: padding_mode should be constant, edge, reflect or "
                             f"symmetric, got {padding_mode!r}")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def forward(self, img: Any) -> Any:
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode}"


class RandomCrop(Module):
    """A random ``size`` window, after optional ``padding`` (and padding up to ``size``
    when ``pad_if_needed``).

    >>> import numpy as np
    >>> RandomCrop(28, padding=4)(np.zeros((28, 28), np.uint8)).shape
    (28, 28)
    """

    def __init__(self, size: Any, padding: Any = None, pad_if_needed: bool = False,
                 fill: Any = 0, padding_mode: str = "constant") -> None:
        super().__init__()
        self.size = pair(size, "size", "RandomCrop")
        if padding is not None:
            F._parse_padding(padding)
        if padding_mode not in F._PADDING_MODES:
            raise ValueError(f"RandomCrop: padding_mode should be constant, edge, reflect or "
                             f"symmetric, got {padding_mode!r}")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    @staticmethod
    def get_params(img: Any, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(top, left, height, width) of a uniformly drawn crop of ``output_size``."""
        h, w = size_hw(img, "RandomCrop")
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than input "
                             f"image size {(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        g = _generator(None)
        return int(g.integers(0, h - th + 1)), int(g.integers(0, w - tw + 1)), th, tw

    def forward(self, img: Any) -> Any:
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        h, w = size_hw(img, "RandomCrop")
        if self.pad_if_needed and w < self.size[1]:
            img = F.pad(img, [self.size[1] - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < self.size[0]:
            img = F.pad(img, [0, self.size[0] - h], self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))

    def extra_repr(self) -> str:
        return f"size={self.size}, padding={self.padding}"


class RandomHorizontalFlip(Module):
    """Mirror left to right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = _check_p(p, "RandomHorizontalFlip")

    def forward(self, img: Any) -> Any:
        return F.hflip(img) if _coin(self.p) else img

    def extra_repr(self) -> str:
        return f"p={self.p}"


class RandomVerticalFlip(Module):
    """Flip top to bottom with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = _check_p(p, "RandomVerticalFlip")

    def forward(self, img: Any) -> Any:
        return F.vflip(img) if _coin(self.p) else img

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _degrees(degrees: Any) -> tuple[float, float]:
    if isinstance(degrees, numbers.Number):
        if degrees < 0:
            raise ValueError(f"RandomRotation: if degrees is a single number, it must be "
                             f"positive, got {degrees}")
        return -float(degrees), float(degrees)
    if not isinstance(degrees, Sequence) or len(degrees) != 2:
        raise ValueError(f"RandomRotation: if degrees is a sequence, it must be of len 2, "
                         f"got {degrees!r}")
    return float(degrees[0]), float(degrees[1])


class RandomRotation(Module):
    """Rotate by an angle drawn uniformly from ``degrees`` (d means (-d, d)).

    >>> import numpy as np
    >>> RandomRotation(15)(np.zeros((28, 28), np.uint8)).shape
    (28, 28)
    """

    def __init__(self, degrees: Any, interpolation: Any = InterpolationMode.NEAREST,
                 expand: bool = False, center: Sequence[float] | None = None,
                 fill: Any = 0) -> None:
        super().__init__()
        self.degrees = _degrees(degrees)
        if center is not None and (not isinstance(center, Sequence) or len(center) != 2):
            raise ValueError(f"RandomRotation: center should be a sequence of length 2, got "
                             f"{center!r}")
        if fill is None or not isinstance(fill, (numbers.Number, Sequence)):
            raise TypeError(f"RandomRotation: fill should be a number or a sequence of "
                            f"numbers, got {fill!r}")
        self.interpolation = interpolation_mode(interpolation, "RandomRotation")
        self.expand, self.center, self.fill = expand, center, fill

    @staticmethod
    def get_params(degrees: Sequence[float]) -> float:
        """An angle drawn uniformly from [degrees[0], degrees[1]]."""
        return float(_generator(None).uniform(degrees[0], degrees[1]))

    def forward(self, img: Any) -> Any:
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)

    def extra_repr(self) -> str:
        return (f"degrees={list(self.degrees)}, interpolation={self.interpolation.value}, "
                f"expand={self.expand}, fill={self.fill}")


def _range(value: Any, name: str, cls: str) -> tuple[float, float]:
    if not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"{cls}: {name} should be a sequence of two numbers (min, max), got "
                        f"{value!r}")
    return float(value[0]), float(value[1])


class RandomResizedCrop(Module):
    """A random crop of random area (``scale``, a fraction of the image) and aspect ratio
    (``ratio``, width / height), resized to ``size``.

    >>> import numpy as np
    >>> RandomResizedCrop(16)(np.zeros((32, 32, 3), np.uint8)).shape
    (16, 16, 3)
    """

    def __init__(self, size: Any, scale: Sequence[float] = (0.08, 1.0),
                 ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
                 interpolation: Any = InterpolationMode.BILINEAR,
                 antialias: bool | None = True) -> None:
        super().__init__()
        self.size = pair(size, "size", "RandomResizedCrop")
        self.scale = _range(scale, "scale", "RandomResizedCrop")
        self.ratio = _range(ratio, "ratio", "RandomResizedCrop")
        if self.scale[0] > self.scale[1] or self.ratio[0] > self.ratio[1]:
            warnings.warn("RandomResizedCrop: scale and ratio should be of kind (min, max)",
                          stacklevel=2)
        self.interpolation = interpolation_mode(interpolation, "RandomResizedCrop")
        self.antialias = antialias

    @staticmethod
    def get_params(img: Any, scale: Sequence[float],
                   ratio: Sequence[float]) -> tuple[int, int, int, int]:
        """(top, left, height, width): up to 10 draws of an area fraction (uniform in
        ``scale``) and an aspect ratio (log-uniform in ``ratio``) until the crop fits,
        else a central crop with the ratio clamped into ``ratio``."""
        height, width = size_hw(img, "RandomResizedCrop")
        area = height * width
        g = _generator(None)
        log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
        for _ in range(10):
            target = area * g.uniform(scale[0], scale[1])
            aspect = math.exp(g.uniform(log_lo, log_hi))
            w = int(round(math.sqrt(target * aspect)))
            h = int(round(math.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return int(g.integers(0, height - h + 1)), int(g.integers(0, width - w + 1)), \
                    h, w
        in_ratio = width / height
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def forward(self, img: Any) -> Any:
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, list(self.size), self.interpolation,
                              self.antialias)

    def extra_repr(self) -> str:
        return (f"size={self.size}, scale={self.scale}, ratio={self.ratio}, "
                f"interpolation={self.interpolation.value}, antialias={self.antialias}")
