"""The machinery under ``ember.func.vmap``: batched tensors, the dispatch hook, and the
one table of batching rules (:data:`RULES`, keyed by op name).

Inside a vmapped function every tensor looks like one example. A batched tensor is a
:class:`BatchedTensor` whose ``_data`` is a :class:`Logical` array: a zero-stride array
with the per-example shape and dtype (so every shape, dtype and dimension check in
Ember's Python code sees one example) that carries the *physical* tensor, batch dim
first, and the :class:`Level` (one vmap call) it belongs to. Its values cannot be read
in Python: that would be a per-example decision, which one batched computation cannot
make.

Each vmap call pushes :meth:`Level.dispatch` onto ``ember.ops.registry.dispatch_hooks``.
For an op whose inputs include tensors batched at that level, the hook runs the op's
rule on the physical tensors at the level below (``dispatch_below``: an outer vmap, a
graph tracer, or eager mode, which records the physical autograd graph that
``grad(vmap(f))`` differentiates). An op without a rule runs once per example and the
results are stacked, with one warning per op name. The outputs are wrapped as batched
tensors again and, when a gradient is being recorded per example (``vmap(grad(f))``),
get a backward node of their own whose backward runs batched through the same rules.

A rule takes a :class:`Call` and returns the physical output(s), batch dim first. A
*decomposition* instead writes an op with other ops on the per-example tensors; it is
used when an op has no rule (dropout) and, for ops listed in :data:`DECOMPOSITIONS`,
whenever a per-example gradient is recorded.
"""
from __future__ import annotations

import warnings
import weakref
from typing import Any, Callable

import numpy as np

from ember.autograd import anomaly
from ember.autograd.grad_mode import state as grad_state
from ember.autograd.node import Node
from ember.backend import Device, array_module
from ember.backend.dtypes import _BY_NP, from_numpy_dtype
from ember.ops.registry import REGISTRY, Op, _promoted_dtype, dispatch_below, dispatch_hooks
from ember.tensor import Tensor, _make

__all__ = ["RULES", "DECOMPOSITIONS", "HIDDEN_BACKWARD", "rule", "decomposition", "Call",
           "Level", "BatchedTensor", "Logical", "batched", "is_batched_at", "fallback",
           "per_example"]

#: op name -> batching rule ``fn(call) -> physical output(s)``
RULES: dict[str, Callable] = {}
#: op name -> ``fn(level, *args, **attrs)`` writing the op with per-example ops
DECOMPOSITIONS: dict[str, Callable] = {}
#: ops with hidden forward outputs (``Op.hidden``): how a per-example backward node does
#: without them. "recompute": the op's backward run in grad mode recomputes them;
#: "absent": the op's backward accepts None for them.
HIDDEN_BACKWARD: dict[str, str] = {}

_WARNED: set = set()
_ACTIVE: list = []          # the levels of the vmap calls now running, outermost first


def rule(*names: str) -> Callable:
    """Decorator: register ``fn`` as the batching rule of the ops ``names``."""
    return _registrar(RULES, names)


def decomposition(*names: str) -> Callable:
    """Decorator: register ``fn`` as the per-example decomposition of the ops ``names``."""
    return _registrar(DECOMPOSITIONS, names)


def _registrar(table: dict, names: tuple) -> Callable:
    def deco(fn: Callable) -> Callable:
        for n in names:
            if n not in REGISTRY:
                raise KeyError(f"vmap: no op named {n!r} in the registry")
            if n in table:
                raise ValueError(f"vmap: op {n!r} has two batching rules")
            table[n] = fn
        return fn
    return deco


# -- the per-example view of a batched tensor ------------------------------------------------

def _read_error(what: str) -> RuntimeError:
    return RuntimeError(
        f"vmap: the values of a batched tensor were read in Python ({what}). A per-example "
        f"decision or a data-dependent shape cannot be batched: write it with Ember ops "
        f"(ember.where, gather, masks) or move it out of the vmapped function.")


def _escaped(where: str) -> RuntimeError:
    return RuntimeError(
        f"vmap: {where} received a batched tensor of a vmap call that has already returned "
        f"(or of an inner one): batched tensors must not escape the function they were "
        f"made in; return them from it instead.")


class Logical(np.ndarray):
    """The ``_data`` of a batched tensor: per-example shape and dtype, no values of its
    own. ``_phys`` is the physical tensor (batch dim first), ``_level`` its vmap level."""

    _phys: Any = None
    _level: Any = None

    def __array_finalize__(self, obj: Any) -> None:
        self._phys = None
        self._level = None

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        raise self._misuse(f"numpy.{ufunc.__name__}")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise self._misuse(f"numpy.{func.__name__}")

    def _misuse(self, what: str) -> RuntimeError:
        lv = self._level
        return _escaped(what) if lv is not None and not lv.alive else _read_error(what)

    def __repr__(self) -> str:
        return f"<per-example view of a batched tensor: shape {self.shape}, {self.dtype}>"

    __str__ = __repr__

    def _level_alive(self, what: str) -> "Level":
        lv = self._level
        if lv is None:
            raise _read_error(what)
        if not lv.alive:
            raise _escaped(what)
        return lv

    def copy(self, order: str = "C") -> "Logical":
        """A copy of the physical values (the engine and in-place ops copy ``_data``)."""
        lv = self._level_alive("copy()")
        return logical(lv.run_below(lambda t: t.clone(), self._phys), lv)

    def astype(self, dtype: Any, order: str = "K", casting: str = "unsafe",
               subok: bool = True, copy: bool = True) -> Any:
        lv = self._level_alive("astype()")
        dt = np.dtype(dtype)
        if dt == self.dtype:
            return self.copy() if copy else self
        return logical(lv.run_below(lambda t: t.to(from_numpy_dtype(dt)), self._phys), lv)

    def min(self, *args: Any, **kwargs: Any) -> Any:
        """Over every example (index range checks hold for all of them)."""
        return _bottom(self).min()

    def max(self, *args: Any, **kwargs: Any) -> Any:
        return _bottom(self).max()

    def __setitem__(self, key: Any, value: Any) -> None:
        """``dst[...] = src`` (how an in-place op writes its result) and ``dst[idx] = v``
        (``tensor[idx] = v`` outside autograd): written into the physical tensor at the
        level below."""
        lv = self._level_alive("an in-place write")
        if key is not Ellipsis:
            from ember.func._batching_rules_index import assign
            return assign(self, key, value)
        if value.__class__ is Logical and value._level is lv:
            src = value._phys
        elif value.__class__ is Logical and value._level is not None and \
                not (value._level.alive and value._level.index < lv.index):
            raise _escaped("an in-place write")
        else:
            src = _make(value)
        lv.run_below(lambda dst, s: dst.copy_(s), self._phys, src)

    def reshape(self, *shape: Any, **kwargs: Any) -> "Logical":
        lv = self._level_alive("reshape()")
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if -1 in shape:
            known = int(np.prod([s for s in shape if s != -1]))
            shape = tuple(self.size // max(known, 1) if s == -1 else s for s in shape)
        new = (lv.size,) + tuple(shape)
        return logical(lv.run_below(lambda t: t.reshape(new), self._phys), lv)

    def __getitem__(self, key: Any) -> "Logical":
        """A basic index (ints, slices, None, Ellipsis) gives the per-example array of the
        physical view, so that writes through it reach this tensor."""
        lv = self._level_alive("indexing its array")
        key = key if isinstance(key, tuple) else (key,)
        if any(isinstance(k, np.ndarray) for k in key):
            raise _read_error("indexing its array with an index array")
        return logical(lv.run_below(lambda t: t[(slice(None),) + key], self._phys), lv)

    def _no(self, *args: Any, **kwargs: Any) -> Any:
        raise _read_error("reading its array")

    def _as_int(self) -> Any:
        raise RuntimeError("vmap: a batched 0-d tensor was used as a Python int (for instance "
                           "as an index); index with a 1-d tensor (x[i.unsqueeze(0)]) or use "
                           "gather / index_select instead")

    item = tolist = tobytes = ravel = flatten = transpose = _no
    __iter__ = __bool__ = __float__ = __complex__ = _no
    __int__ = __index__ = _as_int


def _bottom(arr: Any) -> Any:
    """The real array under any number of vmap levels."""
    while arr.__class__ is Logical:
        arr = arr._phys._data
    return arr


_BASES: dict = {}


def logical(phys: Tensor, level: "Level") -> Logical:
    """The per-example array of ``phys`` (batch dim first) at ``level``."""
    d = phys._data
    dt = d.dtype
    base = _BASES.get(dt)
    if base is None:
        # NaN where values exist to show: garbage read by code that bypasses the guards
        base = _BASES[dt] = np.full((), np.nan if dt.kind in "fV" else 0, dtype=dt)
    shape = d.shape[1:]
    arr = np.ndarray.__new__(Logical, shape, dt, buffer=base, strides=(0,) * len(shape))
    arr._phys = phys
    arr._level = level
    return arr


class BatchedTensor(Tensor):
    """A tensor inside ``vmap``: shaped like one example, computed for the whole batch."""

    __slots__ = ()

    def __repr__(self) -> str:
        d = self._data
        return f"BatchedTensor(lvl={d._level.depth}, bdim=0, value=\n    {d._phys!r}\n)"

    __str__ = __repr__

    @property
    def device(self) -> Device:
        return self._data._phys.device

    def detach(self) -> "BatchedTensor":
        d = self._data
        return batched(d._phys.detach(), d._level)

    def item(self) -> Any:
        raise RuntimeError("vmap: It looks like you're calling .item() on a Tensor. We don't "
                           "support vmap over calling .item() on a Tensor, please try to "
                           "rewrite what you're doing with other operations.")

    def tolist(self) -> Any:
        raise _read_error("tolist()")

    def numpy(self, *, force: bool = False) -> Any:
        raise _read_error("numpy()")

    def __bool__(self) -> bool:
        raise RuntimeError("vmap: It looks like you're attempting to use a Tensor in some "
                           "data-dependent control flow. That cannot be batched: use "
                           "ember.where, or move the decision out of the vmapped function.")

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        raise RuntimeError("backward() called inside vmap. This is not supported, please use "
                           "ember.func.grad or ember.func.vjp instead, or call backward() "
                           "outside of vmap.")


def batched(phys: Tensor, level: "Level") -> BatchedTensor:
    """Wrap ``phys`` (batch dim first) as a batched tensor of ``level``."""
    t = _make(logical(phys, level))
    t.__class__ = BatchedTensor         # same slots as Tensor: only the methods differ
    return t


def is_batched_at(t: Any, level: "Level") -> bool:
    """Whether ``t`` is a tensor batched at ``level``."""
    return isinstance(t, Tensor) and t._data.__class__ is Logical and t._data._level is level


# -- a vmap level and its dispatch hook -----------------------------------------------------

class Level:
    """One running vmap call: its batch size, randomness mode and place in the hooks."""

    __slots__ = ("size", "randomness", "index", "depth", "alive", "_hook")

    def __init__(self, size: int, randomness: str) -> None:
        self.size = size
        self.randomness = randomness
        self.index = -1
        self.depth = 0
        self.alive = False
        self._hook = self.dispatch

    def __enter__(self) -> "Level":
        self.index = len(dispatch_hooks)
        self.depth = len(_ACTIVE) + 1
        self.alive = True
        _ACTIVE.append(self)
        dispatch_hooks.append(self._hook)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.alive = False
        _ACTIVE.remove(self)
        if dispatch_hooks and dispatch_hooks[-1] is self._hook:
            dispatch_hooks.pop()
        elif self._hook in dispatch_hooks:
            dispatch_hooks.remove(self._hook)

    def run_below(self, fn: Callable, *args: Any) -> Any:
        """``fn(*args)`` with the hooks of this level and above set aside."""
        above = dispatch_hooks[self.index:]
        del dispatch_hooks[self.index:]
        try:
            return fn(*args)
        finally:
            dispatch_hooks.extend(above)

    def dispatch(self, op: Op, args: tuple, attrs: dict) -> Any:
        """The dispatch hook: batch ``op`` if an input is batched at this level."""
        here = False
        for a in args:
            if isinstance(a, Tensor) and a._data.__class__ is Logical:
                lv = a._data._level
                if lv is self:
                    here = True
                elif lv is None or not lv.alive or lv.index > self.index:
                    raise _escaped(op.name)
        if not here and attrs:
            here = any(_fakes(v, self) for v in attrs.values() if v.__class__ is tuple)
        if getattr(op, "random", False):
            if self.randomness == "error":
                raise RuntimeError(
                    "vmap: called random operation while in randomness error mode. Please "
                    "either use the 'same' or 'different' randomness flags on vmap or perform "
                    "the randomness operation out of vmap")
            here = here or self.randomness == "different"
        if not here:
            return dispatch_below(op, args, attrs)
        return self._batched(op, args, attrs)

    def _batched(self, op: Op, args: tuple, attrs: dict) -> Any:
        name = op.name
        record = grad_state.enabled and op.differentiable and any(
            isinstance(a, Tensor) and a._rg for a in args)
        dec = DECOMPOSITIONS.get(name)
        if dec is not None and (record or name not in RULES):
            return dec(self, *args, **attrs)
        call = Call(self, op, args, attrs)
        fn = RULES.get(name)
        out = fn(call) if fn is not None else fallback(call)
        single = not isinstance(out, tuple)
        outs = tuple(self._wrap(o, name) for o in ((out,) if single else out))
        if op.view and isinstance(args[0], Tensor):
            base = args[0]
            for t in outs:
                t._vc, t._gv = base._vc, base._vc[1]
                t._base = base if base._base is None else base._base
        if record:
            _record(op, args, attrs, outs)
        return outs[0] if single else outs

    def _wrap(self, o: Any, name: str) -> BatchedTensor:
        if not isinstance(o, Tensor) or not o._data.shape or o._data.shape[0] != self.size:
            raise RuntimeError(f"vmap: internal error: the batching rule of {name} returned "
                               f"{getattr(o, 'shape', o)!r}, not a batch of {self.size}")
        return batched(o, self)


def _fakes(v: tuple, level: Level) -> bool:
    return any(e.__class__ is Logical and e._level is level for e in v)


# -- what a rule receives -------------------------------------------------------------------

class Call:
    """One op application at a level: ``args`` holds the physical tensor (batch dim
    first) where ``bat`` is True and the argument as given elsewhere; ``ndim`` the
    per-example rank of tensor arguments (None for others)."""

    __slots__ = ("level", "op", "attrs", "args", "bat", "ndim", "size", "logical")

    def __init__(self, level: Level, op: Op, args: tuple, attrs: dict) -> None:
        self.level, self.op, self.attrs, self.size = level, op, attrs, level.size
        self.logical = args
        phys, bat, nd = [], [], []
        for a in args:
            if isinstance(a, Tensor):
                d = a._data
                nd.append(d.ndim)
                if d.__class__ is Logical and d._level is level:
                    phys.append(d._phys)
                    bat.append(True)
                    continue
            else:
                nd.append(None)
            phys.append(a)
            bat.append(False)
        self.args, self.bat, self.ndim = phys, bat, nd

    def full(self, i: int) -> Tensor:
        """Argument ``i`` with a batch dim (unbatched ones expanded, no copy)."""
        t = self.args[i]
        if self.bat[i] or t is None:
            return t
        return t.expand((self.size,) + tuple(t.shape))

    def lifted(self, i: int, rank: int) -> Any:
        """Argument ``i`` ready to broadcast against per-example rank ``rank``: batched
        ones get singleton dims after the batch dim; others are left alone."""
        t = self.args[i]
        if not self.bat[i] or self.ndim[i] == rank:
            return t
        s = tuple(t.shape)
        return t.reshape(s[:1] + (1,) * (rank - self.ndim[i]) + s[1:])

    def run(self, *args: Any, **changes: Any) -> Any:
        """This call's op at the level below, on ``args``, attributes updated by
        ``changes``."""
        return dispatch_below(self.op, args, {**self.attrs, **changes} if changes
                              else self.attrs)


# -- ops without a rule: one example at a time -------------------------------------------------

def fallback(c: Call) -> Any:
    """Run ``c``'s op once per example and stack the results, warning once per op."""
    name = c.op.name
    if name not in _WARNED:
        _WARNED.add(name)
        warnings.warn(f"vmap: op '{name}' has no batching rule, so it ran once per example "
                      f"and the results were stacked (correct, but slow)", UserWarning,
                      stacklevel=4)
    return per_example(c)


def per_example(c: Call) -> Any:
    """``c``'s op run on each example and stacked (an empty batch runs one example of
    zeros, for the output shapes)."""
    from ember.ops.creation import zeros
    from ember.ops.joining import stack
    n = c.size
    results = []
    for b in range(max(n, 1)):
        args = tuple((a.select(0, b) if n else zeros(tuple(a.shape)[1:], dtype=a.dtype))
                     if bat else a for a, bat in zip(c.args, c.bat))
        attrs = {k: _example_attr(v, c.level, b) for k, v in c.attrs.items()}
        results.append(dispatch_below(c.op, args, attrs))
    single = not isinstance(results[0], tuple)
    outs = []
    for parts in zip(*[(r,) if single else r for r in results]):
        if n:
            outs.append(stack(parts, 0))
        else:
            outs.append(parts[0].expand((0,) + tuple(parts[0].shape)))
    return outs[0] if single else tuple(outs)


def _example_attr(v: Any, level: Level, b: int) -> Any:
    """An attribute with this level's index arrays cut to example ``b``."""
    if v.__class__ is not tuple or not _fakes(v, level):
        return v
    out = []
    for e in v:
        if e.__class__ is Logical and e._level is level:
            arr = e._phys._data
            if arr.__class__ is Logical:
                raise RuntimeError("vmap: nested vmap over index arrays of an op without a "
                                   "batching rule is not supported")
            e = arr[b] if level.size else np.zeros(arr.shape[1:], arr.dtype)
        out.append(e)
    return tuple(out)


# -- per-example backward nodes -----------------------------------------------------------

class _Recompute:
    """Stands in for an op whose backward reads hidden forward arrays: runs that
    backward in grad mode, where it recomputes them from the inputs."""

    def __init__(self, op: Op) -> None:
        self.op, self.name, self.grad_name = op, op.name, op.grad_name

    def backward(self, ctx: Node, *grads: Any) -> Any:
        create = grad_state.enabled
        grad_state.enabled = True
        try:
            res = self.op.backward(ctx, *grads)
        finally:
            grad_state.enabled = create
        if create:
            return res
        return tuple(r.detach() if isinstance(r, Tensor) else r for r in res)


def _record(op: Op, args: tuple, attrs: dict, outs: tuple) -> None:
    """Attach a backward node for ``op`` on the per-example tensors (as the registry's
    eager ``_record`` does for real ones)."""
    inputs, edges, versions = [], [], []
    saves = op.saves
    npd = None
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            saved = saves is None or i in saves
            inputs.append(a if saved else None)
            if a._rg:
                fn, d = a.grad_fn, a._data
                edges.append((fn, a._nr, a if fn is None else None, d.shape, _BY_NP[d.dtype]))
            else:
                edges.append(None)
            if saved:
                versions.append((a, a._vc[0]))
            continue
        if a is None:
            inputs.append(None)
        elif op.promote is not None and i >= op.promote_from:
            npd = npd or _promoted_dtype(op, args).np
            inputs.append(_make(np.asarray(a, dtype=npd)))
        else:
            inputs.append(_make(np.asarray(a)))
        edges.append(None)
    how = HIDDEN_BACKWARD.get(op.name)
    if op.hidden and how is None:
        raise RuntimeError(f"vmap: per-example gradients through {op.name} are not supported")
    node = Node(_Recompute(op) if how == "recompute" else op, tuple(inputs), attrs,
                (None,) * op.hidden, tuple(edges))
    node.versions = versions
    for i, t in enumerate(outs):
        if t._data.dtype.kind in "fV":
            t._rg, t.grad_fn, t._nr = True, node, i
    node.outs = tuple(weakref.ref(t) for t in outs)
    if len(outs) > 1:
        node.out_meta = tuple((t._data.shape, t._data.dtype,
                               array_module(_bottom(t._data))) for t in outs)
    if op.saves_output:
        node.out_saved = tuple([t._data, t._vc, t._vc[0]] for t in outs)
    if anomaly._enabled:
        node.trace = anomaly.record_trace()
