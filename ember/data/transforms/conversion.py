"""Kind conversions (ToTensor, PILToTensor, ToPILImage) and Normalize."""
from __future__ import annotations

from typing import Any, Sequence

from ember.data.transforms import functional as F
from ember.nn import Module
from ember.tensor import Tensor


class ToTensor:
    """A PIL image or (H, W[, C]) uint8 array as a float32 (C, H, W) tensor in [0, 1].

    >>> import numpy as np
    >>> ToTensor()(np.full((2, 2, 3), 255, np.uint8)).max().item()
    1.0
    """

    def __call__(self, pic: Any) -> Tensor:
        return F.to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PILToTensor:
    """A PIL image as a (C, H, W) tensor of its pixel values (no scaling)."""

    def __call__(self, pic: Any) -> Tensor:
        return F.pil_to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ToPILImage:
    """A (C, H, W) tensor or (H, W[, C]) array as a PIL image (needs Pillow)."""

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic: Any) -> Any:
        return F.to_pil_image(pic, self.mode)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()" if self.mode is None else \
            f"{type(self).__name__}(mode={self.mode})"


class Normalize(Module):
    """``(x - mean) / std`` per channel of a float (..., C, H, W) tensor.

    >>> Normalize((0.1307,), (0.3081,))(ember.zeros(1, 2, 2)).shape
    ember.Size([1, 2, 2])
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float],
                 inplace: bool = False) -> None:
        super().__init__()
        self.mean, self.std, self.inplace = mean, std, inplace

    def forward(self, tensor: Tensor) -> Tensor:
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}"
