"""The backward engine: walks the recorded graph from the roots in topological order,
calls each op's backward (itself written with Ember ops, so it can be recorded again when
``create_graph=True``), and delivers gradients to leaves or to the requested inputs."""
from __future__ import annotations

import sys
from typing import Any, Sequence

import numpy as np

from ember.autograd import anomaly
from ember.autograd.grad_mode import state as grad_state
from ember.tensor import Tensor, _make, trace_observers

__all__ = ["run_backward"]


def _topological(root_fns: list) -> list:
    """Nodes reachable from the roots, each after every node that consumes it."""
    order, seen = [], set()         # nodes hash by identity
    for r in root_fns:
        if r in seen:
            continue
        seen.add(r)
        stack = [(r, iter(r.edges))]
        while stack:
            fn, it = stack[-1]
            for e in it:
                if e is not None:
                    nxt = e[0]
                    if nxt is not None and nxt not in seen:
                        seen.add(nxt)
                        stack.append((nxt, iter(nxt.edges)))
                        break
            else:
                stack.pop()
                order.append(fn)
    order.reverse()
    return order


def _fit(g: Any, shape: tuple, dtype: Any, fn: Any) -> Any:
    """Make an incoming gradient match its input: sum out broadcast dims, cast dtype."""
    if g._data.shape != shape:
        from ember.ops.reductions import sum_to_size
        try:
            g = sum_to_size(g, shape)
        except Exception:
            raise RuntimeError(f"{fn.name()} returned a gradient of shape {tuple(g.shape)} "
                               f"for an input of shape {tuple(shape)}") from None
    if g._data.dtype != dtype.np:
        g = g.to(dtype)
    return g


def _zeros(meta: tuple) -> Any:
    shape, npdtype, xp = meta
    return _make(xp.zeros(shape, npdtype))


def _check_versions(fn: Any) -> None:
    op = fn.op
    for i, (t, v) in enumerate(fn.versions):
        if t._vc[0] != v:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified "
                f"by an inplace operation: [{t.dtype.name} tensor of shape "
                f"{list(t.shape)}], input {i} of {op.grad_name}, is at version {t._vc[0]}; "
                f"expected version {v} instead. Hint: clone() the tensor before modifying "
                f"it in place.")
    for arr, vc, v in fn.out_saved or ():
        if vc[0] != v:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified "
                f"by an inplace operation: the output of {op.name} [{arr.dtype} array of "
                f"shape {list(arr.shape)}] is at version {vc[0]}; expected version {v} "
                f"instead. Hint: clone() the tensor before modifying it in place.")


def _call_hooks(hooks: list, g: Any) -> Any:
    for h in list(hooks):
        r = h(g)
        if r is not None:
            g = r
    return g


def run_backward(roots: Sequence[Any], root_grads: Sequence[Any], retain_graph: bool,
                 create_graph: bool, inputs: Sequence[Any] | None = None,
                 allow_unused: bool = False) -> list | None:
    """Backpropagate ``root_grads`` from ``roots``.

    Without ``inputs`` gradients accumulate into the ``.grad`` of leaves (``backward``).
    With ``inputs`` nothing is accumulated and the gradients w.r.t. ``inputs`` are
    returned in order (``autograd.grad``); an input the roots do not depend on gives
    None when ``allow_unused`` and an error otherwise.
    """
    if trace_observers:
        trace_observers[-1].backward_ran = True
    buffers: dict = {}
    leaf_grads: dict = {}
    root_fns = []
    for t, g in zip(roots, root_grads):
        if t.grad_fn is None:
            _add_leaf(leaf_grads, t, g)
        else:
            fn = t.grad_fn
            buf = buffers.get(fn)
            if buf is None:
                buf = buffers[fn] = [None] * len(fn.outs)
                root_fns.append(fn)
            buf[t._nr] = g if buf[t._nr] is None else buf[t._nr] + g

    order = _topological(root_fns)
    capture = None
    if inputs is not None:
        capture = {}          # (id(fn), nr) or id(leaf) -> positions in inputs
        for i, t in enumerate(inputs):
            key = (id(t.grad_fn), t._nr) if t.grad_fn is not None else id(t)
            capture.setdefault(key, []).append(i)
        order = _prune(order, capture)
    results = [None] * len(inputs) if inputs is not None else None

    prev = grad_state.enabled
    grad_state.enabled = create_graph
    try:
        for fn in order:
            buf = buffers.pop(fn, None)
            if buf is None:
                continue
            if fn.hooks:
                for i, hooks in fn.hooks.items():
                    if buf[i] is not None:
                        buf[i] = _call_hooks(hooks, buf[i])
            if capture is not None:
                for i in range(len(buf)):
                    for pos in capture.get((id(fn), i), ()):
                        results[pos] = buf[i]
            one = len(buf) == 1
            if one:
                if buf[0] is None:
                    continue
            elif all(g is None for g in buf):
                continue
            if fn.freed:
                raise RuntimeError(
                    f"Trying to backward through the graph a second time (or directly access "
                    f"saved tensors after they have already been freed) in {fn.name()}. "
                    f"Specify retain_graph=True if you need to backward through the graph a "
                    f"second time.")
            if fn.versions or fn.out_saved:
                _check_versions(fn)
            if one:                         # a call without `*` is faster
                in_grads = fn.op.backward(fn, buf[0])
            else:
                if fn.fctx is None and any(g is None for g in buf):
                    buf = [_zeros(fn.out_meta[i]) if g is None else g
                           for i, g in enumerate(buf)]
                in_grads = fn.op.backward(fn, *buf)
            if in_grads.__class__ is not tuple and not isinstance(in_grads, (tuple, list)):
                in_grads = (in_grads,)
            if anomaly._enabled:
                anomaly.check_grads(fn, in_grads)
            if not retain_graph:
                fn.release()
            for e, g in zip(fn.edges, in_grads):
                if e is None or g is None:
                    continue
                if g.__class__ is not Tensor and not isinstance(g, Tensor):
                    raise TypeError(f"{fn.name()} returned {type(g).__name__} as a gradient; "
                                    f"expected a Tensor or None")
                if g._data.shape != e[3] or g._data.dtype != e[4].np:
                    g = _fit(g, e[3], e[4], fn)
                nxt = e[0]
                if nxt is None:
                    _add_leaf(leaf_grads, e[2], g)
                else:
                    b = buffers.get(nxt)
                    if b is None:
                        b = buffers[nxt] = [None] * len(nxt.outs)
                    b[e[1]] = g if b[e[1]] is None else _plus(b[e[1]], g)
    finally:
        grad_state.enabled = prev

    if capture is not None:
        for key, (leaf, g) in leaf_grads.items():
            positions = capture.get(key)
            if positions:
                if leaf._hooks:
                    g = _call_hooks(leaf._hooks, g)
                for pos in positions:
                    results[pos] = g
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(f"One of the differentiated Tensors (input {i}) appears to "
                                   f"not have been used in the graph. Set allow_unused=True "
                                   f"if this is the desired behavior.")
        return results

    prev = grad_state.enabled
    grad_state.enabled = create_graph
    try:
        handed: set = set()      # arrays already stored as some leaf's .grad
        for leaf, g in leaf_grads.values():
            if leaf._hooks:
                g = _call_hooks(leaf._hooks, g)
            _accumulate(leaf, g, create_graph, id(g._data) in handed)
            if leaf.grad is not None:
                handed.add(id(leaf.grad._data))
    finally:
        grad_state.enabled = prev
    return None


def _add_leaf(leaf_grads: dict, leaf: Any, g: Any) -> None:
    if not leaf._rg:
        return
    prev = leaf_grads.get(id(leaf))
    leaf_grads[id(leaf)] = (leaf, g if prev is None else _plus(prev[1], g))


def _refcounts(t: Any) -> tuple:
    return sys.getrefcount(t), sys.getrefcount(t._data)


def _plus(acc: Any, g: Any) -> Any:
    """``acc + g`` for two gradients flowing into the same place; written into ``acc``'s
    array when nothing else can see it, as PyTorch's engine does with a buffer it owns.

    Backward functions may return a tensor they also return elsewhere (``add`` gives
    ``g`` to both inputs), a view, or an array some node saved, so ``acc`` is only reused
    when CPython's reference counts show that the engine's slot is the sole holder of the
    tensor and the tensor the sole holder of its array (no views, no saved copies), and
    no graph is being recorded (``create_graph``, graph-mode tracing, vmap)."""
    from ember.ops.registry import dispatch_hooks     # (a cycle at import time)
    if _EXCLUSIVE is not None and not grad_state.enabled and not trace_observers and \
            not dispatch_hooks and acc.__class__ is Tensor and g.__class__ is Tensor and \
            _refcounts(acc) == _EXCLUSIVE:       # first: the locals below add references
        a, b = acc._data, g._data
        if a.__class__ is np.ndarray and b.__class__ is np.ndarray and a.base is None and \
                a.dtype == b.dtype and a.shape == b.shape and a.flags.writeable and \
                acc.grad_fn is None:
            a += b
            return acc
    return acc + g


def _exclusive_probe(acc: Any) -> tuple:
    return _refcounts(acc)             # called like _plus, so the counts match its own


def _measure_exclusive() -> tuple | None:
    """The reference counts :func:`_plus` sees for a tensor held only by the engine's
    slot (None off CPython, where counts mean nothing)."""
    if sys.implementation.name != "cpython":
        return None
    slot = [_make(np.zeros(1))]
    return _exclusive_probe(slot[0])


_EXCLUSIVE = _measure_exclusive()


def _accumulate(leaf: Any, g: Any, create_graph: bool, shared: bool = False) -> None:
    """``leaf.grad += g``, in place when no graph is being built, as PyTorch does.

    A gradient array stored as ``.grad`` must belong to that leaf alone (later
    accumulations write into it): ``shared`` says another leaf already holds it."""
    if leaf.grad is None:
        if not create_graph:
            g = g.detach()
            data = g._data
            if shared or not data.flags.writeable or not data.flags.c_contiguous or \
                    data.base is not None:
                src, g = g, _make(data.copy())
                if trace_observers:
                    trace_observers[-1].copied(g, src)
        leaf.grad = g
    elif create_graph or leaf.grad.requires_grad:
        leaf.grad = leaf.grad + g
    elif trace_observers:             # graph mode: record the accumulation as an op
        leaf.grad.add_(g)
    else:
        gd = leaf.grad._data
        if gd.shape != g._data.shape:
            raise RuntimeError(f"the existing .grad of shape {tuple(gd.shape)} does not match "
                               f"the gradient of shape {tuple(g._data.shape)}")
        gd += g._data.astype(gd.dtype, copy=False)
        leaf.grad._vc[0] += 1


def _prune(order: list, capture: dict) -> list:
    """Keep only nodes from which some requested input is reachable."""
    needed: set = set()
    for fn in reversed(order):       # producers before consumers
        fid = id(fn)
        if any((fid, i) in capture for i in range(len(fn.outs))):
            needed.add(fid)
            continue
        for e in fn.edges:
            if e is None:
                continue
            if (e[0] is None and id(e[2]) in capture) or (e[0] is not None and
                                                           id(e[0]) in needed):
                needed.add(fid)
                break
    return [fn for fn in order if id(fn) in needed]
