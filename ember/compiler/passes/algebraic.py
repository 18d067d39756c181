"""Algebraic simplification: drop ops that give back their input, shorten op chains.

Rules (each counted under its name in ``ctx.stats["algebraic"]``):

* ``mul_one``, ``add_zero``, ``sub_zero``, ``div_one``, ``pow_one``: ``x * 1``, ``1 * x``,
  ``x + 0``, ``0 + x``, ``x - 0``, ``x / 1``, ``x ** 1`` become ``x`` where the result
  has ``x``'s shape and dtype (so no broadcasting or promotion is lost); the ones and
  zeros may be literals or consts of any shape. (``-0.0 + 0`` is ``+0.0``, so ``x + 0``
  can turn a result's ``+0.0`` back into ``-0.0``: equal, but not the same bits.)
* ``neg_neg``: ``-(-x)`` becomes ``x``;
* ``permute_chain`` / ``permute_identity``: two permutes become one, and a permute that
  keeps the order disappears (``x.t().t()`` is ``x``);
* ``reshape_chain`` / ``reshape_identity``: a chain of reshapes (``view``, ``flatten``,
  ``squeeze``, ...) becomes one reshape, and a reshape to the input's shape disappears;
  ``expand_identity`` likewise;
* ``cast_chain`` / ``cast_identity``: ``cast(cast(x, A), B)`` becomes ``cast(x, B)``
  where ``x -> A`` keeps every value exactly, and a cast to ``x``'s own dtype
  disappears.

Every rewrite goes through :class:`~ember.compiler.passes.dce.Rewriter`, which refuses
those an in-place write or a returned tensor could tell apart.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Optional, Tuple

import numpy as np

from ember.compiler.ir import Graph, Node, Value
from ember.compiler.passes.dce import Rewriter

__all__ = ["run", "exact_cast"]


def run(graph: Graph, ctx: Any) -> None:
    """Simplify ``graph`` in place.

    >>> run(graph, PassContext())    # ctx.stats["algebraic"] == {"mul_one": 1, ...}
    """
    rw = Rewriter(graph)
    counts: Counter = Counter()
    for i, n in rw.nodes():
        rule = _RULES.get(n.op.name)
        if rule is None or n.has_effects or len(n.outputs) != 1:
            continue
        found = rule(rw, n, counts)
        if found is None:
            continue
        name, x, since = found
        if x.__class__ is Value and rw.replaceable(n.outputs[0], x,
                                                   i if since is None else since):
            rw.replace(n.outputs[0], x)
            rw.drop(n)
            counts[name] += 1
    rw.finish()
    ctx.stats["algebraic"] = dict(counts)


#: what a rule finds: (its name, the value equal to the node's output, the position from
#: which that value must stay unchanged, None for the node's own), or None
Found = Optional[Tuple[str, Any, Optional[int]]]


# -- elementwise identities ----------------------------------------------------------------
def _filled(rw: Rewriter, a: Any, value: int) -> bool:
    """Is ``a`` (a literal or a const no node writes) ``value`` everywhere?"""
    if a.__class__ is Value:
        if not rw.constant(a):
            return False
        a = a.data
    elif isinstance(a, (str, bytes)) or a is None:
        return False
    try:
        return bool(np.all(np.asarray(a) == value))
    except (TypeError, ValueError):
        return False


def _finite(alpha: Any) -> bool:
    try:
        return bool(np.isfinite(alpha))
    except TypeError:
        return False


def _binary(rw: Rewriter, n: Node, counts: Counter) -> Found:
    if len(n.inputs) != 2:
        return None
    a, b = n.inputs
    name = n.op.name
    alpha = n.attrs.get("alpha", 1)
    if name == "mul":
        if _filled(rw, b, 1):
            return "mul_one", a, None
        if _filled(rw, a, 1):
            return "mul_one", b, None
    elif name in ("add", "sub"):
        if _filled(rw, b, 0) and _finite(alpha):
            return f"{name}_zero", a, None
        if name == "add" and _filled(rw, a, 0) and _finite(alpha) and alpha == 1:
            return "add_zero", b, None
    elif _filled(rw, b, 1):
        return f"{name}_one", a, None
    return None


# -- chains --------------------------------------------------------------------------------
def _inner(rw: Rewriter, n: Node) -> tuple[Node, Value] | None:
    """``(producer, its input 0)`` when ``n``'s input 0 comes from a node of the same op,
    and nothing writes into either value after that producer ran (so ``n`` may read the
    producer's input instead)."""
    x = n.inputs[0] if n.inputs else None
    if x.__class__ is not Value or not rw.defined_here(x) or x.producer.op is not n.op:
        return None
    src = x.producer.inputs[0] if x.producer.inputs else None
    at = rw.position(x)
    if src.__class__ is not Value or rw.written_after(x, at) or rw.written_after(src, at):
        return None
    return x.producer, src


def _neg(rw: Rewriter, n: Node, counts: Counter) -> Found:
    hit = _inner(rw, n)
    return None if hit is None else ("neg_neg", hit[1], rw.pos[id(hit[0])])


def _permute(rw: Rewriter, n: Node, counts: Counter) -> Found:
    hit = _inner(rw, n)
    if hit is not None:
        inner = hit[0].attrs["dims"]
        n.inputs[0] = hit[1]
        n.attrs = {**n.attrs, "dims": tuple(inner[d] for d in n.attrs["dims"])}
        counts["permute_chain"] += 1
    dims = n.attrs["dims"]
    return ("permute_identity", n.inputs[0], None) if tuple(dims) == tuple(
        range(len(dims))) else None


def _reshape(rw: Rewriter, n: Node, counts: Counter) -> Found:
    hit = _inner(rw, n)
    if hit is not None:
        # the chain succeeded when traced, so the one reshape needs no view-only check
        n.inputs[0] = hit[1]
        n.attrs = {"shape": n.attrs["shape"]}
        counts["reshape_chain"] += 1
    return _same_shape(n, "reshape_identity")


def _expand(rw: Rewriter, n: Node, counts: Counter) -> Found:
    return _same_shape(n, "expand_identity")


def _same_shape(n: Node, name: str) -> Found:
    x = n.inputs[0]
    return (name, x, None) if x.__class__ is Value and x.shape == n.outputs[0].shape \
        else None


def _cast(rw: Rewriter, n: Node, counts: Counter) -> Found:
    hit = _inner(rw, n)
    if hit is not None and exact_cast(hit[1].dtype, n.inputs[0].dtype):
        n.inputs[0] = hit[1]
        counts["cast_chain"] += 1
    x = n.inputs[0]
    return ("cast_identity", x, None) if x.__class__ is Value and \
        x.dtype == n.outputs[0].dtype else None


# -- exact casts ---------------------------------------------------------------------------
# float dtype -> (significand bits, largest exponent, exponent of the smallest subnormal)
_FLOATS = {"float16": (11, 15, -24), "bfloat16": (8, 127, -133),
           "float32": (24, 127, -149), "float64": (53, 1023, -1074)}


def exact_cast(src: Any, dst: Any) -> bool:
    """Does casting from dtype ``src`` to ``dst`` keep every value exactly?

    >>> exact_cast(np.float32, np.float64), exact_cast(np.int64, np.float64)
    (True, False)
    """
    src, dst = np.dtype(src), np.dtype(dst)
    if src == dst or src.kind == "b":
        return True
    if dst.kind == "b":
        return False
    if src.kind in "iu":
        bits = src.itemsize * 8 - (src.kind == "i")
        if dst.kind in "iu":
            if src.kind == "i" and dst.kind == "u":
                return False
            return dst.itemsize * 8 - (dst.kind == "i") >= bits
        return dst.name in _FLOATS and _FLOATS[dst.name][0] >= bits
    s, d = _FLOATS.get(src.name), _FLOATS.get(dst.name)
    return s is not None and d is not None and d[0] >= s[0] and d[1] >= s[1] and \
        d[2] <= s[2]


_RULES: dict[str, Callable] = {"mul": _binary, "add": _binary, "sub": _binary,
                               "div": _binary, "pow": _binary, "neg": _neg,
                               "permute": _permute, "reshape": _reshape,
                               "expand": _expand, "cast": _cast}
