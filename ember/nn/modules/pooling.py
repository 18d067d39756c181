"""Pooling layers: max, average and adaptive pooling in 1-D and 2-D.

They hold no parameters: each keeps its arguments as given (as PyTorch does, so that the
repr matches) and calls the matching function of ``ember.nn.functional``.
"""
from __future__ import annotations

from typing import Any

from ember.nn import functional as F
from ember.nn.modules.module import Module
from ember.tensor import Tensor

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


def _single(v: Any) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


class _MaxPoolNd(Module):
    """Max pooling; ``stride`` defaults to ``kernel_size``; ``return_indices`` also
    returns the flat per-plane index of each maximum."""

    _pool: Any

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Any:
        return self._pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, " \
               f"padding={self.padding}, dilation={self.dilation}, ceil_mode={self.ceil_mode}"


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling over an (N, C, L) or (C, L) input.

    >>> ember.nn.MaxPool1d(2)(ember.randn(1, 3, 8)).shape
    ember.Size([1, 3, 4])
    """

    _pool = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling over an (N, C, H, W) or (C, H, W) input.

    >>> ember.nn.MaxPool2d(3, stride=2, padding=1)(ember.randn(1, 3, 8, 8)).shape
    ember.Size([1, 3, 4, 4])
    """

    _pool = staticmethod(F.max_pool2d)


class _AvgPoolNd(Module):
    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling; padded zeros count in the divisor unless
    ``count_include_pad=False``.

    >>> ember.nn.AvgPool1d(2)(ember.randn(1, 3, 8)).shape
    ember.Size([1, 3, 4])
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(kernel_size if stride is None else stride)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling; ``divisor_override`` replaces the window size as divisor.

    >>> ember.nn.AvgPool2d(2)(ember.randn(1, 3, 8, 8)).shape
    ember.Size([1, 3, 4, 4])
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class _AdaptivePoolNd(Module):
    """Pooling to a fixed ``output_size`` (a None entry keeps that input size)."""

    _pool: Any

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return self._pool(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """Average over ``output_size`` adaptive windows of an (N, C, L) input.

    >>> ember.nn.AdaptiveAvgPool1d(2)(ember.randn(1, 3, 7)).shape
    ember.Size([1, 3, 2])
    """

    _pool = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Average over ``output_size`` adaptive windows of an (N, C, H, W) input.

    >>> ember.nn.AdaptiveAvgPool2d(1)(ember.randn(2, 3, 7, 7)).shape
    ember.Size([2, 3, 1, 1])
    """

    _pool = staticmethod(F.adaptive_avg_pool2d)


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Any:
        return self._pool(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max over ``output_size`` adaptive windows of an (N, C, L) input (and, with
    ``return_indices``, the index of each maximum).

    >>> ember.nn.AdaptiveMaxPool1d(2)(ember.randn(1, 3, 7)).shape
    ember.Size([1, 3, 2])
    """

    _pool = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max over ``output_size`` adaptive windows of an (N, C, H, W) input.

    >>> ember.nn.AdaptiveMaxPool2d((2, 3))(ember.randn(1, 3, 7, 7)).shape
    ember.Size([1, 3, 2, 3])
    """

    _pool = staticmethod(F.adaptive_max_pool2d)
