"""Constant folding: run, once at compile time, every node whose inputs are all constants.

A node without effects whose inputs are consts or literals is evaluated with its op's own
``forward`` and replaced by const values holding the results (made read-only, so that
no later in-place write can corrupt them across calls). Captures (parameters, optimizer
state) are not constants: they change between calls. A node is left alone when its
results would exceed :data:`MAX_ELEMENTS` elements (a const costs memory for the
graph's lifetime), when a returned tensor would share memory with a const, when
something writes into its outputs, or when its forward raises (the error then happens
at run time, as it would have).
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ember.backend import array_module
from ember.compiler.ir import Graph, Node, Value
from ember.compiler.passes.dce import Rewriter

__all__ = ["run", "MAX_ELEMENTS"]

#: the largest result (total elements over a node's outputs) that is folded
MAX_ELEMENTS = 1 << 20


def run(graph: Graph, ctx: Any) -> None:
    """Fold the constant nodes of ``graph`` in place.

    >>> run(graph, PassContext())    # ctx.stats["constant_folding"] == {"folded": 2, ...}
    """
    rw = Rewriter(graph)
    folded = too_large = 0
    for i, n in rw.nodes():
        if n.has_effects or not n.outputs or not all(
                rw.constant(a) for a in n.input_values()):
            continue
        if sum(math.prod(v.shape) for v in n.outputs) > MAX_ELEMENTS:
            too_large += 1
            continue
        # a const is shared by all calls: nothing may write into it or return it
        if any(rw.written_after(v, i) or rw.live[rw.root(v).id] for v in n.outputs):
            continue
        results = _evaluate(n)
        if results is None:
            continue
        for v, arr in zip(n.outputs, results):
            rw.replace(v, graph.add_const(arr))
        rw.drop(n)
        folded += 1
    rw.finish()
    ctx.stats["constant_folding"] = {"folded": folded, "too_large": too_large}


def _evaluate(n: Node) -> list | None:
    """``n``'s outputs computed now, read-only, or None if they cannot be."""
    args = [a.data if a.__class__ is Value else a for a in n.inputs]
    xp = next((array_module(v.data) for v in n.input_values()), np)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = n.op.forward(xp, *args, **n.attrs)
    except Exception:          # the same error will be raised when the graph runs
        return None
    single = len(n.outputs) == 1 and n.n_visible == 1
    results = [out] if single else list(out) if isinstance(out, (tuple, list)) else None
    if results is None or len(results) != len(n.outputs):
        return None
    arrays = []
    for v, r in zip(n.outputs, results):
        if r is None or not hasattr(r, "dtype"):
            return None
        r = xp.asarray(r)
        if tuple(r.shape) != v.shape or r.dtype != v.dtype:
            return None
        if isinstance(r, np.ndarray):
            r.flags.writeable = False
        arrays.append(r)
    return arrays
