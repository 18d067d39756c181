"""Elementwise fusion: a chain or small DAG of elementwise ops whose intermediate values
nobody else reads becomes one node running a :class:`~ember.compiler.fused.Fused` op.

Groups grow backwards from a root (the last op of the group, whose value escapes) over
producers whose every user is already in the group. The fused node takes the root's
place and keeps its output value, so nothing downstream changes. An op is moved to the
root's position only when no node in between writes (``op.mutates``) anything it reads
or an alias of it; values that leave the graph (outputs, ``.grad`` effects) are never
absorbed, and nodes with effects are never fused.

``ctx.stats["fusion"]``: ``groups`` made, ``nodes`` fused into them, ``removed``
(nodes fewer in the graph).
"""
from __future__ import annotations

from typing import Any

from ember.compiler.fused import fused_op
from ember.compiler.ir import Graph, Node, Value
from ember.ops.registry import REGISTRY

__all__ = ["run", "FUSABLE", "alias_root", "mutations", "movable"]

#: ops computed elementwise with broadcasting, one output, no effects
FUSABLE = frozenset("""
    cast add sub mul div div_rounded remainder fmod neg pow where eq ne lt le gt ge
    bitwise_and bitwise_or bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift
    logical_and logical_or logical_xor logical_not
    exp exp2 expm1 log log2 log10 log1p sqrt rsqrt reciprocal sin cos tan asin acos atan
    sinh cosh tanh asinh acosh atanh sigmoid erf erfc erfinv frac abs sign floor ceil trunc
    round nan_to_num isnan isinf isfinite isposinf isneginf clamp maximum minimum fmax fmin
    atan2 hypot logaddexp logaddexp2 xlogy lerp
    threshold threshold_backward relu hardtanh leaky_relu elu gelu silu softplus mish
    hardswish hardsigmoid logsigmoid
""".split())


def alias_root(v: Value) -> Value:
    """The value whose memory ``v`` shares through view ops (``v`` itself if none)."""
    while v.producer is not None and v.producer.op.view:
        v = v.producer.inputs[0]
    return v


def mutations(graph: Graph) -> list[tuple[int, set[int]]]:
    """``(position, ids of the alias roots it writes)`` for each node that mutates."""
    return [(i, {alias_root(v).id for v in n.mutated})
            for i, n in enumerate(graph.nodes) if n.mutated]


def movable(reads: list[Value], start: int, end: int, writes: list) -> bool:
    """Whether values read at position ``start`` read the same at ``end``: no node
    strictly between writes into any of them or an alias."""
    roots = {alias_root(v).id for v in reads}
    return not any(start < i < end and roots & hit for i, hit in writes)


def _fusable(n: Node) -> bool:
    op = n.op
    return (op.name in FUSABLE and REGISTRY.get(op.name) is op and len(n.outputs) == 1
            and n.n_visible == 1 and not n.has_effects and n.buffer is None)


def _group(graph: Graph, i: int, users: dict, live: set, taken: set, writes: list,
           where: dict) -> list[Node]:
    """The nodes to fuse with root ``graph.nodes[i]``, in graph order."""
    members = {id(graph.nodes[i]): graph.nodes[i]}
    grown = True
    while grown:                # until no producer joins (a value may wait for its users)
        grown = False
        for n in list(members.values()):
            for v in n.input_values():
                p = v.producer
                if id(p) not in where or id(p) in members or id(p) in taken or not _fusable(p) \
                        or v.id in live or any(id(u) not in members for u in users[v.id]):
                    continue
                if not movable(list(p.input_values()), where[id(p)], i, writes):
                    continue
                members[id(p)] = p
                grown = True
    return sorted(members.values(), key=lambda n: where[id(n)])


def _fuse(members: list[Node]) -> Node:
    """One node running ``members`` (the last is the root) as a Fused op."""
    step_of = {id(n.outputs[0]): j for j, n in enumerate(members)}
    inputs: list = []
    slot: dict[int, int] = {}

    def ref(a: Any) -> Any:
        if a.__class__ is Value:
            if id(a) in step_of:
                return ("s", step_of[id(a)])
        elif a is None or isinstance(a, (bool, int, float, str)):
            return a
        if id(a) not in slot:
            slot[id(a)] = len(inputs)
            inputs.append(a)
        return ("i", slot[id(a)])

    steps = [(n.op, tuple(ref(a) for a in n.inputs), n.attrs) for n in members]
    op = fused_op(steps, [n.outputs[0].dtype for n in members])
    out = members[-1].outputs[0]
    node = Node(op, inputs, {}, [out])
    out.producer, out.index = node, 0
    node.meta["fused"] = [n.name for n in members]
    return node


def run(graph: Graph, ctx: Any) -> None:
    """Fuse elementwise groups in ``graph`` in place; see the module docstring.

    >>> g = trace(lambda x: (x * 2 + 1).relu(), (ember.randn(3),))
    >>> run(g, PassContext()); [n.name for n in g.nodes]
    ['fused[relu(add(mul(a0, a1), a2))]']
    """
    users = graph.users()
    live = {v.id for v in graph.output_values()}
    writes = mutations(graph)
    where = {id(n): i for i, n in enumerate(graph.nodes)}
    taken: set[int] = set()
    replace: dict[int, Node] = {}
    groups = fused = 0
    for i in range(len(graph.nodes) - 1, -1, -1):
        root = graph.nodes[i]
        if id(root) in taken or not _fusable(root):
            continue
        members = _group(graph, i, users, live, taken, writes, where)
        taken.update(id(n) for n in members)
        if len(members) < 2:
            continue
        replace[id(root)] = _fuse(members)
        for n in members[:-1]:
            replace[id(n)] = None
        groups += 1
        fused += len(members)
    graph.nodes = [replace.get(id(n), n) for n in graph.nodes
                   if replace.get(id(n), n) is not None]
    ctx.stats["fusion"] = {"groups": groups, "nodes": fused, "removed": fused - groups}
