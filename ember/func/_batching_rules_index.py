"""Batching rules of indexing: ``x[idx]`` (views and copies), its adjoint, and the
writes ``index_put`` and ``scatter``.

An index tuple may hold index arrays batched at the running level (``x[i]`` with a
batched ``i``, ``gather``-style indices): those become physical arrays, and an
``arange`` over the batch indexes the batch dim, so each example reads its own entries.
NumPy puts the dims of non-adjacent advanced indices first; the plans below record how
to bring the batch dim back to the front.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember.func._batching import Call, Level, Logical, rule
from ember.ops.indexing import _steps
from ember.tensor import Tensor, _make

__all__: list = []

_MASK = ("vmap: We do not support batching operators that can support dynamic shape. "
         "Attempting to batch over indexing with a boolean mask.")


def _mine(e: Any, level: Level) -> bool:
    return e.__class__ is Logical and e._level is level


def _arrays(entries: tuple) -> list:
    return [j for j, e in enumerate(entries) if isinstance(e, np.ndarray)]


def _adv_ndim(entries: tuple) -> int:
    """The number of dims the advanced indices in ``entries`` broadcast to."""
    return max((1 if e.dtype.kind == "b" else e.ndim) for e in entries
               if isinstance(e, np.ndarray))


def _explicit(idx: tuple, nd: int) -> tuple:
    """``idx`` for a rank-``nd`` tensor without Ellipsis, bool masks as int arrays."""
    used = sum(0 if e is None or e is Ellipsis else
               (e.ndim if isinstance(e, np.ndarray) and e.dtype.kind == "b" else 1)
               for e in idx)
    out: list = []
    for e in idx:
        if e is Ellipsis:
            out += [slice(None)] * (nd - used)
        elif isinstance(e, np.ndarray) and e.dtype.kind == "b":
            if e.__class__ is Logical:
                raise RuntimeError(_MASK)
            out += list(e.nonzero())
        else:
            out.append(e)
    return tuple(out)


def _plan(level: Level, idx: tuple, nd: int) -> tuple:
    """``(physical idx, layout)`` for indexing a batched rank-``nd`` tensor with the
    per-example ``idx``; ``layout`` (None, ("move", k) or ("perm", k, pre)) says how the
    physical result differs from batch-first order."""
    if not any(_mine(e, level) for e in idx):
        last = _steps(idx)[-1]
        pos = _arrays(last)
        if pos and pos[-1] - pos[0] + 1 != len(pos):
            return (slice(None),) + idx, ("move", _adv_ndim(last))
        return (slice(None),) + idx, None
    idx = _explicit(idx, nd)
    n = level.size
    k = _adv_ndim(idx)
    phys: list = [np.arange(n).reshape((n,) + (1,) * k)]
    for e in idx:
        if _mine(e, level):
            t = e._phys
            e = t.reshape((n,) + (1,) * (k - e.ndim) + tuple(t.shape)[1:])._data
        phys.append(e)
    pos = _arrays(_steps(idx)[-1])
    if pos[-1] - pos[0] + 1 == len(pos) and pos[0]:
        return tuple(phys), ("perm", k, pos[0])
    return tuple(phys), None


def _batch_first(t: Tensor, layout: Any) -> Tensor:
    if layout is None:
        return t
    if layout[0] == "move":
        return t.movedim(layout[1], 0)
    _, k, pre = layout
    return t.permute(0, *range(1 + k, 1 + k + pre), *range(1, 1 + k),
                     *range(1 + k + pre, t.dim()))


def _physical_order(t: Tensor, layout: Any) -> Tensor:
    """The inverse of :func:`_batch_first`."""
    if layout is None:
        return t
    if layout[0] == "move":
        return t.movedim(0, layout[1])
    _, k, pre = layout
    return t.permute(0, *range(1 + pre, 1 + pre + k), *range(1, 1 + pre),
                     *range(1 + k + pre, t.dim()))


def _step_shape(shape: tuple, step: tuple) -> tuple:
    """The shape NumPy gives ``array_of(shape)[step]``."""
    used = sum(0 if e is None or e is Ellipsis else
               (e.ndim if isinstance(e, np.ndarray) and e.dtype.kind == "b" else 1)
               for e in step)
    dims: list = []
    adv: list = []
    d = 0
    for e in step:
        if e is Ellipsis:
            n = len(shape) - used
            dims += list(shape[d:d + n])
            d += n
        elif e is None:
            dims.append(1)
        elif isinstance(e, slice):
            dims.append(len(range(*e.indices(shape[d]))))
            d += 1
        elif isinstance(e, np.ndarray):
            if not adv:
                dims.append(None)        # where the advanced dims go when adjacent
            adv.append((int(e.sum()),) if e.dtype.kind == "b" else e.shape)
            d += e.ndim if e.dtype.kind == "b" else 1
        else:
            d += 1
    dims += list(shape[d:])
    if not adv:
        return tuple(dims)
    b = list(np.broadcast_shapes(*adv))
    pos = _arrays(step)
    at = dims.index(None)
    del dims[at]
    if pos[-1] - pos[0] + 1 != len(pos):
        at = 0
    return tuple(dims[:at] + b + dims[at:])


def _result_shape(shape: tuple, idx: tuple) -> tuple:
    for step in _steps(idx):
        shape = _step_shape(shape, step)
    return shape


@rule("slice")
def _slice(c: Call) -> Any:
    return c.run(c.args[0], idx=(slice(None),) + tuple(c.attrs["idx"]))


@rule("index")
def _index(c: Call) -> Any:
    phys, layout = _plan(c.level, tuple(c.attrs["idx"]), c.ndim[0])
    return _batch_first(c.run(c.full(0), idx=phys), layout)


@rule("index_backward")
def _index_backward(c: Call) -> Any:
    shape = tuple(c.attrs["shape"])
    phys, layout = _plan(c.level, tuple(c.attrs["idx"]), len(shape))
    return c.run(_physical_order(c.full(0), layout), shape=(c.size,) + shape, idx=phys)


@rule("index_put", "scatter")
def _index_put(c: Call) -> Any:
    idx = tuple(c.attrs["idx"])
    x = c.logical[0]
    phys, layout = _plan(c.level, idx, x.ndim)
    v = _values(c.args[1], c.bat[1], c.size, _result_shape(tuple(x.shape), idx), layout)
    return c.run(c.full(0), v, idx=phys)


def _values(v: Tensor, bat: bool, n: int, r: tuple, layout: Any) -> Tensor:
    """Values to write at an index whose per-example result has shape ``r``, batched and
    in the physical result's order."""
    s = tuple(v.shape)[1:] if bat else tuple(v.shape)
    s = s[len(s) - len(r):] if len(s) > len(r) else s     # values may carry leading 1s
    v = v.reshape(((n,) if bat else ()) + (1,) * (len(r) - len(s)) + s)
    return _physical_order(v.expand((n,) + r), layout)


def assign(dst: Logical, key: Any, value: Any) -> None:
    """``dst[key] = value`` for the per-example array of a batched tensor: written into
    its physical tensor at the level below (``tensor[index] = value`` outside autograd)."""
    level = dst._level
    key = key if isinstance(key, tuple) else (key,)
    phys, layout = _plan(level, key, dst.ndim)
    r = _result_shape(dst.shape, key)
    mine = value.__class__ is Logical and value._level is level
    src = value._phys if mine else _make(value)

    def write(p: Tensor, v: Tensor) -> None:
        p[phys] = _values(v, mine, level.size, r, layout)
    level.run_below(write, dst._phys, src)


@rule("nonzero")
def _nonzero(c: Call) -> Any:
    raise RuntimeError("vmap: We do not support batching operators that can output dynamic "
                       "shape. Attempted to vmap over nonzero (also behind where(cond), "
                       "argwhere and boolean-mask indexing).")


@rule("one_hot")
def _one_hot(c: Call) -> Any:
    return c.run(c.args[0])          # elementwise with a trailing class dim: batch stays first


@rule("assert_values")
def _assert_values(c: Call) -> Any:
    """Value checks look at values only (ranges), so they run on the physical arrays."""
    return c.run(*c.args).expand((c.size,))
