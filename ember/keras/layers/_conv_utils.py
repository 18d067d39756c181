"""Argument checks and padding rules shared by Keras's convolution and pooling layers."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember import Tensor


def normalize_tuple(value: Any, rank: int, name: str, layer: str,
                    allow_zero: bool = False) -> tuple[int, ...]:
    """An int or a sequence of ``rank`` ints, as a tuple of positive (or >= 0) ints."""
    values = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    lowest = 0 if allow_zero else 1
    if len(values) != rank or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                                  or v < lowest for v in values):
        raise ValueError(f"{layer}: the `{name}` argument must be a tuple of {rank} "
                         f"integers >= {lowest}. Received: {name}={value!r}")
    return tuple(int(v) for v in values)


def normalize_padding(value: Any, layer: str, allowed: tuple = ("valid", "same")) -> str:
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(f"{layer}: the `padding` argument must be one of {allowed}. "
                         f"Received: padding={value!r}")
    return padding


def normalize_data_format(value: Any, layer: str) -> str:
    data_format = "channels_last" if value is None else str(value).lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: the `data_format` argument must be one of "
                         f"'channels_first', 'channels_last'. Received: data_format={value!r}")
    return data_format


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's 'same' padding for one axis: the output has ceil(size / stride)
    positions; an odd total puts the extra pixel at the end."""
    span = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def output_length(size: int | None, window: int, stride: int, dilation: int,
                  padding: str) -> int | None:
    """Keras's output length along one spatial axis (None stays None): ``ceil(size /
    stride)`` for 'same' and 'causal', ``floor((size - span) / stride) + 1`` for 'valid',
    where ``span`` is the dilated window."""
    if size is None:
        return None
    if padding == "valid":
        return (size - (window - 1) * dilation - 1) // stride + 1
    return (size - 1) // stride + 1


def windowed_output_shape(layer: Any, input_shape: tuple, window: tuple, strides: tuple,
                          dilation: tuple, channels: int | None = None) -> tuple:
    """The output shape of a convolution or pooling ``layer`` (its ``padding`` and
    ``data_format``) for ``input_shape``; ``channels`` replaces the channel size (None
    keeps it). A window that does not fit raises a ValueError naming the layer."""
    rank = len(window)
    input_shape = tuple(input_shape)
    last = layer.data_format == "channels_last"
    spatial = input_shape[1:1 + rank] if last else input_shape[2:2 + rank]
    out = tuple(output_length(n, k, s, d, layer.padding)
                for n, k, s, d in zip(spatial, window, strides, dilation))
    if any(n is not None and n < 1 for n in out):
        dilated = f", dilation_rate={dilation}" if max(dilation) > 1 else ""
        raise ValueError(f'Layer "{layer.name}" ({type(layer).__name__}): computed output '
                         f"size would be negative or zero: {out}. The window does not fit "
                         f"the input: received inputs shape={input_shape}, window={window}, "
                         f"strides={strides}{dilated}, padding={layer.padding!r}.")
    if channels is None:
        channels = input_shape[-1] if last else input_shape[1]
    return (input_shape[0],) + (out + (channels,) if last else (channels,) + out)


def to_channels_first(x: Tensor, rank: int) -> Tensor:
    """(N, *spatial, C) -> (N, C, *spatial)."""
    return x.permute(0, rank + 1, *range(1, rank + 1))


def to_channels_last(x: Tensor, rank: int) -> Tensor:
    """(N, C, *spatial) -> (N, *spatial, C)."""
    return x.permute(0, *range(2, rank + 2), 1)


def torch_pad_order(pads: list[tuple[int, int]]) -> list[int]:
    """Per-axis (before, after) pairs, first spatial axis first, in ``F.pad``'s order
    (last axis first)."""
    return [p for pair in reversed(pads) for p in pair]
