"""Keras 3's pooling layers: Max/AveragePooling1D/2D and the global poolings.

Channels-last like Keras; the windows go through ``ember.nn.functional``'s pools between
two permutes. ``padding='same'`` pads like TensorFlow: padded positions never win a max
and are not counted in an average.

>>> import ember
>>> from ember.keras.layers import MaxPooling2D
>>> MaxPooling2D()(ember.ones(2, 28, 28, 3)).shape
ember.Size([2, 14, 14, 3])
"""
from __future__ import annotations

from typing import Any

import ember
import ember.nn.functional as F
from ember import Tensor
from ember.keras.layers._conv_utils import normalize_data_format, normalize_padding, \
    normalize_tuple, same_pads, to_channels_first, to_channels_last, torch_pad_order, \
    windowed_output_shape
from ember.keras.layers.input_spec import InputSpec
from ember.keras.layers.layer import Layer

__all__ = ["MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D"]


class _Pooling(Layer):
    rank = 2
    mode = "max"

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        who = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", who)
        self.strides = self.pool_size if strides is None else \
            normalize_tuple(strides, self.rank, "strides", who)
        self.padding = normalize_padding(padding, who)
        self.data_format = normalize_data_format(data_format, who)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _pool(self, x: Tensor) -> Tensor:
        max_pool = F.max_pool1d if self.rank == 1 else F.max_pool2d
        avg_pool = F.avg_pool1d if self.rank == 1 else F.avg_pool2d
        k, s = self.pool_size, self.strides
        if self.padding == "valid":
            return (max_pool if self.mode == "max" else avg_pool)(x, k, s)
        pads = torch_pad_order([same_pads(n, kk, ss) for n, kk, ss in
                                zip(x.shape[2:], k, s)])
        if self.mode == "max":
            return max_pool(F.pad(x, pads, value=float("-inf")), k, s)
        # average of the real positions only: pool the padded input and a padded mask
        ones = ember.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype)
        return avg_pool(F.pad(x, pads), k, s) / avg_pool(F.pad(ones, pads), k, s)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return windowed_output_shape(self, input_shape, self.pool_size, self.strides,
                                     (1,) * self.rank)

    def call(self, inputs: Tensor) -> Tensor:
        self.compute_output_shape(tuple(inputs.shape))      # a window too big: Keras's error
        if self.data_format == "channels_first":
            return self._pool(inputs)
        return to_channels_last(self._pool(to_channels_first(inputs, self.rank)), self.rank)

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format}


class MaxPooling1D(_Pooling):
    rank, mode = 1, "max"


class MaxPooling2D(_Pooling):
    """The maximum over ``pool_size`` windows (default 2x2, strides = pool_size)."""

    rank, mode = 2, "max"


class AveragePooling1D(_Pooling):
    rank, mode = 1, "avg"


class AveragePooling2D(_Pooling):
    """The mean over ``pool_size`` windows (default 2x2, strides = pool_size)."""

    rank, mode = 2, "avg"


class _GlobalPooling(Layer):
    rank = 2
    mode = "avg"

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs: Tensor) -> Tensor:
        first = 1 if self.data_format == "channels_last" else 2
        axes = tuple(range(first, first + self.rank))
        if self.mode == "avg":
            return inputs.mean(dim=axes, keepdim=self.keepdims)
        return inputs.amax(dim=axes, keepdim=self.keepdims)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = tuple(input_shape)
        channels_last = self.data_format == "channels_last"
        channels = input_shape[-1] if channels_last else input_shape[1]
        if not self.keepdims:
            return input_shape[0], channels
        ones = (1,) * self.rank
        return (input_shape[0],) + (ones + (channels,) if channels_last else (channels,) + ones)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean over the steps axis: ``(N, steps, C) -> (N, C)``."""

    rank, mode = 1, "avg"


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean over height and width: ``(N, H, W, C) -> (N, C)``."""

    rank, mode = 2, "avg"


class GlobalMaxPooling1D(_GlobalPooling):
    rank, mode = 1, "max"


class GlobalMaxPooling2D(_GlobalPooling):
    rank, mode = 2, "max"
