"""Convolution layers: Conv1d, Conv2d and their transposes ConvTranspose1d/2d.

Each layer holds PyTorch's attributes (``kernel_size``, ``stride``... as tuples), a
``weight`` of PyTorch's shape and an optional ``bias``, and calls the matching function
of ``ember.nn.functional`` in ``forward``.
"""
from __future__ import annotations

import math
from typing import Any

import ember
from ember.nn import functional as F
import ember.nn.init as init
from ember.nn.modules._bias import register_bias, uniform_bias
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value: Any, n: int, what: str, layer: str) -> tuple:
    """``value`` (an int or a sequence of ``n`` ints) as an ``n``-tuple of ints."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{layer}: {what} must be an int or a tuple of {n} ints, got "
                             f"{tuple(value)}")
        return tuple(value)
    return (value,) * n


class _ConvNd(Module):
    """Shared constructor, initialization and repr of the convolution layers."""

    _nd: int
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any,
                 padding: Any, dilation: Any, groups: int, bias: bool, padding_mode: str,
                 output_padding: Any = 0, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        layer, nd = type(self).__name__, self._nd
        if groups <= 0:
            raise ValueError(f"{layer}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{layer}: in_channels must be divisible by groups, got "
                             f"in_channels={in_channels}, groups={groups}")
        if out_channels % groups:
            raise ValueError(f"{layer}: out_channels must be divisible by groups, got "
                             f"out_channels={out_channels}, groups={groups}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, nd, "kernel_size", layer)
        self.stride = _ntuple(stride, nd, "stride", layer)
        self.padding = self._check_padding(padding, padding_mode, layer)
        self.dilation = _ntuple(dilation, nd, "dilation", layer)
        self.output_padding = _ntuple(output_padding, nd, "output_padding", layer)
        self.groups = groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = self._pad_amounts()
        shape = (in_channels, out_channels // groups) if self.transposed else \
            (out_channels, in_channels // groups)
        self.weight = Parameter(ember.empty(shape + self.kernel_size, dtype=dtype,
                                            device=device))
        register_bias(self, out_channels, bias, device, dtype)
        self.reset_parameters()

    def _check_padding(self, padding: Any, padding_mode: str, layer: str) -> Any:
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{layer}: padding_mode must be one of {set(_PADDING_MODES)}, but "
                             f"got padding_mode='{padding_mode}'")
        if not isinstance(padding, str):
            return _ntuple(padding, self._nd, "padding", layer)
        if padding not in ("same", "valid"):
            raise ValueError(f"{layer}: Invalid padding string {padding!r}, should be one of "
                             f"{{'same', 'valid'}}")
        if padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError(f"{layer}: padding='same' is not supported for strided "
                             f"convolutions, got stride={self.stride}")
        return padding

    def _pad_amounts(self) -> list:
        """The padding as ``F.pad`` amounts (last dim first), for non-zero padding modes;
        'same' puts the odd pixel at the end, as ``F.conv2d`` does."""
        if self.padding == "valid":
            return [0, 0] * self._nd
        if self.padding == "same":
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            pairs = [(t // 2, t - t // 2) for t in totals]
        else:
            pairs = [(p, p) for p in self.padding]
        return [v for pair in reversed(pairs) for v in pair]

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming-uniform weight (a=sqrt(5)), bias uniform in
        +-1/sqrt(fan_in)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        uniform_bias(self.bias, init._calculate_fan_in_and_fan_out(self.weight)[0])

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
            f"stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    """A convolution; non-zero padding modes pad with ``F.pad`` first."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype)

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode == "zeros":
            return self._conv(input, self.weight, self.bias, self.stride, self.padding,
                              self.dilation, self.groups)
        padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        return self._conv(padded, self.weight, self.bias, self.stride, 0, self.dilation,
                          self.groups)


class Conv1d(_Conv):
    """1-D convolution over an (N, C_in, L) or (C_in, L) input; weight
    (C_out, C_in/groups, k).

    >>> ember.nn.Conv1d(2, 4, 3, padding=1)(ember.randn(1, 2, 10)).shape
    ember.Size([1, 4, 10])
    """

    _nd = 1
    _conv = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-D convolution over an (N, C_in, H, W) or (C_in, H, W) input; weight
    (C_out, C_in/groups, kH, kW); ``padding`` may be an int, a pair, 'same' or 'valid'.

    >>> ember.nn.Conv2d(3, 8, 3, padding=1)(ember.randn(1, 3, 6, 6)).shape
    ember.Size([1, 8, 6, 6])
    """

    _nd = 2
    _conv = staticmethod(F.conv2d)


class _ConvTranspose(_ConvNd):
    """A transposed convolution; ``forward(input, output_size)`` picks the output padding
    that yields the requested size."""

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                 bias: bool = True, dilation: Any = 1, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f'{type(self).__name__}')
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of "
                             f"ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device=device,
                         dtype=dtype)

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple:
        if output_size is None:
            return self.output_padding
        nd = self._nd
        lead = 2 if input.ndim == nd + 2 else 1
        size = tuple(output_size)
        if len(size) == lead + nd:
            size = size[lead:]
        if len(size) != nd:
            raise ValueError(f"ConvTranspose{nd}D: for {input.ndim}D input, output_size must "
                             f"have {nd} or {lead + nd} elements (got {len(size)})")
        smallest = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                    zip(input.shape[lead:], self.stride, self.padding, self.dilation,
                        self.kernel_size)]
        largest = [lo + s - 1 for lo, s in zip(smallest, self.stride)]
        if any(not lo <= n <= hi for n, lo, hi in zip(size, smallest, largest)):
            raise ValueError(f"{type(self).__name__}: requested an output size of "
                             f"{list(size)}, but valid sizes range from {smallest} to "
                             f"{largest} (for an input of {list(input.shape[lead:])})")
        return tuple(n - lo for n, lo in zip(size, smallest))

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        return self._conv(input, self.weight, self.bias, self.stride, self.padding,
                          self._output_padding(input, output_size), self.groups,
                          self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution (the gradient of Conv1d w.r.t. its input); weight
    (C_in, C_out/groups, k).

    >>> ember.nn.ConvTranspose1d(4, 2, 3, stride=2)(ember.randn(1, 4, 5)).shape
    ember.Size([1, 2, 11])
    """

    _nd = 1
    _conv = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution; weight (C_in, C_out/groups, kH, kW).

    >>> ember.nn.ConvTranspose2d(4, 2, 3, stride=2)(ember.randn(1, 4, 5, 5)).shape
    ember.Size([1, 2, 11, 11])
    """

    _nd = 2
    _conv = staticmethod(F.conv_transpose2d)
