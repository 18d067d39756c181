"""Flatten and Unflatten: reshape layers for ``nn.Sequential`` models.

>>> ember.nn.Flatten()(ember.ones(2, 3, 4)).shape
ember.Size([2, 12])
"""
from __future__ import annotations

from typing import Any, Sequence

from ember.nn.modules.module import Module
from ember.tensor import Tensor

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Merge dims ``start_dim`` .. ``end_dim`` into one (``input.flatten``)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (a tuple or list of ints, one may be -1).

    >>> ember.nn.Unflatten(1, (2, 3))(ember.ones(4, 6)).shape
    ember.Size([4, 2, 3])
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        _require_int_sequence(unflattened_size)
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


def _require_int_sequence(size: Any) -> None:
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, but found "
                        f"type {type(size).__name__}")
    for i, elem in enumerate(size):
        if not isinstance(elem, int):
            raise TypeError(f"Unflatten: unflattened_size must be tuple of ints, but found "
                            f"element of type {type(elem).__name__} at pos {i}")
