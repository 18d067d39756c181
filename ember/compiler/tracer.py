"""Trace a function into a :class:`~ember.compiler.ir.Graph` by running it once.

The tracer runs the function eagerly, on the real arrays, with a hook on the op
dispatcher (``ember.ops.registry.dispatch_hooks``): every op application still runs
through the same registry code (so shapes, dtypes, errors and autograd are exactly
eager mode's) and is also recorded as a node. ``loss.backward()`` inside the function
runs the real backward engine, whose ops are recorded too, so a whole training step
(forward, backward, optimizer update) becomes one graph.

Tensors the function meets that no recorded op produced are *captures* (parameters,
buffers, optimizer state: read afresh at every call) or, when the function created them
itself (``ember.zeros``, ``ember.tensor``), *consts*. What happens outside ops is
reported by hooks in the core (``ember.tensor.trace_observers``): an in-place write into
a capture becomes a ``copy_into`` node, one into a local tensor just renames the value;
reading a tensor's value into Python (``if x.sum() > 0``, ``.item()``) or drawing random
numbers outside an op cannot be replayed and raises :class:`GraphBreak`, naming the line.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable

import numpy as np

from ember.autograd.grad_mode import state as grad_state
from ember.backend.dtypes import from_numpy_dtype
from ember.compiler.ir import Graph, Value
from ember.compiler.ir_ops import Slot, copy_into, with_index_arrays
from ember.ops.checks import IndexConstant
from ember.ops.registry import REGISTRY, _promoted_dtype, dispatch_below, dispatch_hooks
from ember.tensor import Tensor, trace_observers

__all__ = ["Tracer", "GraphBreak", "trace", "user_frame"]

_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class GraphBreak(RuntimeError):
    """The traced code did something a graph cannot replay (names the line)."""

    def __init__(self, reason: str, where: str = "") -> None:
        self.reason = reason
        self.where = where or user_frame()
        super().__init__(f"{reason} at {self.where}" if self.where else reason)


class _Stop(Exception):
    """Raised inside the tracer's bookkeeping; becomes :meth:`Tracer.fail`."""


def user_frame() -> str:
    """``file:line`` of the innermost frame outside Ember's own package."""
    f = sys._getframe(1)
    while f is not None:
        path = os.path.abspath(f.f_code.co_filename)
        if not path.startswith(_EMBER_DIR + os.sep):
            line = f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}"
            return line
        f = f.f_back
    return ""


class Tracer:
    """Records ops into ``graph`` while active (``with tracer:``); see the module doc."""

    def __init__(self, graph: Graph, fullgraph: bool = False) -> None:
        self.graph = graph
        self.fullgraph = fullgraph
        self.broken: GraphBreak | None = None     # the first break, when not fullgraph
        self.backward_ran = False
        self.by_tensor: dict[int, tuple[Tensor, Value]] = {}
        self.by_array: dict[int, tuple[Any, Value]] = {}
        self._created: dict[int, Tensor] = {}
        self._reset: dict[int, Tensor] = {}        # leaves whose .grad the call set to None
        self._grad_none: dict[int, bool] = {}      # leaf -> was its .grad None when met
        self._grad_used: dict[int, Tensor] = {}    # leaves whose .grad the graph reads
        self.leaves: dict[int, tuple[Tensor, Any]] = {}   # captured leaf -> its .grad then
        self.grad_of: dict[int, Tensor] = {}               # id(.grad at capture) -> leaf
        self.guards: dict[Any, tuple[Callable, Any]] = {}
        self.in_op = 0

    # -- activation -----------------------------------------------------------------------
    def __enter__(self) -> "Tracer":
        dispatch_hooks.append(self.dispatch)
        trace_observers.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        dispatch_hooks.remove(self.dispatch)
        trace_observers.remove(self)

    # -- values -------------------------------------------------------------------------
    def bind(self, t: Tensor, v: Value) -> None:
        self.by_tensor[id(t)] = (t, v)
        self.by_array[id(t._data)] = (t._data, v)

    def value_of(self, t: Tensor) -> Value:
        """The graph value ``t`` holds now (making a capture or const on first sight)."""
        hit = self.by_tensor.get(id(t))
        if hit is not None and hit[0] is t:
            v = hit[1]
            if v.kind != "capture" or v.tensor is t:
                return v
        arr = t._data
        hit = self.by_array.get(id(arr))
        if hit is not None and hit[0] is arr:
            self.by_tensor[id(t)] = (t, hit[1])
            return hit[1]
        base = getattr(arr, "base", None)
        while base is not None:
            if id(base) in self.by_array:
                raise _Stop("a tensor was derived from a traced value outside Ember's "
                                 "ops (a raw array view); the graph cannot replay that")
            base = getattr(base, "base", None)
        if id(t) in self._created:
            v = self.graph.add_const(arr.copy())
        else:
            leaf_of = self.grad_of.get(id(t))
            v = self.graph.add_capture(t)
            if leaf_of is not None:                 # the .grad of a captured leaf
                v.tensor = _GradRef(leaf_of)
                self._grad_used[id(leaf_of)] = leaf_of
            elif t._rg and t.grad_fn is None:
                self.leaves[id(t)] = (t, t.grad)
                if t.grad is not None:
                    self.grad_of[id(t.grad)] = t
                if id(t) not in self._reset:        # .grad's presence, if the call uses it
                    self._grad_none[id(t)] = t.grad is None
        self.bind(t, v)
        return v

    def guard(self, key: Any, fn: Callable) -> None:
        """Remember ``fn()``'s value now; the compiled function retraces when it changes."""
        if key not in self.guards:
            self.guards[key] = (fn, fn())

    # -- the dispatch hook --------------------------------------------------------------
    def fail(self, reason: str) -> None:
        """A graph cannot capture what the code does here: raise (``fullgraph``) or note
        it and let the eager run finish (the caller then falls back to eager)."""
        brk = GraphBreak(reason)
        if self.fullgraph:
            raise brk
        if self.broken is None:
            self.broken = brk

    def dispatch(self, op: Any, args: tuple, attrs: dict) -> Any:
        if self.broken is not None:
            return dispatch_below(op, args, attrs)
        try:
            dyn = op.dynamic_shape
            if dyn and (dyn is True or dyn(attrs)):
                raise _Stop(f"{op.name} gives a result whose shape depends on its input's "
                            f"values (nonzero, masked_select, x[bool mask]); a graph fixes "
                            f"every shape when it is traced")
            ins = [self.value_of(a) if isinstance(a, Tensor) else a for a in args]
            extra: list = []
            if attrs and _has_array(attrs.values()):
                attrs_in_graph = {k: self._slotted(v, extra) for k, v in attrs.items()}
        except _Stop as e:
            self.fail(str(e))
            return dispatch_below(op, args, attrs)
        self.in_op += 1
        try:
            out = dispatch_below(op, args, attrs)
        finally:
            self.in_op -= 1
        if op.promote is not None:
            self._promote(op, args, ins)
        visible = out if isinstance(out, tuple) else (out,)
        hidden: tuple = ()
        if op.hidden:
            fn = next((o.grad_fn for o in visible if isinstance(o, Tensor) and
                       o.grad_fn is not None and o.grad_fn.op is op), None)
            if fn is not None and fn.saved:
                hidden = tuple(fn.saved)
            else:
                hidden = (None,) * op.hidden
        meta = [(o._data.shape, o._data.dtype) for o in visible]
        meta += [((), np.float32) if h is None else (h.shape, h.dtype) for h in hidden]
        if extra:
            node = self.graph.add_node(with_index_arrays(op, len(ins)), ins + extra,
                                       attrs_in_graph, meta, n_visible=len(visible))
        else:
            node = self.graph.add_node(op, ins, attrs, meta, n_visible=len(visible))
        in_arrays = {id(a._data) for a in args if isinstance(a, Tensor)}
        for o, v in zip(visible, node.outputs):
            self.by_tensor[id(o)] = (o, v)
            if id(o._data) not in in_arrays:
                self.by_array[id(o._data)] = (o._data, v)
        for h, v in zip(hidden, node.outputs[len(visible):]):
            if h is not None:
                self.by_array[id(h)] = (h, v)
        return out

    def _slotted(self, x: Any, extra: list) -> Any:
        """An attr with each index array that a traced tensor holds replaced by a
        :class:`~ember.compiler.ir_ops.Slot` (its value appended to ``extra``); arrays
        fixed by the code (:class:`~ember.ops.checks.IndexConstant`) stay."""
        if isinstance(x, np.ndarray):
            if isinstance(x, IndexConstant):
                return x
            hit = self.by_array.get(id(x))
            if hit is None or hit[0] is not x:
                raise _Stop("an op received index arrays computed outside Ember's ops; a "
                            "graph would replay them unchanged")
            extra.append(hit[1])
            return Slot(len(extra) - 1)
        if isinstance(x, (tuple, list)):
            return type(x)(self._slotted(e, extra) for e in x)
        return x

    def _promote(self, op: Any, args: tuple, ins: list) -> None:
        """Make the dispatcher's implicit dtype promotion explicit: casts and 0-d arrays."""
        npd = _promoted_dtype(op, args).np
        for i in range(op.promote_from, len(args)):
            a = args[i]
            if isinstance(a, Tensor):
                if a._data.dtype != npd:
                    v = ins[i]
                    node = self.graph.add_node(_CAST, [v], {"dtype": from_numpy_dtype(npd)},
                                               [(v.shape, npd)])
                    ins[i] = node.outputs[0]
            elif a is not None:
                ins[i] = np.asarray(a, dtype=npd)

    # -- observers (called by the core outside ops) --------------------------------------
    def grad_reset(self, leaf: Tensor) -> None:
        """``leaf.grad = None`` (``zero_grad``): later code does not depend on the old one."""
        self._reset[id(leaf)] = leaf

    def created(self, t: Tensor) -> None:
        self._created[id(t)] = t

    def copied(self, new: Tensor, src: Tensor) -> None:
        """``new`` is a fresh copy of ``src``'s current value, made outside ops."""
        if self.broken is not None:
            return
        try:
            v = self.value_of(src)
        except _Stop as e:
            return self.fail(str(e))
        node = self.graph.add_node(_CLONE, [v], {}, [(v.shape, v.dtype)])
        self.bind(new, node.outputs[0])

    def written(self, t: Tensor, src: Tensor) -> None:
        """``t``'s memory is about to be overwritten with ``src``'s value."""
        if self.in_op or self.broken is not None:
            return
        try:
            dst, val = self.value_of(t), self.value_of(src)
        except _Stop as e:
            return self.fail(str(e))
        root = dst
        while root.kind == "node" and root.producer.op.view:
            root = root.producer.inputs[0]
        if root.kind in ("capture", "input"):         # visible after the call: write it
            self.graph.add_node(copy_into, [dst, val], {}, [])
            return
        if root is not dst:
            return self.fail("in-place write through a view of a tensor created inside "
                             "the compiled function")
        if val.dtype != dst.dtype:
            node = self.graph.add_node(_CAST, [val], {"dtype": from_numpy_dtype(dst.dtype)},
                                       [(val.shape, dst.dtype)])
            val = node.outputs[0]
        self.bind(t, val)

    def value_read(self, t: Tensor, what: str) -> None:
        if self.in_op or self.broken is not None:
            return
        hit = self.by_tensor.get(id(t))
        if hit is not None and hit[0] is t and hit[1].kind == "const":
            return
        if hit is None and id(t) in self._created:
            return
        self.fail(f"the traced code reads a tensor's value into Python ({what}); a "
                         f"graph cannot branch on data")

    def random_draw(self) -> None:
        if not self.in_op and self.broken is None:
            self.fail("random numbers drawn outside an op (ember.rand/randn/randint/"
                             "normal/randperm or an init function) inside a compiled "
                             "function; create them outside and pass them in")

    def module_called(self, m: Any) -> None:
        self.guard(("training", id(m)), lambda m=m: m.training)

    def optimizer_step(self, opt: Any) -> None:
        self.guard(("hparams", id(opt)), lambda o=opt: _hparams(o))

    # -- finishing ----------------------------------------------------------------------
    def finish_grads(self) -> None:
        """Record the ``.grad`` each captured leaf ends with, where the call changed it,
        and guard on whether ``.grad`` existed where the graph depends on that."""
        for t, before in list(self.leaves.values()):
            after = t.grad
            if after is not before:
                self.graph.grad_effects.append((t, None if after is None else
                                                self.value_of(after)))
                self._grad_used[id(t)] = t
        for key, t in self._grad_used.items():
            if key in self._grad_none:
                self.guards.setdefault(("grad", key), (lambda p=t: p.grad is None,
                                                       self._grad_none[key]))


def _has_array(values: Any) -> bool:
    for v in values:
        if isinstance(v, np.ndarray) or (isinstance(v, (tuple, list)) and _has_array(v)):
            return True
    return False


class _GradRef:
    """Stands for ``leaf.grad`` as a capture: the executor reads ``._data`` at each call."""

    __slots__ = ("leaf",)

    def __init__(self, leaf: Tensor) -> None:
        self.leaf = leaf

    @property
    def _data(self) -> Any:
        return self.leaf.grad._data


def _hparams(opt: Any) -> tuple:
    return tuple(tuple((k, v) for k, v in g.items() if k != "params"
                       and isinstance(v, (int, float, bool, str, tuple, type(None))))
                 for g in opt.param_groups)


_CAST = REGISTRY["cast"]
_CLONE = REGISTRY["clone"]


def trace(fn: Callable, args: tuple = (), kwargs: dict | None = None,
          name: str | None = None) -> Graph:
    """Run ``fn(*args, **kwargs)`` once and return its graph (tensor leaves of the
    arguments become inputs in flattened order; the outputs must be tensors)."""
    from ember.compiler.signature import flatten
    kwargs = kwargs or {}
    graph = Graph(name or getattr(fn, "__name__", "graph"))
    tracer = Tracer(graph)
    for leaf in flatten((args, kwargs))[0]:
        if isinstance(leaf, Tensor) and id(leaf) not in tracer.by_tensor:
            tracer.bind(leaf, graph.add_input(leaf._data.shape, leaf._data.dtype))
    with tracer:
        out = fn(*args, **kwargs)
        tracer.finish_grads()
    leaves, _ = flatten(out)
    graph.outputs = [tracer.value_of(o) if isinstance(o, Tensor) else o for o in leaves]
    graph.meta_grad_enabled = grad_state.enabled
    return graph
