"""Unfold and Fold: extract sliding blocks of an image into columns (im2col) and sum
columns back into an image (col2im). Arguments are kept as given, as PyTorch does."""
from __future__ import annotations

from typing import Any

from ember.nn import functional as F
from ember.nn.modules.module import Module
from ember.tensor import Tensor

__all__ = ["Unfold", "Fold"]


def _blocks_repr(mod: Any) -> str:
    return f"kernel_size={mod.kernel_size}, dilation={mod.dilation}, " \
           f"padding={mod.padding}, stride={mod.stride}"


class Unfold(Module):
    """(N, C, H, W) or (C, H, W) -> (N, C * kH * kW, L): each column is one block.

    >>> ember.nn.Unfold(2)(ember.randn(1, 3, 4, 4)).shape
    ember.Size([1, 12, 9])
    """

    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return _blocks_repr(self)


class Fold(Module):
    """(N, C * kH * kW, L) or (C * kH * kW, L) -> (N, C, *output_size), summing where
    blocks overlap: the adjoint of :class:`Unfold`.

    >>> ember.nn.Fold(4, 2)(ember.randn(1, 12, 9)).shape
    ember.Size([1, 3, 4, 4])
    """

    def __init__(self, output_size: Any, kernel_size: Any, dilation: Any = 1,
                 padding: Any = 0, stride: Any = 1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, {_blocks_repr(self)}"
