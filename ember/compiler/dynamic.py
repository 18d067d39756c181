"""Batch-size-polymorphic graphs for ``ember.compile(dynamic=True)``.

Tracing bakes Python integers into a graph: ``x.view(x.shape[0], -1)`` records the batch
size as an attribute, ``loss.mean()`` divides by it as a literal. With ``dynamic=True``
a function traced at two batch sizes is compared node by node: when the graphs agree
everywhere except in numbers that are the same multiple of the batch size in both (the
batch itself, ``4 * batch``, ...), those numbers become symbolic and every further batch
size gets its graph by substitution, without tracing again. Graphs that differ in any
other way (a branch on the batch size, a constant whose shape depends on it) stay
specialized per batch size.

This is a heuristic, like PyTorch's "automatic dynamic" recompilation: a number that
equals an integer multiple of the batch size in both traces is taken to be one. Code
that picks different integer constants by batch size in exactly that proportion would
be generalized wrongly; such code should not use ``dynamic=True``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember.compiler.ir import Graph, Node, Value

__all__ = ["Template", "generalize"]


class _Sym:
    """``k * batch`` (an int, or a float stored in a 0-d array of ``dtype``)."""

    __slots__ = ("k", "dtype")

    def __init__(self, k: float, dtype: Any = None) -> None:
        self.k, self.dtype = k, dtype

    def value(self, batch: int) -> Any:
        if self.dtype is None:
            return int(round(self.k * batch))
        return np.asarray(self.k * batch, dtype=self.dtype)


def _ratio(a: Any, b: Any, b1: int, b2: int) -> float | None:
    """``k`` when ``a == k * b1`` and ``b == k * b2`` for one ``k > 0``, else None."""
    if not b1 or not b2:
        return None
    k = a / b1
    return k if k > 0 and abs(b - k * b2) <= 1e-9 * max(1.0, abs(b)) else None


def _unify(a: Any, b: Any, b1: int, b2: int) -> tuple[bool, Any]:
    """Compare two traced constants; returns (ok, template) where the template holds
    :class:`_Sym` wherever the values are a common multiple of the batch size."""
    if a.__class__ is Value or b.__class__ is Value:
        return a is b or (a.__class__ is Value and b.__class__ is Value), a
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a == b and type(a) is type(b), a
    if isinstance(a, int) and isinstance(b, int):
        if a == b:
            return True, a
        k = _ratio(a, b, b1, b2)
        return (k is not None and float(k).is_integer()), _Sym(k)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False, a
        if np.array_equal(a, b):
            return True, a
        if a.shape == () and a.dtype.kind in "fiu":
            k = _ratio(float(a), float(b), b1, b2)
            return k is not None and float(k).is_integer(), _Sym(k, a.dtype)
        return False, a
    if isinstance(a, (tuple, list)) and type(a) is type(b):
        if len(a) != len(b):
            return False, a
        parts = [_unify(x, y, b1, b2) for x, y in zip(a, b)]
        return all(ok for ok, _ in parts), type(a)(t for _, t in parts)
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False, a
        parts = {k: _unify(a[k], b[k], b1, b2) for k in a}
        return all(ok for ok, _ in parts.values()), {k: t for k, (_, t) in parts.items()}
    try:
        return bool(a == b), a
    except Exception:          # values whose comparison is not a bool: not comparable
        return False, a


def _fill(t: Any, batch: int) -> Any:
    if t.__class__ is _Sym:
        return t.value(batch)
    if isinstance(t, (tuple, list)):
        return type(t)(_fill(x, batch) for x in t)
    if isinstance(t, dict):
        return {k: _fill(v, batch) for k, v in t.items()}
    return t


def _has_sym(t: Any) -> bool:
    if t.__class__ is _Sym:
        return True
    if isinstance(t, (tuple, list)):
        return any(_has_sym(x) for x in t)
    if isinstance(t, dict):
        return any(_has_sym(v) for v in t.values())
    return False


class Template:
    """A graph whose batch-dependent numbers are symbolic; see the module docstring."""

    def __init__(self, graph: Graph, slots: dict[int, tuple[Any, Any]]) -> None:
        self.graph = graph
        self.slots = slots        # node position -> (inputs template, attrs template)

    def instantiate(self, batch: int) -> Graph:
        """A copy of the graph for ``batch`` (values are shared: only numbers change)."""
        g = Graph(self.graph.name)
        g.__dict__.update({k: v for k, v in self.graph.__dict__.items() if k != "nodes"})
        g.nodes = []
        for i, n in enumerate(self.graph.nodes):
            slot = self.slots.get(i)
            if slot is None:
                g.nodes.append(n)
                continue
            m = Node(n.op, _fill(slot[0], batch), _fill(slot[1], batch), n.outputs,
                     n.n_visible)
            g.nodes.append(m)
        return g


def generalize(g1: Graph, b1: int, g2: Graph, b2: int) -> Template | None:
    """A template of ``g1`` valid for any batch size, if ``g2`` (traced at ``b2``) shows
    that only multiples of the batch size differ; None otherwise."""
    if b1 == b2 or len(g1.nodes) != len(g2.nodes) or len(g1.inputs) != len(g2.inputs):
        return None
    if any(a.tensor is not b.tensor for a, b in zip(g1.captures, g2.captures)) or \
            len(g1.captures) != len(g2.captures) or \
            [t for t, _ in g1.grad_effects] != [t for t, _ in g2.grad_effects]:
        return None
    if len(g1.consts) != len(g2.consts) or any(
            not _unify(a.data, b.data, b1, b2)[0] or _has_sym(_unify(a.data, b.data, b1, b2)[1])
            for a, b in zip(g1.consts, g2.consts)):
        return None
    pos1, pos2 = _positions(g1), _positions(g2)
    slots = {}
    for i, (n1, n2) in enumerate(zip(g1.nodes, g2.nodes)):
        if n1.op is not n2.op or len(n1.inputs) != len(n2.inputs):
            return None
        for a, b in zip(n1.inputs, n2.inputs):
            if (a.__class__ is Value) != (b.__class__ is Value):
                return None
            if a.__class__ is Value and pos1[a.id] != pos2[b.id]:
                return None
        lits1 = [None if a.__class__ is Value else a for a in n1.inputs]
        lits2 = [None if b.__class__ is Value else b for b in n2.inputs]
        ok_in, t_in = _unify(lits1, lits2, b1, b2)
        ok_at, t_at = _unify(n1.attrs, n2.attrs, b1, b2)
        if not (ok_in and ok_at):
            return None
        if _has_sym(t_in) or _has_sym(t_at):
            t_in = [a if a.__class__ is Value else t for a, t in zip(n1.inputs, t_in)]
            slots[i] = (t_in, t_at)
    out1 = [pos1.get(v.id) if v.__class__ is Value else v for v in g1.outputs]
    out2 = [pos2.get(v.id) if v.__class__ is Value else v for v in g2.outputs]
    if out1 != out2:
        return None
    return Template(g1, slots)


def _positions(g: Graph) -> dict[int, tuple]:
    """Value id -> where it comes from, comparable across two traces of one function."""
    pos: dict[int, tuple] = {}
    for i, v in enumerate(g.inputs):
        pos[v.id] = ("in", i)
    for i, v in enumerate(g.captures):
        pos[v.id] = ("cap", i)
    for i, v in enumerate(g.consts):
        pos[v.id] = ("const", i)
    for i, n in enumerate(g.nodes):
        for j, v in enumerate(n.outputs):
            pos[v.id] = ("node", i, j)
    return pos
