"""Indexing: ``tensor[index]`` and ``tensor[index] = value``.

Indices may mix ints, slices, None, Ellipsis, and integer or boolean tensors (or lists,
or arrays). Basic indexing returns a view. Gradients of an index with repeated entries
accumulate, as in PyTorch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember.ops.inplace import inplace, inplace_method
from ember.ops.registry import Op, register
from ember.tensor import Tensor

__all__ = ["index_put", "getitem"]


def normalize_index(index: Any, shape: tuple) -> tuple:
    """Turn a user index into a tuple NumPy understands, checking integer tensor dtypes."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, Tensor):
            a = i._data
            if a.dtype.kind not in "iub":
                raise IndexError(f"tensors used as indices must be long, int, byte or bool "
                                 f"tensors, got {i.dtype}")
            out.append(a if a.dtype.kind == "b" or a.ndim else int(a))
        elif isinstance(i, (list, np.ndarray)):
            a = np.asarray(i)
            if a.size and a.dtype.kind not in "iub":
                raise IndexError(f"index arrays must hold integers or bools, got {a.dtype}")
            out.append(a.astype(np.int64) if a.size == 0 else a)
        elif i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)):
            if isinstance(i, bool):
                out.append(np.asarray(i))
            elif isinstance(i, slice) and i.step is not None and i.step <= 0:
                raise ValueError("step must be greater than zero")
            else:
                out.append(i)
        elif hasattr(i, "__index__"):
            out.append(i.__index__())
        else:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or "
                             f"byte Variables are valid indices (got {type(i).__name__})")
    return tuple(out)


def _is_basic(idx: tuple) -> bool:
    return all(not isinstance(i, np.ndarray) for i in idx)


class GetItem(Op):
    name = "index"
    view = True
    saves = ()

    def forward(self, xp: Any, x: Any, *, idx: tuple) -> Any:
        return x[idx]

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return _index_backward(g, shape=ctx.edges[0][3], idx=ctx.attrs["idx"])


class IndexBackward(Op):
    """Scatter-add ``g`` into zeros of ``shape`` at ``idx`` (repeated indices add up)."""

    name = "index_backward"
    saves = ()

    def forward(self, xp: Any, g: Any, *, shape: tuple, idx: tuple) -> Any:
        out = xp.zeros(shape, dtype=g.dtype)
        if _is_basic(idx):
            out[idx] = g
        else:
            xp.add.at(out, idx, g)
        return out

    def backward(self, ctx: Any, gg: Tensor) -> Tensor:
        return _getitem(gg, idx=ctx.attrs["idx"])


class IndexPut(Op):
    """``out = x.clone(); out[idx] = values`` (or ``+=`` with ``accumulate``)."""

    promote = "same"
    saves = ()

    def forward(self, xp: Any, x: Any, values: Any, *, idx: tuple,
                accumulate: bool = False) -> Any:
        out = x.copy()
        if accumulate:
            xp.add.at(out, idx, values)
        else:
            out[idx] = values
        return out

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        idx = ctx.attrs["idx"]
        gx = gv = None
        if ctx.edges[0]:
            gx = g if ctx.attrs.get("accumulate") else index_put(g, idx, 0.0)
        if ctx.edges[1]:
            gv = _getitem(g, idx=idx)
        return gx, gv


_getitem = register(GetItem())
_index_backward = register(IndexBackward())
_index_put = register(IndexPut())


def getitem(input: Tensor, index: Any) -> Tensor:
    """``input[index]``."""
    return _getitem(input, idx=normalize_index(index, tuple(input.shape)))


def index_put(input: Tensor, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``values`` written (or added) at ``indices``."""
    idx = normalize_index(indices, tuple(input.shape))
    if isinstance(values, Tensor) and values._data.dtype.kind != input._data.dtype.kind and \
            values.dtype.category > input.dtype.category:
        values = values.to(input.dtype)
    out = _index_put(input, values, idx=idx, accumulate=bool(accumulate))
    return out if out.dtype == input.dtype else out.to(input.dtype)


def _setitem(self: Tensor, index: Any, value: Any) -> None:
    inplace(self, index_put, index, value, name="__setitem__")


Tensor.__getitem__ = getitem
Tensor.__setitem__ = _setitem
Tensor.index_put = index_put
inplace_method(index_put)
