"""Sorting and selection: sort, argsort, msort, topk, kthvalue, median.

Indices are int64. Sorting is stable (so ``stable=True`` holds either way); NaN sorts as
the largest value, as in PyTorch. Values are gathered from the input at the indices, so
their gradient flows back to the selected positions.
"""
from __future__ import annotations

from typing import Any

from ember.ops._util import norm_dim
from ember.ops.reductions import Amax, _check_nonempty, _one_dim, return_type, take_along
from ember.ops.registry import Op, register, tensor_method
from ember.tensor import Tensor

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median"]


def _argsort(xp: Any, x: Any, dim: int, descending: bool) -> Any:
    if not descending:
        return xp.argsort(x, axis=dim, kind="stable")
    # a stable ascending sort of the reversed input, read backwards, is a stable
    # descending sort (this also works for unsigned and bool inputs, unlike negation)
    idx = xp.argsort(xp.flip(x, axis=dim), axis=dim, kind="stable")
    return x.shape[dim] - 1 - xp.flip(idx, axis=dim)


class Argsort(Op):
    """Stable sorting permutation along ``dim``; descending keeps ties in input order."""

    differentiable = False

    def forward(self, xp: Any, x: Any, *, dim: int, descending: bool) -> Any:
        if x.ndim == 0:
            return xp.zeros((), dtype="int64")
        return _argsort(xp, x, dim, descending).astype("int64", copy=False)


class KthIndex(Op):
    """Index of the ``k``-th smallest element (0-based) along ``dim``, keeping ``dim``, by
    partial partition (NaN counts as the largest value)."""

    differentiable = False

    def forward(self, xp: Any, x: Any, *, k: int, dim: int) -> Any:
        if x.ndim == 0:
            return xp.zeros((), dtype="int64")
        return xp.take(xp.argpartition(x, k, axis=dim), [k], axis=dim).astype("int64")


class MedianIndex(Op):
    """Index of the lower median along ``dim`` (keeping ``dim``): the middle of a stable
    sort, which is PyTorch's choice among ties; a slice holding NaN gives its first NaN."""

    differentiable = False

    def forward(self, xp: Any, x: Any, *, dim: int) -> Any:
        if x.ndim == 0:
            return xp.zeros((), dtype="int64")
        order = xp.argsort(x, axis=dim, kind="stable")
        n = x.shape[dim]
        nans = xp.sum(xp.isnan(x), axis=dim, keepdims=True) if x.dtype.kind == "f" else 0
        k = xp.broadcast_to(xp.where(nans > 0, n - nans, (n - 1) // 2),
                            order.shape[:dim] + (1,) + order.shape[dim + 1:])
        return xp.take_along_axis(order, k, axis=dim).astype("int64", copy=False)


class MedianAll(Amax):
    """Lower median of all elements (NaN if any is NaN or there are none); like
    ``max()``, its gradient is split evenly among the elements equal to it."""

    def forward(self, xp: Any, x: Any, *, dims: tuple, keepdim: bool) -> Any:
        flat = x.reshape(-1)
        if flat.size == 0 or (x.dtype.kind == "f" and xp.isnan(flat).any()):
            return xp.asarray(xp.nan, dtype=x.dtype)
        k = (flat.size - 1) // 2
        return xp.partition(flat, k)[k]


_argsort_op = register(Argsort())
_kth = register(KthIndex())
_median = register(MedianIndex())
_median_all = register(MedianAll())


def _picked(input: Tensor, idx: Tensor, dim: int, keepdim: bool, op: str) -> Any:
    """``(values, indices)`` of ``input`` at ``idx`` along ``dim``, as ``op``'s return type."""
    if not keepdim and input.ndim:
        return return_type(op)(take_along(input, idx, dim, False), idx.squeeze(dim))
    return return_type(op)(take_along(input, idx, dim), idx)


@tensor_method()
def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """``(values, indices)`` sorted along ``dim`` (always stable).

    >>> ember.tensor([3., 1., 2.]).sort()
    ember.return_types.sort(values=tensor([1., 2., 3.]), indices=tensor([1, 2, 0]))
    """
    d = norm_dim(dim, input.ndim, "sort")
    return _picked(input, _argsort_op(input, dim=d, descending=bool(descending)), d, True,
                   "sort")


@tensor_method()
def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """The int64 indices that sort ``input`` along ``dim`` (always stable)."""
    return _argsort_op(input, dim=norm_dim(dim, input.ndim, "argsort"),
                       descending=bool(descending))


@tensor_method()
def msort(input: Tensor) -> Tensor:
    """``input`` sorted along dim 0."""
    return sort(input, 0).values


def _size(input: Tensor, d: int) -> int:
    return input.shape[d] if input.ndim else 1


@tensor_method()
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True,
         sorted: bool = True) -> Any:
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices, in sorted
    order.

    >>> ember.tensor([1., 5., 3.]).topk(2)
    ember.return_types.topk(values=tensor([5., 3.]), indices=tensor([1, 2]))
    """
    d = norm_dim(dim, input.ndim, "topk")
    n = _size(input, d)
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: selected index k out of range (k={k}, but dimension {d} "
                           f"has size {n})")
    # a full stable sort (not a partition) so that ties resolve to the lowest index, as
    # PyTorch's do in practice
    idx = _argsort_op(input, dim=d, descending=bool(largest))
    if input.ndim:
        idx = idx[(slice(None),) * d + (slice(0, k),)]
    return _picked(input, idx, d, True, "topk")


@tensor_method()
def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> Any:
    """The ``k``-th smallest element (1-based) along ``dim`` and its index."""
    d = norm_dim(dim, input.ndim, "kthvalue")
    if not 1 <= k <= _size(input, d):
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d} "
                           f"(k={k}, size {_size(input, d)})")
    idx = _kth(input, k=int(k) - 1, dim=d)
    return _picked(input, idx, d, bool(keepdim), "kthvalue")


@tensor_method()
def median(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``median(x)``: the lower median of all elements (NaN if any is NaN or x is empty;
    the gradient is split among ties); ``median(x, dim)``: ``(values, indices)`` along
    ``dim``, the index being the middle of a stable sort, as in PyTorch."""
    if dim is None:
        return _median_all(input, dims=tuple(range(input.ndim)), keepdim=False)
    d = norm_dim(dim, input.ndim, "median")
    _check_nonempty(input, _one_dim(d, input.ndim, "median"), False, "median")
    return _picked(input, _median(input, dim=d), d, bool(keepdim), "median")

