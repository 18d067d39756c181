"""Padding layers: constant (and zero), reflection, replication and circular padding of
the last 1, 2 or 3 dims, each a call of :func:`ember.nn.functional.pad`.

``padding`` is an int (the same amount on every side) or a sequence taken as given, in
``F.pad``'s order ``(left, right, top, bottom, front, back)``; as in PyTorch a shorter
sequence pads only the trailing dims it covers.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Sequence

from ember.nn import functional as F
from ember.nn.modules.module import Module
from ember.tensor import Tensor

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]


class _PadNd(Module):
    """Pads the last ``_dims`` dims in ``_mode``; ``padding`` is stored as a tuple."""

    _dims: int
    _mode: str

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        if isinstance(padding, Iterable):
            self.padding = tuple(padding)
        else:
            self.padding = (padding,) * (2 * self._dims)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    """Pads with the constant ``value``."""

    _mode = "constant"

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    """Pads with zeros."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _CircularPadNd(_PadNd):
    """Pads by wrapping around; accepts only batched or unbatched inputs of its rank."""

    _mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        ranks = (self._dims + 1, self._dims + 2)
        if input.ndim not in ranks:
            raise ValueError(f"{type(self).__name__}: expected {ranks[0]}D or {ranks[1]}D "
                             f"input (got {input.ndim}D input)")
        return super().forward(input)


class _ReflectionPadNd(_PadNd):
    _mode = "reflect"


class _ReplicationPadNd(_PadNd):
    _mode = "replicate"


class ZeroPad1d(_ZeroPadNd):
    """Zero-pad the last dim: ``ZeroPad1d((1, 2))`` turns length L into L + 3."""
    _dims = 1


class ZeroPad2d(_ZeroPadNd):
    """Zero-pad the last two dims (left, right, top, bottom).

    >>> ember.nn.ZeroPad2d(1)(ember.ones(1, 2, 2)).shape
    ember.Size([1, 4, 4])
    """
    _dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Zero-pad the last three dims."""
    _dims = 3


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: ``ConstantPad1d(2, 3.5)``."""
    _dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``.

    >>> ember.nn.ConstantPad2d((1, 0, 0, 1), -1.0)(ember.ones(1, 2, 2)).shape
    ember.Size([1, 3, 3])
    """
    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with ``value``."""
    _dims = 3


class ReflectionPad1d(_ReflectionPadNd):
    """Mirror the last dim at its edges (the edge itself not repeated); each amount must be
    smaller than the dim."""
    _dims = 1


class ReflectionPad2d(_ReflectionPadNd):
    """Mirror the last two dims at their edges.

    >>> ember.nn.ReflectionPad2d(1)(ember.ones(1, 1, 3, 3)).shape
    ember.Size([1, 1, 5, 5])
    """
    _dims = 2


class ReflectionPad3d(_ReflectionPadNd):
    """Mirror the last three dims at their edges."""
    _dims = 3


class ReplicationPad1d(_ReplicationPadNd):
    """Repeat the edge values of the last dim."""
    _dims = 1


class ReplicationPad2d(_ReplicationPadNd):
    """Repeat the edge values of the last two dims.

    >>> ember.nn.ReplicationPad2d((0, 2, 0, 0))(ember.ones(1, 3, 3)).shape
    ember.Size([1, 3, 5])
    """
    _dims = 2


class ReplicationPad3d(_ReplicationPadNd):
    """Repeat the edge values of the last three dims."""
    _dims = 3


class CircularPad1d(_CircularPadNd):
    """Wrap the last dim around: the left pad copies the end, the right pad the start.
    Input: (N, C, L) or (C, L)."""
    _dims = 1


class CircularPad2d(_CircularPadNd):
    """Wrap the last two dims around. Input: (N, C, H, W) or (C, H, W).

    >>> ember.nn.CircularPad2d(1)(ember.ones(1, 1, 3, 3)).shape
    ember.Size([1, 1, 5, 5])
    """
    _dims = 2


class CircularPad3d(_CircularPadNd):
    """Wrap the last three dims around. Input: (N, C, D, H, W) or (C, D, H, W)."""
    _dims = 3
