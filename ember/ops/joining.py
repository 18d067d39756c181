"""Joining and splitting: cat/stack (and h/v/dstack), split/tensor_split/chunk/unbind,
meshgrid and broadcast_tensors.

``cat`` and ``split`` are each other's gradient, as are ``stack`` and ``unbind``. The
pieces of a split are views of the input, as in PyTorch.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from ember.ops._util import norm_dim
from ember.ops.creation import zeros
from ember.ops.indexing import _index_backward
from ember.ops.registry import Op, register, tensor_method
from ember.ops.shape import atleast_1d, atleast_2d, atleast_3d, broadcast_shapes, expand, \
    reshape
from ember.tensor import Tensor

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack", "split",
           "tensor_split", "chunk", "unbind", "meshgrid", "broadcast_tensors"]


def _skipped(shape: tuple) -> bool:
    """PyTorch's legacy rule: 1-D empty tensors are left out of ``cat``."""
    return len(shape) == 1 and shape[0] == 0


class Cat(Op):
    promote = "same"
    saves = None    # backward reads every input (some only for shapes)

    def forward(self, xp: Any, *xs: Any, dim: int) -> Any:
        kept = [x for x in xs if not _skipped(x.shape)]
        return xp.concatenate(kept or xs, axis=dim if kept else 0)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        shapes = [e[3] if e else tuple(t.shape) for e, t in zip(ctx.edges, ctx.inputs)]
        dim = ctx.attrs["dim"]
        kept = [s for s in shapes if not _skipped(s)]
        if not kept:
            return tuple(g for _ in shapes)
        bounds, off = [], 0
        for s in kept:
            bounds.append((off, off + s[dim]))
            off += s[dim]
        pieces = iter(_split(g, dim=dim, bounds=tuple(bounds)))
        return tuple(zeros(0, dtype=g.dtype) if _skipped(s) else next(pieces)
                     for s in shapes)


class Split(Op):
    """Slices ``[start, stop)`` of ``x`` along ``dim``, one view per pair in ``bounds``."""

    view = True
    saves = ()

    def forward(self, xp: Any, x: Any, *, dim: int, bounds: tuple) -> Any:
        pre = (slice(None),) * dim
        return tuple(x[pre + (slice(a, b),)] for a, b in bounds)

    def backward(self, ctx: Any, *grads: Tensor) -> Tensor:
        dim, bounds = ctx.attrs["dim"], ctx.attrs["bounds"]
        shape = ctx.edges[0][3]
        stops = [0] + [b for _, b in bounds]
        if all(a == stops[i] for i, (a, _) in enumerate(bounds)) and stops[-1] == shape[dim]:
            return _cat(*grads, dim=dim)
        pre = (slice(None),) * dim
        out = None
        for (a, b), g in zip(bounds, grads):
            part = _index_backward(g, shape=shape, idx=pre + (slice(a, b),))
            out = part if out is None else out + part
        return out if out is not None else zeros(shape, dtype=ctx.edges[0][4])


class Stack(Op):
    promote = "same"
    saves = ()

    def forward(self, xp: Any, *xs: Any, dim: int) -> Any:
        return xp.stack(xs, axis=dim)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        return _unbind(g, dim=ctx.attrs["dim"])


class Unbind(Op):
    view = True
    saves = ()

    def forward(self, xp: Any, x: Any, *, dim: int) -> Any:
        pre = (slice(None),) * dim
        return tuple(x[pre + (i,)] for i in range(x.shape[dim]))

    def backward(self, ctx: Any, *grads: Tensor) -> Tensor:
        return _stack(*grads, dim=ctx.attrs["dim"])


_cat = register(Cat())
_split = register(Split())
_stack = register(Stack())
_unbind = register(Unbind())


def _tensor_list(tensors: Any, op: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): argument 'tensors' must be a tuple or list of Tensors, "
                        f"not Tensor")
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected a sequence of Tensors, but element {i} is "
                            f"{type(t).__name__}")
    return tensors


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing ``dim``; all other sizes must match. Dtypes
    promote; 1-D empty tensors are skipped, as in PyTorch.

    >>> ember.cat([ember.zeros(2, 3), ember.ones(1, 3)]).shape
    ember.Size([3, 3])
    """
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be "
                               f"concatenated")
    kept = [(i, tuple(t.shape)) for i, t in enumerate(tensors) if not _skipped(t.shape)]
    if not kept:
        return _cat(*tensors, dim=0)
    ref = kept[0][1]
    d = norm_dim(dim, len(ref), "cat")
    for i, s in kept[1:]:
        if len(s) != len(ref):
            raise RuntimeError(f"cat: Tensors must have same number of dimensions: got "
                               f"{len(ref)} and {len(s)}")
        for k in range(len(ref)):
            if k != d and s[k] != ref[k]:
                raise RuntimeError(f"cat: Sizes of tensors must match except in dimension "
                                   f"{d}. Expected size {ref[k]} but got size {s[k]} for "
                                   f"tensor number {i} in the list.")
    return _cat(*tensors, dim=d)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new dimension ``dim``."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = tuple(tensors[0].shape)
    for i, t in enumerate(tensors[1:], 1):
        if tuple(t.shape) != ref:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(ref)} at entry 0 and {list(t.shape)} at entry {i}")
    return _stack(*tensors, dim=norm_dim(dim, len(ref) + 1, "stack"))


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate column-wise: along dim 0 for 1-D tensors, else dim 1."""
    ts = atleast_1d(_tensor_list(tensors, "hstack"))
    return cat(ts, 0 if ts and all(t.ndim == 1 for t in ts) else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate row-wise, after making every tensor at least 2-D."""
    return cat(atleast_2d(_tensor_list(tensors, "vstack")), 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate depth-wise (dim 2), after making every tensor at least 3-D."""
    return cat(atleast_3d(_tensor_list(tensors, "dstack")), 2)


def _pieces(input: Tensor, d: int, bounds: list) -> tuple:
    return _split(input, dim=d, bounds=tuple(bounds))


@tensor_method()
def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Views of consecutive pieces along ``dim``: of ``split_size`` each (the last may be
    smaller), or of the listed sizes, which must add up to the dim's size."""
    if tensor.ndim == 0:
        raise RuntimeError("split: split expects at least a 1-dimensional tensor")
    d = norm_dim(dim, tensor.ndim, "split")
    n = tensor.shape[d]
    s = split_size_or_sections
    if isinstance(s, int) or (isinstance(s, Tensor) and s.ndim == 0):
        s = int(s)
        if s < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={s}")
        if s == 0 and n != 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        starts = range(0, n, s) if s and n else [0]
        return _pieces(tensor, d, [(a, min(a + s, n)) for a in starts])
    sizes = [int(v) for v in s]
    if sum(sizes) != n or any(v < 0 for v in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
                           f"tensor's size at dimension {d}), but got split_sizes={sizes}")
    bounds, off = [], 0
    for v in sizes:
        bounds.append((off, off + v))
        off += v
    return _pieces(tensor, d, bounds)


@tensor_method()
def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    """Split into ``sections`` nearly equal views (the first ``size % sections`` one
    longer), or at the given ``indices`` (like ``input[:i0], input[i0:i1], ...``)."""
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = norm_dim(dim, input.ndim, "tensor_split")
    n = input.shape[d]
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        spec = int(spec) if spec.ndim == 0 else [int(v) for v in spec.tolist()]
    if isinstance(spec, int):
        if spec <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {spec}")
        q, r = divmod(n, spec)
        stops = [(i + 1) * q + min(i + 1, r) for i in range(spec)]
        return _pieces(input, d, list(zip([0] + stops[:-1], stops)))
    cuts = [min(max(int(i) + n if int(i) < 0 else int(i), 0), n) for i in spec]
    starts, stops = [0] + cuts, cuts + [n]
    return _pieces(input, d, [(a, max(a, b)) for a, b in zip(starts, stops)])


@tensor_method()
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` views of ``ceil(size / chunks)`` along ``dim`` (the last may be
    smaller, and fewer chunks may come back)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    d = norm_dim(dim, input.ndim, "chunk")
    n = input.shape[d]
    if n == 0:
        return _pieces(input, d, [(0, 0)] * chunks)
    return split(input, math.ceil(n / chunks), d)


@tensor_method()
def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, each a view with that dim removed."""
    if input.ndim == 0:
        raise IndexError("unbind: Dimension specified as 0 but tensor has no dimensions")
    return _unbind(input, dim=norm_dim(dim, input.ndim, "unbind"))


def meshgrid(*tensors: Tensor, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors (views): ``indexing='ij'`` gives shape
    ``(len(t0), len(t1), ...)``; ``'xy'`` (Cartesian) swaps the first two dims of the
    grid shape."""
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {t.ndim}D")
    ts = [atleast_1d(t) for t in tensors]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    k = len(ts)
    out = [expand(reshape(t, (1,) * i + (-1,) + (1,) * (k - i - 1)), shape)
           for i, t in enumerate(ts)]
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def broadcast_tensors(*tensors: Tensor) -> tuple:
    """The tensors expanded (as views) to their common broadcast shape."""
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        tensors = tuple(tensors[0])
    shape = tuple(broadcast_shapes(*(tuple(t.shape) for t in tensors)))
    return tuple(expand(t, shape) for t in tensors)
