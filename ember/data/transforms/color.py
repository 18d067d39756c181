"""ColorJitter: random brightness, contrast, saturation and hue, in a random order."""
from __future__ import annotations

import numbers
from typing import Any

from ember.data.transforms import functional as F
from ember.nn import Module
from ember.random import get as _generator


def _check_input(value: Any, name: str, center: float = 1.0,
                 bound: tuple = (0, float("inf")), clip_first_on_zero: bool = True):
    """A factor range from a number (``center`` +- value) or a (min, max) pair; None when
    it can only give ``center`` (the adjustment is then skipped)."""
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"ColorJitter: if {name} is a single number, it must be non "
                             f"negative, got {value}")
        value = [center - float(value), center + float(value)]
        if clip_first_on_zero:
            value[0] = max(value[0], 0.0)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        value = [float(value[0]), float(value[1])]
    else:
        raise TypeError(f"ColorJitter: {name} should be a single number or a list/tuple with "
                        f"length 2, got {value!r}")
    if not bound[0] <= value[0] <= value[1] <= bound[1]:
        raise ValueError(f"ColorJitter: {name} values should be between {bound}, but got "
                         f"{value}.")
    return None if value[0] == value[1] == center else tuple(value)


class ColorJitter(Module):
    """Randomly change brightness, contrast, saturation and hue. Each of the first three
    is a number f (factor drawn from [max(0, 1 - f), 1 + f]) or a (min, max) pair; ``hue``
    is h in [0, 0.5] (shift from [-h, h]) or a pair within [-0.5, 0.5]. The four
    adjustments run in a random order.

    >>> import numpy as np
    >>> ColorJitter(0.4, 0.4, 0.4, 0.1)(np.zeros((8, 8, 3), np.uint8)).shape
    (8, 8, 3)
    """

    def __init__(self, brightness: Any = 0, contrast: Any = 0, saturation: Any = 0,
                 hue: Any = 0) -> None:
        super().__init__()
        self.brightness = _check_input(brightness, "brightness")
        self.contrast = _check_input(contrast, "contrast")
        self.saturation = _check_input(saturation, "saturation")
        self.hue = _check_input(hue, "hue", center=0, bound=(-0.5, 0.5),
                                clip_first_on_zero=False)

    @staticmethod
    def get_params(brightness: tuple | None, contrast: tuple | None,
                   saturation: tuple | None, hue: tuple | None) -> tuple:
        """(order of the four adjustments, brightness, contrast, saturation, hue factors);
        a factor is None where its range is None."""
        g = _generator(None)
        order = [int(i) for i in g.permutation(4)]
        factors = [None if r is None else float(g.uniform(r[0], r[1]))
                   for r in (brightness, contrast, saturation, hue)]
        return (order, *factors)

    def forward(self, img: Any) -> Any:
        order, *factors = self.get_params(self.brightness, self.contrast, self.saturation,
                                          self.hue)
        adjust = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        for i in order:
            if factors[i] is not None:
                img = adjust[i](img, factors[i])
        return img

    def extra_repr(self) -> str:
        return (f"brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue}")
