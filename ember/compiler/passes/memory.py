"""Memory planning: preallocated output buffers for nodes whose op can write into one.

A node whose op has ``forward_out`` (the fused elementwise kernels) gets ``node.buffer``,
an array allocated once here (shapes are static) that the executor passes on every call,
so the node allocates nothing. Buffers are reused: a node takes the buffer of a value
whose last use has passed, or, when its op declares ``inplace_ok``, that of an input it
reads for the last time (it then computes in place).

What a buffer's memory is shared with is tracked through aliases: the outputs of view
ops, and of any op not known to return fresh arrays, may share their inputs' memory, so
a buffer stays taken until every such value is dead. Nodes whose value (or an alias of
it) leaves the graph (outputs, ``.grad`` effects) or is written in place get no buffer:
a buffer is overwritten by the next call. Captures, inputs and consts are never buffers.

Shapes being static here, each fused node also gets its op's kernel for exactly its
input shapes (:meth:`~ember.compiler.fused.Fused.specialize`), which skips the per-call
look-up of the kernel.

Buffers make a compiled graph's calls share memory, so one graph must not run in two
threads at once (the pipeline leaves this pass off for ``dynamic=True`` graphs, whose
shapes change). ``ctx.stats["memory"]``: ``nodes`` given a buffer, ``buffers``
allocated, ``inplace`` reuses of a dying input, ``bytes`` allocated and ``bytes_saved``
(bytes the buffered nodes' outputs would take without reuse, minus ``bytes``) and
``add_into``: ``add`` nodes that write their sum into a fresh input nothing reads
afterwards (:class:`~ember.compiler.ir_ops.AddInto`; the gradients a training step sums,
whose result leaves the graph and so cannot have a buffer).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.backend import array_module
from ember.compiler.ir import Graph, Node, Value
from ember.compiler.ir_ops import AddInto
from ember.compiler.passes.fusion import FUSABLE

__all__ = ["run", "FRESH"]

#: ops whose outputs (these positions; None: all) are always new arrays, never views
#: or the input itself
FRESH: dict[str, tuple | None] = {name: None for name in FUSABLE}
FRESH.update({name: None for name in ("matmul", "gemm", "linear", "conv_transpose",
                                      "conv_weight", "sum", "mean", "softmax",
                                      "log_softmax", "clone", "cross_entropy",
                                      "embedding_backward")})
FRESH["convolution"] = (0,)          # its hidden columns may be a view of the input


def _plannable(n: Node) -> bool:
    return (hasattr(n.op, "forward_out") and len(n.outputs) == 1 and n.n_visible == 1
            and not n.has_effects and n.buffer is None)


def _fresh(n: Node, k: int) -> bool:
    if hasattr(n.op, "forward_out"):
        return True
    if n.op.view or n.op.name not in FRESH:
        return False
    keep = FRESH[n.op.name]
    return keep is None or k in keep


def run(graph: Graph, ctx: Any) -> None:
    """Give eligible nodes of ``graph`` preallocated (reused) buffers, in place.

    >>> fusion.run(g, ctx); run(g, ctx); ctx.stats["memory"]["bytes_saved"]
    """
    nodes = graph.nodes
    escaping = {v.id for v in graph.output_values()}
    escaping |= {v.id for n in nodes for v in n.mutated}
    last: dict[int, int] = {}            # value id -> last position reading it
    owners: dict[int, set] = {}          # value id -> candidate values it may alias
    for i, n in enumerate(nodes):
        shared = set()
        for v in n.input_values():
            last[v.id] = i
            shared |= owners.get(v.id, set())
        for k, v in enumerate(n.outputs):
            owners[v.id] = set() if _fresh(n, k) else set(shared)
            last[v.id] = i               # a value nobody reads dies where it is made
            if _plannable(n):
                owners[v.id].add(v.id)
    end: dict[int, int] = {}             # candidate -> last position its memory is read
    closure: dict[int, set] = {}         # candidate -> values sharing its memory
    bad: set[int] = set()
    for vid, own in owners.items():
        for c in own:
            end[c] = max(end.get(c, 0), last[vid])
            closure.setdefault(c, set()).add(vid)
            if vid in escaping:
                bad.add(c)
    xp = _array_module(graph)
    free: dict[tuple, list] = {}         # (shape, dtype) -> buffers no value holds
    active: list[tuple[int, Any, tuple]] = []    # (holder value id, buffer, key)
    buffer_of: dict[int, Any] = {}
    nbuf = nplanned = inplace = nbytes = wanted = 0
    for i, n in enumerate(nodes):
        for item in [a for a in active if end[a[0]] < i]:
            active.remove(item)
            free.setdefault(item[2], []).append(item[1])
        if not _plannable(n) or n.outputs[0].id in bad:
            continue
        v = n.outputs[0]
        key = (v.shape, v.dtype)
        reads = {u.id for u in n.input_values()}
        buf = None
        if getattr(n.op, "inplace_ok", False):
            for item in active:
                h = item[0]
                if item[2] == key and end[h] == i and h in reads and \
                        closure[h] & reads == {h}:
                    active.remove(item)
                    buf = item[1]
                    inplace += 1
                    break
        if buf is None and free.get(key):
            buf = free[key].pop()
        if buf is None:
            buf = xp.empty(v.shape, v.dtype)
            nbuf += 1
            nbytes += buf.nbytes
        n.buffer = buf
        buffer_of[v.id] = buf
        nplanned += 1
        wanted += math.prod(v.shape) * v.dtype.itemsize
        active.append((v.id, buf, key))
    for n in nodes:
        if hasattr(n.op, "specialize"):
            _specialize(n, buffer_of, xp)
    ctx.stats["memory"] = {"nodes": nplanned, "buffers": nbuf, "inplace": inplace,
                           "bytes": nbytes, "bytes_saved": wanted - nbytes,
                           "add_into": _adds_into_inputs(nodes, escaping, last)}


def _adds_into_inputs(nodes: list, escaping: set, last: dict) -> int:
    """Turn each ``add`` that can write its sum into one of its inputs into
    :class:`AddInto`; returns how many. The input must be a fresh array made in this call
    (not a buffer, capture, input or const, and not a view), read by no later node through
    any alias, not leaving the graph, and of the result's shape and dtype."""
    roots: dict[int, set] = {}           # value id -> fresh arrays it may share memory with
    for n in nodes:
        shared = set().union(*(roots.get(u.id, set()) for u in n.input_values()))
        for k, v in enumerate(n.outputs):
            if _fresh(n, k):
                roots[v.id] = {v.id} if n.buffer is None else set()
            else:
                roots[v.id] = set(shared)
    end: dict[int, int] = {}             # fresh array -> last position its memory is read
    for vid, rs in roots.items():
        for r in rs:
            end[r] = max(end.get(r, -1), math.inf if vid in escaping else last[vid])
    count = 0
    for i, n in enumerate(nodes):
        if n.op.name != "add" or n.buffer is not None or n.attrs.get("alpha", 1) != 1 or \
                len(n.inputs) != 2 or n.inputs[0] is n.inputs[1]:
            continue
        out = n.outputs[0]
        for k, u in enumerate(n.inputs):
            if u.__class__ is Value and roots.get(u.id) == {u.id} and end[u.id] == i and \
                    (u.shape, u.dtype) == (out.shape, out.dtype):
                n.op = AddInto(k)
                count += 1
                break
    return count


def _specialize(n: Node, buffer_of: dict, xp: Any) -> None:
    """Shapes are static here: give ``n`` its op's kernel for exactly its inputs (and
    for which of them is its buffer), skipping the per-call dispatch on shapes."""
    shapes, dtypes = [a.shape for a in n.inputs], [a.dtype for a in n.inputs]
    alias = None if n.buffer is None else \
        [a.__class__ is Value and buffer_of.get(a.id) is n.buffer for a in n.inputs]
    n.op = n.op.specialize(xp, shapes, dtypes, alias)


def _array_module(graph: Graph) -> Any:
    """The array module the graph runs on (that of its first capture or const)."""
    for v in graph.captures:
        return array_module(v.tensor._data)
    for v in graph.consts:
        return array_module(v.data)
    return np
