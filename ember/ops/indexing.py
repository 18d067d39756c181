"""Indexing: ``tensor[index]``, ``tensor[index] = value``, ``index_put`` and ``select``.

Indices may mix ints, slices, None, Ellipsis, and integer or boolean tensors (or lists,
or arrays). Basic indexing (ints, slices, None, Ellipsis) returns a view; advanced
indexing returns a copy, as in PyTorch. Gradients of an index with repeated entries
accumulate. Bad indices raise PyTorch's errors (IndexError naming the dimension and its
size) before NumPy sees them.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember.autograd.grad_mode import state as grad_state
from ember.backend import array_module
from ember.ops.checks import IndexConstant, check_values, index_constant
from ember.ops.inplace import inplace, inplace_method
from ember.ops.registry import Op, register, tensor_method
from ember.tensor import Tensor, _read, trace_observers

__all__ = ["index_put", "getitem", "select"]


def _index_array(a: Any) -> Any:
    """An index array as NumPy indexes with it: bool stays a mask (uint8 becomes one),
    int32/int64 are indices; anything else is refused like PyTorch does."""
    if a.dtype.kind == "b" or a.dtype == np.uint8:
        return a.astype(bool, copy=False)
    if a.dtype in (np.int64, np.int32):
        return a.astype(np.int64, copy=False)
    raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors, "
                     f"got {a.dtype}")


def normalize_index(index: Any, shape: tuple) -> tuple:
    """Turn a user index into a tuple NumPy understands, checked against ``shape``."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    sources: list = []          # the tensor each index array comes from (for value checks)
    for i in index:
        source = None
        if isinstance(i, Tensor):
            if trace_observers:
                i = _traceable_index(i)
            a = _index_array(i._data)
            if a.ndim == 0 and a.dtype.kind != "b":
                _read(i, "a 0-d integer tensor used as an index")
                a = int(a)
            else:
                source = i
            out.append(a)
        elif isinstance(i, (list, np.ndarray)):
            a = np.asarray(i)
            a = _index_array(a.astype(np.int64) if a.size == 0 else a)
            out.append(a if a.__class__ is not np.ndarray else a.view(IndexConstant))
        elif isinstance(i, bool):
            out.append(index_constant(i))
        elif i is None or i is Ellipsis or isinstance(i, (int, np.integer)):
            out.append(i)
        elif isinstance(i, slice):
            if i.step is not None and i.step == 0:
                raise ValueError("slice step cannot be zero")
            if i.step is not None and i.step < 0:
                raise ValueError("step must be greater than zero")
            out.append(i)
        elif hasattr(i, "__index__"):
            out.append(i.__index__())
        else:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or "
                             f"byte Variables are valid indices (got {type(i).__name__})")
        sources.append(source)
    _check_bounds(out, shape, sources)
    return tuple(out)


def _traceable_index(i: Tensor) -> Tensor:
    """While tracing: an index tensor whose array the index holds as it is (int32 and
    uint8 indices converted by ops, so that the graph converts each call's index)."""
    dt = i._data.dtype
    if dt == np.int32:
        return i.long()
    if dt == np.uint8:
        return i.bool()
    return i


def _check_bounds(idx: list, shape: tuple, sources: list | None = None) -> None:
    """Raise PyTorch's IndexError for too many indices, out-of-range integers and masks
    whose shape does not match the dimensions they cover. ``sources`` holds the tensor
    each index array came from (None for the others): their range check is a value
    check that a traced graph repeats."""
    def width(i: Any) -> int:
        if i is None or i is Ellipsis:
            return 0
        return i.ndim if isinstance(i, np.ndarray) and i.dtype.kind == "b" else 1
    used = sum(width(i) for i in idx)
    if used > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    d = 0
    for j, i in enumerate(idx):
        if i is Ellipsis:
            d += len(shape) - used
        elif isinstance(i, np.ndarray) and i.dtype.kind == "b":
            for k in range(i.ndim):
                if i.shape[k] != shape[d + k]:
                    raise IndexError(f"The shape of the mask {list(i.shape)} at index {k} does "
                                     f"not match the shape of the indexed tensor "
                                     f"{list(shape)} at index {d + k}")
            d += i.ndim
        elif i is not None:
            if not isinstance(i, slice):
                source = sources[j] if sources else None
                check_values(check_range, (i if source is None else source,), shape[d], d)
            d += 1


def check_range(i: Any, n: int, dim: int, negative: bool = True,
                kind: type = IndexError, op: str = "") -> None:
    """Raise ``kind`` if int or int array ``i`` holds a value outside ``[-n, n)`` (or
    ``[0, n)`` when ``negative`` is False)."""
    if isinstance(i, np.ndarray):
        if not i.size:
            return
        lo, hi = int(i.min()), int(i.max())
    else:
        lo = hi = int(i)
    low = -n if negative else 0
    if lo < low or hi >= n:
        bad = hi if hi >= n else lo
        raise kind(f"{op}index {bad} is out of bounds for dimension {dim} with size {n}")


def _is_basic(idx: tuple) -> bool:
    return all(not isinstance(i, np.ndarray) for i in idx)


def _steps(idx: tuple) -> tuple:
    """``idx`` as successive NumPy indices giving PyTorch's result. PyTorch applies integer
    indices first (as selects), so they never take part in advanced indexing, whose
    dims NumPy would otherwise move to the front when an int separates them."""
    if _is_basic(idx) or not any(isinstance(i, (int, np.integer)) for i in idx):
        return (idx,)
    first, second = [], []
    for i in idx:
        if isinstance(i, np.ndarray):
            first.extend([slice(None)] * (i.ndim if i.dtype.kind == "b" else 1))
            second.append(i)
        elif isinstance(i, (int, np.integer)):
            first.append(i)
        else:
            first.append(i)
            second.append(i if i is Ellipsis else slice(None))
    return tuple(first), tuple(second)


def _target(out: Any, idx: tuple) -> tuple:
    """(view of ``out``, last index): writing ``view[last]`` writes ``out[idx]``."""
    *pre, last = _steps(idx)
    for s in pre:
        out = out[s]
    return out, last


def _has_mask(attrs: dict) -> bool:
    return any(isinstance(i, np.ndarray) and i.dtype.kind == "b" for i in attrs["idx"])


class Index(Op):
    """Advanced indexing (a copy); its gradient scatter-adds into zeros. With a bool
    mask, the result's size is the mask's count of True values."""

    saves = ()
    dynamic_shape = staticmethod(_has_mask)

    def forward(self, xp: Any, x: Any, *, idx: tuple) -> Any:
        for s in _steps(idx):
            x = x[s]
        return x

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return _index_backward(g, shape=ctx.edges[0][3], idx=ctx.attrs["idx"])


class Slice(Index):
    """Basic indexing (ints, slices, None, Ellipsis): a view."""

    view = True


class IndexBackward(Op):
    """Scatter-add ``g`` into zeros of ``shape`` at ``idx`` (repeated indices add up)."""

    saves = ()

    def forward(self, xp: Any, g: Any, *, shape: tuple, idx: tuple) -> Any:
        out = xp.zeros(shape, dtype=g.dtype)
        view, last = _target(out, idx)
        if _is_basic(idx):
            view[last] = g
        else:
            xp.add.at(view, last, g)
        return out

    def backward(self, ctx: Any, gg: Tensor) -> Tensor:
        return indexed(gg, ctx.attrs["idx"])


class IndexPut(Op):
    """``out = x.clone(); out[idx] = values`` (or ``+=`` with ``accumulate``); ``values``
    already has ``x``'s dtype."""

    saves = ()

    def forward(self, xp: Any, x: Any, values: Any, *, idx: tuple,
                accumulate: bool = False) -> Any:
        out = x.copy()
        _assign(xp, out, idx, values, accumulate, "index_put")
        return out

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        idx = ctx.attrs["idx"]
        gx = gv = None
        if ctx.edges[0]:
            gx = g if ctx.attrs.get("accumulate") else \
                _index_put(g, _constant(g, 0), idx=idx)
        if ctx.edges[1]:
            gv = indexed(g, idx)
            vshape = ctx.edges[1][3]
            if gv.ndim < len(vshape):      # values may carry extra leading 1s
                gv = gv.reshape((1,) * (len(vshape) - gv.ndim) + tuple(gv.shape))
        return gx, gv


def _assign(xp: Any, out: Any, idx: tuple, values: Any, accumulate: bool, op: str) -> None:
    """``out[idx] = values`` (``+=`` with repeats adding up when ``accumulate``)."""
    view, last = _target(out, idx)
    try:
        if accumulate:
            xp.add.at(view, last, values)
        else:
            view[last] = values
    except ValueError:
        raise RuntimeError(f"{op}: shape mismatch: value tensor of shape {list(values.shape)} "
                           f"cannot be broadcast to indexing result of shape "
                           f"{list(view[last].shape)}") from None


_slice = register(Slice())
_index = register(Index())
_index_backward = register(IndexBackward())
_index_put = register(IndexPut())


def indexed(input: Tensor, idx: tuple) -> Tensor:
    """``input[idx]`` for an already normalized index (a view when ``idx`` is basic)."""
    return (_slice if _is_basic(idx) else _index)(input, idx=idx)


def getitem(input: Tensor, index: Any) -> Tensor:
    """``input[index]``: basic indices give a view, integer/bool tensors a copy.

    >>> ember.arange(6).reshape(2, 3)[:, [0, 2]]
    tensor([[0, 2],
            [3, 5]])
    """
    return indexed(input, normalize_index(index, tuple(input.shape)))


def _constant(like: Tensor, value: Any) -> Tensor:
    """A 0-d constant tensor of ``like``'s dtype and device holding ``value``."""
    from ember.tensor import _make
    xp = array_module(like._data)
    try:
        return _make(xp.asarray(np.asarray(value).astype(like._data.dtype)))
    except (TypeError, ValueError):
        raise TypeError(f"can't assign a {type(value).__name__} to a {like.dtype} "
                        f"tensor") from None


def _values(input: Tensor, values: Any) -> Tensor:
    """``values`` as a tensor of ``input``'s dtype (a differentiable cast for tensors)."""
    if isinstance(values, Tensor):
        return values if values.dtype == input.dtype else values.to(input.dtype)
    return _constant(input, values)


@tensor_method()
def index_put(input: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``values`` written (or added, repeated indices adding up)
    at ``indices``; ``values`` must have ``input``'s dtype, as in PyTorch."""
    if isinstance(values, Tensor) and values.dtype != input.dtype:
        raise RuntimeError(f"index_put: Index put requires the source and destination dtypes "
                           f"match, got {input.dtype} for the destination and {values.dtype} "
                           f"for the source.")
    idx = normalize_index(indices, tuple(input.shape))
    return _index_put(input, _values(input, values), idx=idx, accumulate=bool(accumulate))


def _setitem(self: Tensor, index: Any, value: Any) -> None:
    """``self[index] = value``: value is cast to ``self``'s dtype and broadcast. With
    autograd recording, ``self``'s history is rebased like any in-place op."""
    idx = normalize_index(index, tuple(self.shape))
    if not _is_basic(idx) and isinstance(value, Tensor) and value.dtype != self.dtype:
        raise RuntimeError(f"__setitem__: Index put requires the source and destination dtypes "
                           f"match, got {self.dtype} for the destination and {value.dtype} "
                           f"for the source.")
    v = _values(self, value)
    if (grad_state.enabled and (self._rg or v._rg)) or trace_observers:
        # recording autograd, or tracing a graph: the write must be an op
        inplace(self, lambda t, val: _index_put(t, val, idx=idx), v, name="__setitem__")
        return
    data = self._data
    if not data.flags.writeable:
        raise RuntimeError("__setitem__: unsupported operation: the tensor is a read-only "
                           "(expanded) view; more than one element of the written-to tensor "
                           "refers to a single memory location. Please clone() the tensor "
                           "before performing the operation.")
    _assign(array_module(data), data, idx, v._data, False, "__setitem__")
    self._vc[0] += 1


@tensor_method()
def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim`` (a view with that dim removed):
    ``x.select(1, 0)`` is ``x[:, 0]``."""
    from ember.ops._util import norm_dim
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = norm_dim(dim, input.ndim, "select")
    n = input.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    return _slice(input, idx=(slice(None),) * d + (int(index),))


Tensor.__getitem__ = getitem
Tensor.__setitem__ = _setitem
inplace_method(index_put)
