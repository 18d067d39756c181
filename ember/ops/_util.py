"""Small argument helpers shared by op files: dimension normalization and checks."""
from __future__ import annotations

from typing import Any, Sequence


def norm_dim(dim: int, ndim: int, op: str) -> int:
    """``dim`` as a non-negative index, or an IndexError in PyTorch's words.

    A 0-d tensor accepts dims -1 and 0, as in PyTorch.
    """
    n = max(ndim, 1)
    if not isinstance(dim, int):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim % n


def norm_dims(dim: Any, ndim: int, op: str) -> tuple:
    """``dim`` (None, an int or a sequence) as a sorted tuple of distinct dims; None means
    all dims."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    out = tuple(sorted(norm_dim(d, ndim, op) for d in dim))
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {list(dim)} appears multiple times in the list of dims")
    return tuple(d for d in out if d < ndim) if ndim == 0 else out


def shape_arg(shape: Sequence, op: str) -> tuple:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` forms of a shape argument."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    out = []
    for s in shape:
        if hasattr(s, "__index__") and not isinstance(s, bool):
            out.append(int(s.__index__()))
        else:
            raise TypeError(f"{op}: shape must be a sequence of ints, got {list(shape)!r}")
    return tuple(out)
