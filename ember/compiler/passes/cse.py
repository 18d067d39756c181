"""Common subexpression elimination: compute each distinct op application once.

Two nodes merge when they apply the same op to the same inputs (the same values, or
literals equal in type, dtype and bits) with equal attributes, neither has effects, and
no in-place write reaches an input in between or either node's outputs at all. The
later node is deleted and its readers read the earlier node's outputs. ``add`` and
``mul`` also match with their two inputs swapped (both are exactly commutative).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember.compiler.ir import Graph, Value
from ember.compiler.passes.dce import Rewriter

__all__ = ["run", "literal_key"]

_COMMUTATIVE = ("add", "mul")
_MAX_HASHED = 256      # literal arrays up to this many elements are compared by value


def literal_key(x: Any) -> Any:
    """A hashable key equal for two literals/attributes exactly when they are
    interchangeable: same type (``1``, ``1.0`` and ``True`` differ), same array dtype,
    shape and bits (so ``-0.0`` differs from ``0.0``).

    >>> literal_key(np.asarray(1.0, np.float32)) == literal_key(np.float32(1.0))
    True
    """
    if x is None or isinstance(x, (bool, int, str, bytes)) and not isinstance(x, np.generic):
        return (type(x).__name__, x)
    if isinstance(x, (np.ndarray, np.generic)):
        a = np.asarray(x)
        if a.size > _MAX_HASHED or a.dtype.hasobject:
            return ("id", id(x))
        return ("array", a.dtype.name, a.dtype.str, a.shape, a.tobytes())
    if isinstance(x, float):
        return ("float", x.hex())
    if isinstance(x, (tuple, list)):
        return (type(x).__name__, tuple(literal_key(e) for e in x))
    if isinstance(x, dict):
        return ("dict", tuple(sorted((k, literal_key(v)) for k, v in x.items())))
    if isinstance(x, slice):
        return ("slice", literal_key(x.start), literal_key(x.stop), literal_key(x.step))
    if isinstance(x, np.dtype):
        return ("npdtype", x.str, x.name)
    np_dtype = getattr(x, "np", None)
    if isinstance(np_dtype, np.dtype):                     # an ember DType
        return ("dtype", type(x).__name__, np_dtype.name)
    try:
        hash(x)
    except TypeError:
        return ("id", id(x))
    return ("object", type(x).__qualname__, x)


def run(graph: Graph, ctx: Any) -> None:
    """Merge duplicate nodes of ``graph`` in place.

    >>> run(graph, PassContext())    # ctx.stats["cse"] == {"merged": 2}
    """
    rw = Rewriter(graph)
    written = set(rw.writes)       # roots some node writes into
    generation: dict[int, int] = {}
    seen: dict[Any, Any] = {}
    merged = 0
    for i, n in rw.nodes():
        if n.has_effects:
            for v in n.mutated:
                r = rw.root(v).id
                generation[r] = generation.get(r, 0) + 1
            continue
        if any(rw.root(v).id in written for v in n.outputs):
            continue
        key = _node_key(rw, n, generation)
        if key is None:
            continue
        first = seen.get(key)
        if first is None:
            seen[key] = (i, n)
            continue
        since, canon = first
        pairs = list(zip(n.outputs, canon.outputs))
        if all(rw.replaceable(d, c, since) for d, c in pairs):
            for d, c in pairs:
                rw.replace(d, c)
            rw.drop(n)
            merged += 1
    rw.finish()
    ctx.stats["cse"] = {"merged": merged}


def _node_key(rw: Rewriter, n: Any, generation: dict[int, int]) -> Any:
    """What identifies the computation ``n`` does, or None if it has no outputs."""
    if not n.outputs:
        return None
    ins = [("value", a.id, generation.get(rw.root(a).id, 0)) if a.__class__ is Value
           else literal_key(a) for a in n.inputs]
    alpha = n.attrs.get("alpha", 1)
    if n.op.name in _COMMUTATIVE and len(ins) == 2 and type(alpha) in (int, float) and \
            alpha == 1:
        ins.sort(key=repr)
    return (n.op, n.n_visible, len(n.outputs), tuple(ins), literal_key(n.attrs))
