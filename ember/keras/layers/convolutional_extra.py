"""Keras 3's Conv2DTranspose, DepthwiseConv2D and SeparableConv2D.

Like Conv2D (whose argument checks and TensorFlow 'same' padding they share), tensors are
channels-last by default and kernels keep Keras's layouts, so ``get_weights`` matches
Keras: Conv2DTranspose ``(kh, kw, filters, in_channels)``, DepthwiseConv2D
``(kh, kw, in_channels, depth_multiplier)``, SeparableConv2D a depthwise kernel
``(kh, kw, in_channels, depth_multiplier)`` then a pointwise one
``(1, 1, in_channels * depth_multiplier, filters)``. The math is Ember's
``conv_transpose2d`` / grouped ``conv2d``.

>>> import ember
>>> from ember.keras.layers.convolutional_extra import Conv2DTranspose
>>> Conv2DTranspose(4, 3, strides=2, padding="same")(ember.ones(1, 5, 5, 2)).shape
ember.Size([1, 10, 10, 4])
"""
from __future__ import annotations

from typing import Any

import numpy as np

import ember.nn.functional as F
from ember import Tensor
from ember.keras import constraints, initializers, regularizers
from ember.keras.layers._conv_utils import normalize_tuple, same_pads, to_channels_first, \
    to_channels_last
from ember.keras.layers.convolutional import _Conv
from ember.keras.layers.input_spec import InputSpec

__all__ = ["Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]


def _transpose_length(n: int, kernel: int, stride: int, dilation: int, padding: str,
                      output_padding: int | None) -> int:
    """Keras's output length of a transposed convolution along one axis."""
    span = (kernel - 1) * dilation + 1
    if output_padding is None:
        return n * stride + (max(span - stride, 0) if padding == "valid" else 0)
    pad = span // 2 if padding == "same" else 0
    return (n - 1) * stride + span - 2 * pad + output_padding


def _input_channels(layer: _Conv, input_shape: tuple) -> int:
    """The inputs' channel count (which must be known); fixes the layer's input spec."""
    channels = input_shape[layer._channel_axis]
    if channels is None:
        raise ValueError(f'Layer "{layer.name}" ({type(layer).__name__}): the channel '
                         f"dimension of the inputs should be defined. Found None. Full "
                         f"input shape received: {tuple(input_shape)}")
    layer.input_spec = InputSpec(ndim=4, axes={layer._channel_axis: channels})
    return int(channels)


def _add_bias(layer: _Conv, size: int) -> None:
    layer.bias = None
    if layer.use_bias:
        layer.bias = layer.add_weight(shape=(size,), initializer=layer.bias_initializer,
                                      regularizer=layer.bias_regularizer,
                                      constraint=layer.bias_constraint, name="bias")


def _finish(layer: _Conv, y: Tensor) -> Tensor:
    if layer.data_format == "channels_last":
        y = to_channels_last(y, 2)
    return layer.activation(y)


class Conv2DTranspose(_Conv):
    """The transpose (gradient) of Conv2D: upsamples ``(N, H, W, C)`` by ``strides``.
    'same' gives ``H * strides`` rows and 'valid' ``H * strides + max(kh - strides, 0)``
    (Keras's rule; ``output_padding`` adds rows as in Keras); the crop of the full
    transposed convolution is TensorFlow's: the 'same' padding of the forward convolution
    whose input has the output's size.

    >>> import ember
    >>> Conv2DTranspose(2, 3)(ember.ones(1, 4, 4, 1)).shape
    ember.Size([1, 6, 6, 2])
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", output_padding: Any = None,
                 data_format: str | None = None, dilation_rate: Any = (1, 1),
                 activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         1, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = normalize_tuple(output_padding, 2, "output_padding",
                                                  "Conv2DTranspose", allow_zero=True)
            for s, p in zip(self.strides, self.output_padding):
                if p >= s:
                    raise ValueError(f"Conv2DTranspose: strides {self.strides} must be "
                                     f"greater than output padding {self.output_padding}.")

    def build(self, input_shape: tuple) -> None:
        channels = _input_channels(self, input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        _add_bias(self, self.filters)

    def _output_sizes(self, spatial: tuple) -> tuple[int, int]:
        pads = self.output_padding or (None, None)
        return tuple(_transpose_length(n, k, s, d, self.padding, p) for n, k, s, d, p in
                     zip(spatial, self.kernel_size, self.strides, self.dilation_rate, pads))

    def call(self, inputs: Tensor) -> Tensor:
        x = to_channels_first(inputs, 2) if self.data_format == "channels_last" else inputs
        sizes = self._output_sizes(tuple(x.shape[2:]))
        # Keras (kh, kw, out, in) -> PyTorch (in, out, kh, kw)
        y = F.conv_transpose2d(x, self.kernel.permute(3, 2, 0, 1), None, self.strides,
                               dilation=self.dilation_rate)
        pads = []                                    # F.pad order: width first
        for axis in (1, 0):
            before = same_pads(sizes[axis], self.kernel_size[axis], self.strides[axis],
                               self.dilation_rate[axis])[0] if self.padding == "same" else 0
            after = sizes[axis] - (y.shape[2 + axis] - before)
            pads += [-before, after]
        if any(pads):
            y = F.pad(y, pads)
        if self.bias is not None:
            y = y + self.bias.reshape(1, -1, 1, 1)
        return _finish(self, y)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        first = self.data_format == "channels_first"
        spatial = tuple(input_shape[2:] if first else input_shape[1:3])
        sizes = tuple(None if n is None else s for n, s in
                      zip(spatial, self._output_sizes(tuple(n or 1 for n in spatial))))
        if first:
            return (input_shape[0], self.filters) + sizes
        return (input_shape[0],) + sizes + (self.filters,)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["groups"]
        config["output_padding"] = None if self.output_padding is None else \
            list(self.output_padding)
        return config


def _check_depth_multiplier(value: Any, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{layer}: invalid value for argument `depth_multiplier`. Expected "
                         f"a strictly positive value. Received depth_multiplier={value!r}.")
    return int(value)


def _depthwise(layer: _Conv, inputs: Tensor, kernel: Tensor, bias: Tensor | None) -> Tensor:
    """Channels-first result of convolving each input channel with its own
    ``depth_multiplier`` filters (output channel ``c * depth_multiplier + m``)."""
    x = to_channels_first(inputs, 2) if layer.data_format == "channels_last" else inputs
    explicit, padding = layer._padding_for(tuple(x.shape[2:]))
    if explicit is not None:
        x = F.pad(x, explicit)
    kh, kw, channels, multiplier = kernel.shape
    weight = kernel.reshape(kh, kw, channels * multiplier).permute(2, 0, 1).unsqueeze(1)
    return F.conv2d(x, weight, bias, layer.strides, padding, layer.dilation_rate, channels)


class DepthwiseConv2D(_Conv):
    """Convolve each input channel separately with ``depth_multiplier`` filters; the
    kernel is ``(kh, kw, in_channels, depth_multiplier)`` and the output has
    ``in_channels * depth_multiplier`` channels.

    >>> import ember
    >>> DepthwiseConv2D(3, depth_multiplier=2)(ember.ones(1, 5, 5, 4)).shape
    ember.Size([1, 3, 3, 8])
    """

    def __init__(self, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate: Any = (1, 1), activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", depthwise_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 depthwise_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        self.depth_multiplier = _check_depth_multiplier(depth_multiplier, "DepthwiseConv2D")
        super().__init__(self.depth_multiplier, kernel_size, strides, padding, data_format,
                         dilation_rate, 1, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint,
                         **kwargs)

    def build(self, input_shape: tuple) -> None:
        channels = _input_channels(self, input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="kernel")
        _add_bias(self, channels * self.depth_multiplier)

    def call(self, inputs: Tensor) -> Tensor:
        return _finish(self, _depthwise(self, inputs, self.kernel, self.bias))

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("filters", "groups"):
            del config[key]
        for part in ("initializer", "regularizer", "constraint"):
            config[f"depthwise_{part}"] = config.pop(f"kernel_{part}")
        config["depth_multiplier"] = self.depth_multiplier
        return config


class SeparableConv2D(_Conv):
    """A depthwise convolution (``depthwise_kernel`` ``(kh, kw, in, depth_multiplier)``,
    carrying ``strides``/``padding``/``dilation_rate``) followed by a 1x1 convolution to
    ``filters`` channels (``pointwise_kernel`` ``(1, 1, in * depth_multiplier, filters)``)
    and the bias.

    >>> import ember
    >>> SeparableConv2D(6, 3, padding="same")(ember.ones(1, 5, 5, 4)).shape
    ember.Size([1, 5, 5, 6])
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: Any = (1, 1), depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", depthwise_regularizer: Any = None,
                 pointwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None,
                 pointwise_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        self.depth_multiplier = _check_depth_multiplier(depth_multiplier, "SeparableConv2D")
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         1, activation, use_bias, depthwise_initializer, bias_initializer,
                         depthwise_regularizer, bias_regularizer, activity_regularizer,
                         depthwise_constraint, bias_constraint, **kwargs)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape: tuple) -> None:
        channels = _input_channels(self, input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1, 1, channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        _add_bias(self, self.filters)

    def call(self, inputs: Tensor) -> Tensor:
        y = _depthwise(self, inputs, self.depthwise_kernel, None)
        y = F.conv2d(y, self.pointwise_kernel.permute(3, 2, 0, 1), self.bias)
        return _finish(self, y)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["groups"]
        for part in ("initializer", "regularizer", "constraint"):
            config[f"depthwise_{part}"] = config.pop(f"kernel_{part}")
        config.update(
            depth_multiplier=self.depth_multiplier,
            pointwise_initializer=initializers.serialize(self.pointwise_initializer),
            pointwise_regularizer=regularizers.serialize(self.pointwise_regularizer),
            pointwise_constraint=constraints.serialize(self.pointwise_constraint))
        return config
