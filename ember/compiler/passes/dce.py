"""Dead code elimination, and the rewrite bookkeeping the basic passes share.

:func:`run` deletes every node none of whose outputs is needed (transitively) by the
graph's outputs or ``.grad`` effects, unless it has effects (writes an input or draws
random numbers), and drops consts no node or output reads any more.

:class:`Rewriter` is the sweep that ``algebraic``, ``constant_folding`` and ``cse`` use
to replace one value by another: it refuses a replacement that would change what an
in-place write or a returned tensor sees (see :meth:`Rewriter.replaceable`).
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterator

from ember.compiler.ir import Graph, Node, Value

__all__ = ["run", "Rewriter"]


def run(graph: Graph, ctx: Any) -> None:
    """Remove dead nodes and unread consts from ``graph`` in place.

    >>> run(graph, PassContext())    # ctx.stats["dce"] == {"nodes": 3, "consts": 1}
    """
    live = {v.id for v in graph.output_values()}
    keep: list[Node] = []
    for n in reversed(graph.nodes):
        if n.has_effects or any(v.id in live for v in n.outputs):
            keep.append(n)
            live.update(v.id for v in n.input_values())
    removed = len(graph.nodes) - len(keep)
    graph.nodes = keep[::-1]
    consts = [v for v in graph.consts if v.id in live]
    ctx.stats["dce"] = {"nodes": removed, "consts": len(graph.consts) - len(consts)}
    graph.consts = consts


class Rewriter:
    """One forward sweep that replaces values and drops nodes of ``graph``.

    Iterate :meth:`nodes` (each node's inputs already read through the replacements made
    so far), call :meth:`replace` / :meth:`drop`, then :meth:`finish` to write the result
    back into the graph. Positions are those of the nodes when the sweep began.

    >>> rw = Rewriter(graph)
    >>> for i, node in rw.nodes():
    ...     if rw.replaceable(node.outputs[0], x, i):
    ...         rw.replace(node.outputs[0], x); rw.drop(node)
    >>> rw.finish()
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.subst: dict[int, Any] = {}
        self.dropped: set[int] = set()
        self.pos = {id(n): i for i, n in enumerate(graph.nodes)}
        # root id -> positions of the nodes that write into that memory
        self.writes: dict[int, list[int]] = {}
        for i, n in enumerate(graph.nodes):
            for v in n.mutated:
                self.writes.setdefault(self.root(v).id, []).append(i)
        # root id -> how many live-out values (outputs, grads) share that memory
        self.live = Counter(self.root(v).id for v in graph.output_values())

    def defined_here(self, v: Value) -> bool:
        """Is ``v`` computed by a node of this graph? (A backward graph's inputs include
        values a forward graph's nodes computed.)"""
        return v.kind == "node" and id(v.producer) in self.pos

    def root(self, v: Value) -> Value:
        """The value whose memory ``v`` may share: follows view ops of this graph back
        to their input 0. Conservative: a reshape that had to copy still counts."""
        while self.defined_here(v) and v.index == 0 and v.producer.op.view:
            src = v.producer.inputs[0] if v.producer.inputs else None
            if src.__class__ is not Value:
                break
            v = src
        return v

    def get(self, a: Any) -> Any:
        """``a`` read through the replacements made so far."""
        return self.subst.get(a.id, a) if a.__class__ is Value else a

    def nodes(self) -> Iterator[tuple[int, Node]]:
        """``(position, node)`` in order, the node's inputs already substituted."""
        for i, n in enumerate(list(self.graph.nodes)):
            if self.subst:
                n.inputs = [self.get(a) for a in n.inputs]
            yield i, n

    def position(self, v: Value) -> int:
        """Where ``v`` is defined (-1 for inputs, captures and consts)."""
        return self.pos[id(v.producer)] if self.defined_here(v) else -1

    def written_after(self, v: Value, since: int) -> bool:
        """Does some node after position ``since`` write into ``v``'s memory?"""
        return any(p > since for p in self.writes.get(self.root(v).id, ()))

    def constant(self, v: Any) -> bool:
        """Is ``v`` a const value that no node writes into (so its data is what every
        call reads)?"""
        return v.__class__ is Value and v.kind == "const" and \
            self.root(v).id not in self.writes

    def replaceable(self, old: Value, new: Value, since: int) -> bool:
        """May every later read of ``old`` read ``new`` instead? ``new`` must hold
        ``old``'s value from position ``since`` on.

        Refused when the two differ in shape or dtype, when a node after ``since`` writes
        into either's memory, or when a returned tensor (an output or ``.grad``) would
        come to share memory with an input, capture, const or another returned tensor
        that it did not share memory with before.
        """
        if new.shape != old.shape or new.dtype != old.dtype:
            return False
        if self.written_after(old, since) or self.written_after(new, since):
            return False
        r_old, r_new = self.root(old), self.root(new)
        if r_old is r_new or not self.live[r_old.id]:
            return True
        return r_old is old and self.defined_here(r_new) and not self.live[r_new.id]

    def replace(self, old: Value, new: Value) -> None:
        """Make later reads of ``old`` read ``new`` (check :meth:`replaceable` first)."""
        r_old, r_new = self.root(old), self.root(new)
        if r_old is not r_new and self.live[r_old.id]:
            self.live[r_new.id] += self.live.pop(r_old.id)
        self.subst[old.id] = new

    def drop(self, node: Node) -> None:
        """Delete ``node`` from the graph when the sweep finishes."""
        self.dropped.add(id(node))

    def finish(self) -> None:
        """Write the surviving nodes and the substituted outputs back into the graph."""
        g = self.graph
        if self.dropped:
            g.nodes = [n for n in g.nodes if id(n) not in self.dropped]
        if self.subst:
            for n in g.nodes:      # nodes after the last one the sweep visited
                n.inputs = [self.get(a) for a in n.inputs]
            g.outputs = [self.get(v) for v in g.outputs]
            g.grad_effects = [(t, self.get(v)) for t, v in g.grad_effects]
