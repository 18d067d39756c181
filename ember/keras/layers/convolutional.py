"""Keras 3's convolution layers: Conv1D and Conv2D.

Tensors are channels-last like Keras (``(N, H, W, C)``) and kernels keep Keras's layout
(``(kh, kw, in_channels / groups, filters)``), so ``get_weights`` matches Keras. The
computation is ``ember.nn.functional.conv1d/conv2d`` between two permutes; ``padding=
'same'`` pads like TensorFlow (an odd total puts the extra pixel at the end).

>>> import ember
>>> from ember.keras.layers import Conv2D
>>> Conv2D(8, 3, padding="same")(ember.ones(2, 28, 28, 1)).shape
ember.Size([2, 28, 28, 8])
"""
from __future__ import annotations

from typing import Any

import numpy as np

import ember.nn.functional as F
from ember import Tensor
from ember.keras.layers._conv_utils import normalize_data_format, normalize_padding, \
    normalize_tuple, same_pads, to_channels_first, to_channels_last, torch_pad_order, \
    windowed_output_shape
from ember.keras.layers._kernel_bias import kernel_bias_config, set_kernel_bias_args
from ember.keras.layers.input_spec import InputSpec
from ember.keras.layers.layer import Layer

__all__ = ["Conv1D", "Conv2D"]


class _Conv(Layer):
    """N-d convolution over channels-last inputs (``rank`` spatial axes)."""

    rank = 2
    _paddings = ("valid", "same")

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = type(self).__name__
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) \
                or filters <= 0:
            raise ValueError(f"{who}: invalid value for argument `filters`. Expected a "
                             f"strictly positive value. Received filters={filters!r}.")
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) \
                or groups <= 0 or filters % groups:
            raise ValueError(f"{who}: the number of filters must be evenly divisible by "
                             f"the number of groups. Received: groups={groups!r}, "
                             f"filters={filters}.")
        self.filters, self.groups = int(filters), int(groups)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size", who)
        self.strides = normalize_tuple(strides, self.rank, "strides", who)
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate", who)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: `strides > 1` not supported in conjunction with "
                             f"`dilation_rate > 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.padding = normalize_padding(padding, who, self._paddings)
        self.data_format = normalize_data_format(data_format, who)
        set_kernel_bias_args(self, activation, use_bias, kernel_initializer,
                             bias_initializer, kernel_regularizer, bias_regularizer,
                             kernel_constraint, bias_constraint)
        self.input_spec = InputSpec(min_ndim=self.rank + 2)

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape: tuple) -> None:
        channels = input_shape[self._channel_axis]
        who = f'Layer "{self.name}" ({type(self).__name__})'
        if channels is None:
            raise ValueError(f"{who}: the channel dimension of the inputs should be "
                             f"defined. Found None. Full input shape received: "
                             f"{tuple(input_shape)}")
        if channels % self.groups:
            raise ValueError(f"{who}: the number of input channels must be evenly divisible "
                             f"by the number of groups. Received groups={self.groups}, but "
                             f"the input has {channels} channels (full input shape is "
                             f"{tuple(input_shape)}).")
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels // self.groups, self.filters),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})

    def _padding_for(self, spatial: tuple) -> tuple[list[int] | None, Any]:
        """(explicit pads for F.pad or None, the conv's own symmetric padding)."""
        if self.padding == "valid":
            return None, 0
        if self.padding == "causal":
            return [(self.kernel_size[0] - 1) * self.dilation_rate[0], 0], 0
        pads = [same_pads(n, k, s, d) for n, k, s, d in
                zip(spatial, self.kernel_size, self.strides, self.dilation_rate)]
        if all(before == after for before, after in pads):
            return None, tuple(before for before, _ in pads)
        return torch_pad_order(pads), 0

    def _output_shape(self, input_shape: tuple) -> tuple:
        """Keras's output shape, ``filters`` channels; a window that does not fit raises.
        (Conv1D/Conv2D expose it as ``compute_output_shape``; subclasses with other output
        channels, e.g. a depthwise convolution, do not inherit it.)"""
        return windowed_output_shape(self, input_shape, self.kernel_size, self.strides,
                                     self.dilation_rate, self.filters)

    def call(self, inputs: Tensor) -> Tensor:
        self._output_shape(tuple(inputs.shape))      # a window too big: Keras's error
        channels_last = self.data_format == "channels_last"
        x = to_channels_first(inputs, self.rank) if channels_last else inputs
        explicit, padding = self._padding_for(tuple(x.shape[2:]))
        if explicit is not None:
            x = F.pad(x, explicit)
        # Keras (k..., in, out) -> PyTorch (out, in, k...)
        weight = self.kernel.permute(self.rank + 1, self.rank, *range(self.rank))
        conv = F.conv1d if self.rank == 1 else F.conv2d
        y = conv(x, weight, self.bias, self.strides, padding, self.dilation_rate, self.groups)
        if channels_last:
            y = to_channels_last(y, self.rank)
        return self.activation(y)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups,
                **kernel_bias_config(self)}


class Conv1D(_Conv):
    """1-D convolution over ``(N, steps, channels)``; ``padding`` may also be ``'causal'``
    (left padding only, so output ``t`` sees inputs up to ``t``)."""

    rank = 1
    _paddings = ("valid", "same", "causal")
    compute_output_shape = _Conv._output_shape


class Conv2D(_Conv):
    """2-D convolution over ``(N, H, W, C)`` with a ``(kh, kw, C / groups, filters)`` kernel."""

    rank = 2
    compute_output_shape = _Conv._output_shape
