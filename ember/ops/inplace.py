"""In-place ops (``add_``, ``x[i] = v``, ...), built from their out-of-place versions.

An in-place op computes the out-of-place result and writes it into the tensor's memory,
bumping the version counter shared with its views. When autograd is recording, the
tensor's history is rebased onto the new node (the pre-modification value is kept for
backward), exactly as PyTorch does for non-leaf tensors; a leaf that requires grad
refuses, and a view of a tensor that is part of the graph refuses with a clear error.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

from ember.autograd.grad_mode import state as grad_state
from ember.tensor import Tensor, _make, trace_observers

__all__ = ["inplace", "inplace_method"]


def _write(t: Tensor, result: Tensor, name: str) -> None:
    src = result._data
    dst = t._data
    if src.shape != dst.shape:
        raise RuntimeError(f"{name}: output with shape {list(dst.shape)} doesn't match the "
                           f"broadcast shape {list(src.shape)}")
    if result.dtype.category > t.dtype.category:
        raise RuntimeError(f"{name}: result type {result.dtype.name} can't be cast to the "
                           f"desired output type {t.dtype.name}")
    if not dst.flags.writeable:
        raise RuntimeError(f"{name}: unsupported operation: the tensor is a read-only "
                           f"(expanded) view; more than one element of the written-to tensor "
                           f"refers to a single memory location. Please clone() the tensor "
                           f"before performing the operation.")
    if trace_observers:
        trace_observers[-1].written(t, result)
    if src is not dst:
        dst[...] = src
    t._vc[0] += 1


def inplace(t: Tensor, fn: Callable, *args: Any, name: str = "", **kwargs: Any) -> Tensor:
    """Compute ``fn(t, *args, **kwargs)`` and store the result into ``t``; returns ``t``."""
    name = name or (getattr(fn, "__name__", None) or getattr(fn, "name", "inplace")) + "_"
    tracking = grad_state.enabled and (t._rg or any(
        isinstance(a, Tensor) and a._rg for a in args) or any(
        isinstance(a, Tensor) and a._rg for a in kwargs.values()))
    if not tracking:
        _write(t, fn(t, *args, **kwargs), name)
        return t
    if t.grad_fn is None and t._rg:
        raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an "
                           f"in-place operation.")
    if t._base is not None:
        raise RuntimeError(f"{name}: in-place modification of a view while autograd is "
                           f"recording is not supported (the base tensor's history would not "
                           f"see it); write through the base (x[idx] = value) or clone() the "
                           f"view first")
    old = _make(t._data.copy(), t._rg)
    if trace_observers:
        trace_observers[-1].copied(old, t)
    old.grad_fn, old._nr = t.grad_fn, t._nr
    res = fn(old, *args, **kwargs)
    _write(t, res, name)
    t._vc[1] += 1             # views taken earlier no longer describe t's history
    t._rg, t.grad_fn, t._nr = res._rg, res.grad_fn, res._nr
    node = res.grad_fn
    if node is not None:
        ref = weakref.ref(t)
        node.outs = tuple(ref if i == t._nr else r for i, r in enumerate(node.outs))
        if node.out_saved:
            node.out_saved[t._nr][:] = [t._data, t._vc, t._vc[0]]
    return t


def inplace_method(fn: Callable, name: str | None = None) -> Callable:
    """A ``Tensor.<name>_`` method that runs ``fn`` in place."""
    base = getattr(fn, "__name__", None) or fn.name
    mname = name or base + "_"

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return inplace(self, fn, *args, name=mname, **kwargs)
    method.__name__ = mname
    method.__doc__ = f"In-place version of :func:`{base}`."
    setattr(Tensor, mname, method)
    return method
