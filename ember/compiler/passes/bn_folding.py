"""Batch-norm folding (inference only): ``conv(x, w, b) * s + t`` with per-output-channel
``s`` and ``t`` becomes ``conv(x, w * s, b * s + t)``.

Eval-mode batch norm is traced as exactly that affine map on its input: ``s`` and ``t``
are computed in the graph from the running statistics, weight and bias (see
``ember.ops.normalization._affine_stats``). Those are captures, so they may change
between calls: the folded weight and bias are computed by graph nodes from ``s`` and
``t`` on every call, never frozen at compile time. The same holds for ``linear`` followed
by ``BatchNorm1d``.

Folding pays when scaling the weight is cheaper than scaling the output; it is done when
the weight has at most as many elements as the output (a batch of one image through a
wide layer keeps the unfolded form). It applies when ``ctx.inference`` is True, the conv
output has no other reader (nor the product, when the shift is folded too), and no node
in between writes what the conv reads. ``ctx.stats["bn_folding"]``: ``folded`` and
``skipped_cost`` (patterns left alone because folding would cost more).
"""
from __future__ import annotations

import math
from typing import Any

from ember.compiler.ir import Graph, Node, Value
from ember.compiler.passes.fusion import movable, mutations
from ember.ops.registry import REGISTRY

__all__ = ["run"]

_CONV, _LINEAR = REGISTRY["convolution"], REGISTRY["linear"]
_MUL, _ADD, _RESHAPE = REGISTRY["mul"], REGISTRY["add"], REGISTRY["reshape"]


def _other(n: Node, v: Value) -> Any:
    """The input of binary ``n`` that is not ``v`` (None when ``v`` is both or neither)."""
    a, b = n.inputs[0], n.inputs[1]
    if (a is v) == (b is v):
        return None
    return b if a is v else a


def _match(graph: Graph, c: Node, users: dict, live: set) -> tuple | None:
    """``(mul node, scale, add node or None, shift or None)`` folding into ``c``."""
    if c.op is _CONV:
        axis = 1
    elif c.op is _LINEAR and len(c.inputs) >= 2 and c.inputs[1].__class__ is Value \
            and len(c.inputs[1].shape) == 2:
        axis = len(c.outputs[0].shape) - 1
    else:
        return None
    y = c.outputs[0]
    if y.id in live or len(users.get(y.id, ())) != 1 or \
            any(users.get(h.id) or h.id in live for h in c.outputs[1:]):
        return None
    m = users[y.id][0]
    s = _other(m, y) if m.op is _MUL and not m.attrs else None
    if s is None or not _channel(s, y, axis) or m.outputs[0].shape != y.shape:
        return None
    p = m.outputs[0]
    if p.id in live or len(users.get(p.id, ())) != 1:
        return m, s, None, None
    a = users[p.id][0]
    t = _other(a, p) if a.op is _ADD and a.attrs.get("alpha", 1) == 1 else None
    if t is None or not _channel(t, y, axis) or a.outputs[0].shape != y.shape:
        return m, s, None, None
    return m, s, a, t


def _channel(v: Any, y: Value, axis: int) -> bool:
    """``v`` broadcasts against ``y`` along ``axis`` only, one entry per channel, in
    ``y``'s dtype."""
    if v.__class__ is not Value or v.dtype != y.dtype:
        return False
    lead = len(y.shape) - len(v.shape)
    if lead < 0 or lead > axis:
        return False
    return all(s == (y.shape[axis] if lead + k == axis else 1) for k, s in enumerate(v.shape))


def _reshaped(graph: Graph, v: Value, shape: tuple, at: int) -> tuple[Value, int]:
    if v.shape == shape:
        return v, at
    node = graph.add_node(_RESHAPE, [v], {"shape": shape}, [(shape, v.dtype)], at=at)
    return node.outputs[0], at + 1


def _fold(graph: Graph, c: Node, m: Node, s: Value, a: Node | None, t: Value | None) -> None:
    """Replace ``c``, ``m`` (and ``a``) by nodes computing the folded weight and bias and
    one conv, placed where the last of them was."""
    last = a or m
    at = graph.nodes.index(last)
    x, w = c.inputs[0], c.inputs[1]
    b = c.inputs[2] if len(c.inputs) > 2 else None
    o = w.shape[0]
    s_w, at = _reshaped(graph, s, (o,) + (1,) * (len(w.shape) - 1), at)
    w2 = graph.add_node(_MUL, [w, s_w], {}, [(w.shape, w.dtype)], at=at).outputs[0]
    at += 1
    if b is not None:
        s_b, at = _reshaped(graph, s, (o,), at)
        b2 = graph.add_node(_MUL, [b, s_b], {}, [((o,), w.dtype)], at=at).outputs[0]
        at += 1
    else:
        b2 = None
    if t is not None:
        t_b, at = _reshaped(graph, t, (o,), at)
        if b2 is None:
            b2 = t_b
        else:
            b2 = graph.add_node(_ADD, [b2, t_b], {}, [((o,), w.dtype)], at=at).outputs[0]
            at += 1
    inputs = [x, w2, b2] + list(c.inputs[3:])
    meta = [(v.shape, v.dtype) for v in c.outputs]
    conv = graph.add_node(c.op, inputs, c.attrs, meta, n_visible=c.n_visible, at=at)
    graph.replace_uses(last.outputs[0], conv.outputs[0], at + 1)
    gone = {id(c), id(m), id(last)}
    graph.nodes = [n for n in graph.nodes if id(n) not in gone]


def run(graph: Graph, ctx: Any) -> None:
    """Fold affine maps (eval-mode batch norm) into the conv or linear before them.

    >>> run(trace(model.eval(), (x,)), PassContext(inference=True))   # conv+bn -> conv
    """
    stats = {"folded": 0, "skipped_cost": 0}
    ctx.stats["bn_folding"] = stats
    if not ctx.inference:
        return
    done: set[int] = set()
    while True:
        users = graph.users()
        live = {v.id for v in graph.output_values()}
        writes = mutations(graph)
        where = {id(n): i for i, n in enumerate(graph.nodes)}
        for c in graph.nodes:
            if id(c) in done:
                continue
            done.add(id(c))
            hit = _match(graph, c, users, live)
            if hit is None:
                continue
            m, s, a, t = hit
            w, y = c.inputs[1], c.outputs[0]
            if math.prod(w.shape) > math.prod(y.shape):
                stats["skipped_cost"] += 1
                continue
            if not movable([v for v in c.input_values()], where[id(c)],
                           where[id(a or m)], writes):
                continue
            _fold(graph, c, m, s, a, t)
            stats["folded"] += 1
            break
        else:
            return
