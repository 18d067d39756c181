"""Gather/scatter family: gather, scatter(_add), index_select/add/copy/fill, masked_fill/
select/scatter, take, take_along_dim, nonzero/argwhere.

Each is written as an indexing op (``x[idx]``, ``index_put``) with an index built from
the index tensor, so gradients (and gradients of gradients) come from the indexing ops.
Indices are checked up front and bad ones raise PyTorch's errors.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember.ops._util import norm_dim
from ember.ops.checks import check_values, index_constant
from ember.ops.creation import zeros
from ember.ops.elementwise import remainder, where
from ember.ops.indexing import _index_put, _values, check_range, indexed
from ember.ops.inplace import inplace_method
from ember.ops.reductions import cumsum
from ember.ops.registry import Op, register, tensor_method
from ember.ops.shape import broadcast_shapes, expand, reshape
from ember.backend.dtypes import bool_, int64
from ember.tensor import Tensor

__all__ = ["gather", "scatter", "scatter_add", "index_select", "index_add", "index_copy",
           "index_fill", "masked_fill", "masked_select", "masked_scatter", "nonzero",
           "argwhere", "take", "take_along_dim"]

_INT32_64 = (np.int32, np.int64)


def _index_of(index: Any, op: str, allowed: tuple = _INT32_64, kind: type = RuntimeError,
              msg: str = "") -> Tensor:
    """The index tensor as int64, after checking its dtype against ``allowed`` (the
    conversion is an op, so a traced graph converts each call's index)."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): index must be a Tensor, got {type(index).__name__}")
    if index._data.dtype not in allowed:
        names = "int32/int64" if len(allowed) == 2 else "int64"
        raise kind(msg or f"{op}(): Expected dtype {names} for index, got {index.dtype}")
    return index if index._data.dtype == np.int64 else index.long()


def _same_dtype(input: Tensor, src: Tensor, op: str, what: str = "src") -> None:
    if src.dtype != input.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to {what}.dtype (got "
                           f"{input.dtype} and {src.dtype})")


def _along(index: Any, dim: int) -> tuple:
    """The advanced index picking ``x[i][j]...[index[i, j, ...]]...`` along ``dim`` (the
    index of gather/scatter)."""
    n = index.ndim
    return tuple(index if d == dim else
                 index_constant(np.arange(index.shape[d]).reshape((-1,) + (1,) * (n - d - 1)))
                 for d in range(n))


def _prepare(input: Tensor, dim: int, index: Tensor, op: str, src: Any = None) -> tuple:
    """Checks shared by gather and scatter; returns (dim, 1-d-or-more input, index array,
    advanced index)."""
    index = _index_of(index, op)
    x = input if input.ndim else reshape(input, (1,))
    if index.ndim == 0:
        index = reshape(index, (1,))
    idx = index._data
    d = norm_dim(dim, input.ndim, op)
    if idx.ndim != x.ndim:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"input tensor ({idx.ndim} vs {x.ndim})")
    big = [k for k in range(x.ndim) if k != d and idx.shape[k] > x.shape[k]]
    if src is not None and len(_shape1(src)) != idx.ndim:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"src tensor ({idx.ndim} vs {src.ndim})")
    small_src = src is not None and any(a > b for a, b in zip(idx.shape, _shape1(src)))
    if big or small_src:
        extra = f" and to be no larger size than src {list(src.shape)}" if src is not None \
            else ""
        raise RuntimeError(f"{op}(): Expected index {list(idx.shape)} to be no larger than "
                           f"self {list(x.shape)} apart from dimension {d}{extra}")
    check_values(check_range, (index,), x.shape[d], d, False, RuntimeError, f"{op}(): ")
    return d, x, idx, _along(idx, d)


def _shape1(t: Tensor) -> tuple:
    return tuple(t.shape) or (1,)


def _corner(shape: tuple, dim: int) -> tuple:
    """The leading corner of the other dims that an index of ``shape`` covers."""
    return tuple(slice(None) if k == dim else slice(0, n) for k, n in enumerate(shape))


class Gather(Op):
    """``out = input[..., index, ...]`` along ``dim`` (the index is an input, so a traced
    graph reads each call's index instead of baking one in)."""

    saves = (1,)

    def forward(self, xp: Any, x: Any, index: Any, *, dim: int) -> Any:
        check_range(index, x.shape[dim], dim, negative=False, kind=RuntimeError,
                    op="gather(): ")
        return xp.take_along_axis(x[_corner(index.shape, dim)], index, axis=dim)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        index = ctx.inputs[1]
        return _gather_backward(g, index, shape=ctx.edges[0][3], dim=ctx.attrs["dim"]), None


class GatherBackward(Op):
    """Scatter-add ``g`` into zeros of ``shape`` at ``index`` along ``dim``."""

    saves = (1,)

    def forward(self, xp: Any, g: Any, index: Any, *, shape: tuple, dim: int) -> Any:
        out = xp.zeros(shape, g.dtype)
        pos = list(xp.indices(index.shape, sparse=True))
        pos[dim] = index
        xp.add.at(out[_corner(index.shape, dim)], tuple(pos), g)
        return out

    def backward(self, ctx: Any, gg: Tensor) -> tuple:
        return _gather(gg, ctx.inputs[1], dim=ctx.attrs["dim"]), None


_gather = register(Gather())
_gather_backward = register(GatherBackward())


@tensor_method()
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` for ``dim=1`` (and likewise for other dims);
    the result has ``index``'s shape.

    >>> ember.tensor([[1, 2], [3, 4]]).gather(1, ember.tensor([[0, 0], [1, 0]]))
    tensor([[1, 1],
            [4, 3]])
    """
    _index_of(index, "gather")
    x = input if input.ndim else reshape(input, (1,))
    idx = index if index.ndim else reshape(index, (1,))
    d = norm_dim(dim, input.ndim, "gather")
    if idx.ndim != x.ndim:
        raise RuntimeError(f"gather(): Index tensor must have the same number of dimensions "
                           f"as input tensor ({idx.ndim} vs {x.ndim})")
    if any(k != d and idx.shape[k] > x.shape[k] for k in range(x.ndim)):
        raise RuntimeError(f"gather(): Expected index {list(idx.shape)} to be no larger than "
                           f"self {list(x.shape)} apart from dimension {d}")
    if idx.dtype != int64:
        idx = idx.long()
    out = _gather(x, idx, dim=d)
    return out if out.shape == index.shape else reshape(out, tuple(index.shape))


def _scatter_src(src: Tensor, idx: Any) -> Tensor:
    """The part of ``src`` that ``idx`` covers (its leading corner)."""
    s = src if src.ndim else reshape(src, (1,))
    if tuple(s.shape) == idx.shape:
        return s
    return indexed(s, tuple(slice(0, n) for n in idx.shape))


class ScatterReduce(Op):
    """``scatter`` with ``reduce='add'|'multiply'``; like PyTorch, it has no derivative."""

    name = "scatter"
    saves = ()

    def forward(self, xp: Any, x: Any, src: Any, *, idx: tuple, reduce: str) -> Any:
        out = x.copy()
        (xp.add if reduce == "add" else xp.multiply).at(out, idx, src)
        return out


_scatter_reduce = register(ScatterReduce())


def _scatter(input: Tensor, dim: int, index: Tensor, src: Any, reduce: Any, op: str,
             accumulate: bool = False) -> Tensor:
    if isinstance(src, Tensor):
        _same_dtype(input, src, op)
        d, x, idx, along = _prepare(input, dim, index, op, src)
        vals = _scatter_src(src, idx)
    else:
        d, x, idx, along = _prepare(input, dim, index, op)
        vals = _values(x, src)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"{op}(): reduce argument must be either add or multiply.")
        out = _scatter_reduce(x, vals, idx=along, reduce=reduce)
    else:
        out = _index_put(x, vals, idx=along, accumulate=accumulate)
    return out if out.ndim == input.ndim else reshape(out, ())


@tensor_method()
def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with ``src[i][j]`` (or the number ``value``) written at
    ``[i][index[i][j]]`` for ``dim=1``; ``reduce='add'|'multiply'`` combines instead of
    overwriting (no gradient then, as in PyTorch)."""
    if src is None and value is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    return _scatter(input, dim, index, value if src is None else src, reduce, "scatter")


@tensor_method()
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Like :func:`scatter` but adding; values at repeated indices add up."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): src must be a Tensor, got {type(src).__name__}")
    return _scatter(input, dim, index, src, None, "scatter_add", accumulate=True)


def _dim_index(input: Tensor, dim: int, index: Tensor, op: str, negative: bool,
               allowed: tuple = _INT32_64, dtype_error: type = RuntimeError,
               range_error: type = RuntimeError) -> tuple:
    """Checks for the index_* family: ``index`` a vector (or scalar) of in-range ints;
    returns (dim, input as >= 1-d, advanced index)."""
    index = _index_of(index, op, allowed, dtype_error)
    if index.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector, got {index.ndim} dims")
    if index.ndim == 0:
        index = reshape(index, (1,))
    x = input if input.ndim else reshape(input, (1,))
    d = norm_dim(dim, input.ndim, op)
    check_values(check_range, (index,), x.shape[d], d, negative, range_error, f"{op}(): ")
    return d, x, (slice(None),) * d + (index._data,)


def _restore(out: Tensor, input: Tensor) -> Tensor:
    return out if out.ndim == input.ndim else reshape(out, tuple(input.shape))


@tensor_method()
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries at ``index`` (a vector of ints) along ``dim``, as a new tensor."""
    d, x, idx = _dim_index(input, dim, index, "index_select", negative=False)
    if input.ndim == 0 and idx[-1].size != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                           f"{idx[-1].size} value(s)")
    out = indexed(x, idx)
    return reshape(out, ()) if input.ndim == 0 else out


def _source_shape(x: Tensor, d: int, idx: tuple, source: Tensor, op: str) -> Tensor:
    """``source`` checked to have ``x``'s shape with ``len(index)`` at ``dim``."""
    want = tuple(x.shape[:d]) + (idx[-1].size,) + tuple(x.shape[d + 1:])
    s = source if source.ndim else reshape(source, (1,))
    if tuple(s.shape) != want:
        raise RuntimeError(f"{op}(): source of shape {list(source.shape)} does not match the "
                           f"expected shape {list(want)} (self with dimension {d} of size "
                           f"len(index) = {idx[-1].size})")
    return s


@tensor_method()
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *,
              alpha: Any = 1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``;
    repeated indices add up."""
    if source.dtype != input.dtype:
        raise RuntimeError(f"index_add_(): self ({input.dtype}) and source ({source.dtype}) "
                           f"must have the same scalar type")
    d, x, idx = _dim_index(input, dim, index, "index_add_", negative=False)
    s = _source_shape(x, d, idx, source, "index_add_")
    out = _index_put(x, s if alpha == 1 else s * alpha, idx=idx, accumulate=True)
    return _restore(out, input)


@tensor_method()
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with the slices of ``source`` written at ``index`` along
    ``dim``."""
    _same_dtype(input, source, "index_copy_", "source")
    d, x, idx = _dim_index(input, dim, index, "index_copy_", negative=False,
                           allowed=(np.int64,), range_error=IndexError)
    s = _source_shape(x, d, idx, source, "index_copy_")
    return _restore(_index_put(x, s, idx=idx), input)


@tensor_method()
def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """A copy of ``input`` with ``value`` (a number or a 0-d tensor, which gets a
    gradient) at ``index`` along ``dim``; negative indices count from the end."""
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    d, x, idx = _dim_index(input, dim, index, "index_fill_", negative=True,
                           allowed=(np.int64,), dtype_error=IndexError,
                           range_error=IndexError)
    n = x.shape[d]
    hit = zeros(n, dtype=bool_, device=x.device)
    hit = _index_put(hit, _values(hit, True), idx=idx[-1:])
    out = where(reshape(hit, (n,) + (1,) * (x.ndim - d - 1)), _values(x, value), x)
    return _restore(out, input)


def _mask_of(mask: Any, op: str) -> Tensor:
    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        dt = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype {dt}")
    return mask


@tensor_method()
def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``input`` with ``value`` (a number or a 0-d tensor, which gets a gradient) where the
    bool ``mask`` (broadcast against ``input``) is True."""
    _mask_of(mask, "masked_fill_")
    broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    return where(mask, _values(input, value), input)


@tensor_method()
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where the bool ``mask`` is True, as a 1-D tensor (both are
    broadcast first)."""
    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = tuple(broadcast_shapes(tuple(input.shape), tuple(mask.shape)))
    return indexed(expand(input, shape), (np.broadcast_to(mask._data, shape),))


@tensor_method()
def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the first elements of ``source`` (in order) written where the bool
    ``mask`` (broadcast against ``input``) is True.

    Written without shapes that depend on the mask's values (where the mask is True, the
    k-th element of the result takes source element ``(number of Trues up to k) - 1``),
    so a traced graph reads each call's mask."""
    _mask_of(mask, "masked_scatter_")
    _same_dtype(input, source, "masked_scatter_", "source")
    shape = tuple(broadcast_shapes(tuple(input.shape), tuple(mask.shape)))
    m = expand(mask, shape)
    n = source.numel()
    check_values(_check_masked_scatter, (m,), n)
    if not n:                       # then the mask holds no True (checked)
        return where(m, zeros((), dtype=input.dtype), input)
    pos = cumsum(reshape(m, -1), 0) - 1     # -1 (the last element) only where m is False
    picked = indexed(reshape(source, -1), (pos._data,))
    return where(m, reshape(picked, shape), input)


def _check_masked_scatter(m: Any, n: int) -> None:
    ones = int(m.sum())
    if n < ones:
        raise RuntimeError(f"masked_scatter_: Number of elements of source ({n}) < number "
                           f"of ones in mask ({ones})")


class Nonzero(Op):
    differentiable = False
    dynamic_shape = True

    def forward(self, xp: Any, x: Any, *, as_tuple: bool) -> Any:
        if as_tuple:
            return tuple(i.astype("int64", copy=False) for i in xp.nonzero(xp.atleast_1d(x)))
        return xp.argwhere(x).astype("int64", copy=False)


_nonzero = register(Nonzero())


@tensor_method()
def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """The indices of the nonzero elements: an ``(n, ndim)`` int64 tensor, or with
    ``as_tuple`` one 1-D tensor per dim (a 0-d input counts as 1-D)."""
    return _nonzero(input, as_tuple=bool(as_tuple))


@tensor_method()
def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: an ``(n, ndim)`` tensor of the nonzero elements' indices."""
    return _nonzero(input, as_tuple=False)


@tensor_method()
def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of ``input`` seen as 1-D at ``index`` (negative counts from the end); the
    result has ``index``'s shape."""
    if not isinstance(index, Tensor) or index._data.dtype != np.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                           f"{getattr(index, 'dtype', type(index).__name__)}")
    check_values(_check_take, (index,), input.numel())
    return indexed(reshape(input, -1), (index._data,))


def _check_take(idx: Any, n: int) -> None:
    if idx.size and (idx.max() >= n or idx.min() < -n):
        bad = int(idx.max()) if idx.max() >= n else int(idx.min())
        raise IndexError(f"take(): out of range: tried to access index {bad} on a tensor of "
                         f"{n} elements.")


@tensor_method()
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` along ``dim`` after broadcasting ``input`` and ``indices`` in the other
    dims (negative indices count from the end); with ``dim=None`` both are flattened and
    indices must be in ``[0, numel)``, as in PyTorch."""
    if not isinstance(indices, Tensor) or indices._data.dtype != np.int64:
        raise RuntimeError(f"take_along_dim(): dtype of indices should be Long but got "
                           f"{getattr(indices, 'dtype', type(indices).__name__)}")
    if dim is None:
        return gather(reshape(input, -1), 0, reshape(indices, -1))
    if input.ndim != indices.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for "
                           f"input, and {indices.ndim} dimensions for indices")
    d = norm_dim(dim, input.ndim, "take_along_dim")
    n = input.shape[d] if input.ndim else 1
    check_values(check_range, (indices,), n, d, True, IndexError, "take_along_dim(): ")
    wrapped = remainder(indices, max(n, 1))
    if input.ndim == 0:
        return indexed(reshape(input, (1,)), (wrapped._data,))
    rest = broadcast_shapes(*(tuple(s[:d]) + (1,) + tuple(s[d + 1:])
                              for s in (input.shape, indices.shape)))
    x = expand(input, tuple(rest[:d]) + (input.shape[d],) + tuple(rest[d + 1:]))
    i = expand(wrapped, tuple(rest[:d]) + (indices.shape[d],) + tuple(rest[d + 1:]))
    return indexed(x, _along(i._data, d))


for _fn, _name in ((scatter, "scatter_"), (scatter_add, "scatter_add_"),
                   (index_add, "index_add_"), (index_copy, "index_copy_"),
                   (index_fill, "index_fill_"), (masked_fill, "masked_fill_"),
                   (masked_scatter, "masked_scatter_")):
    inplace_method(_fn, _name)
