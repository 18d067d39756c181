"""Ops that exist only in graphs: effects the tracer makes explicit."""
from __future__ import annotations

from typing import Any

from ember.ops.registry import Op

__all__ = ["CopyInto", "copy_into", "AddInto", "Slot", "fill_slots", "WithIndexArrays",
           "with_index_arrays"]


class CopyInto(Op):
    """``dst[...] = src``: an in-place write into a capture or an input, as traced."""

    name = "copy_into"
    mutates = (0,)
    differentiable = False

    def forward(self, xp: Any, dst: Any, src: Any) -> None:
        dst[...] = src


copy_into = CopyInto()


class AddInto(Op):
    """``a + b`` written into input ``into`` (0 or 1): memory planning gives an ``add``
    this op when that input is a fresh array of the result's shape and dtype that
    nothing reads afterwards (the gradients a training step sums), saving an
    allocation the size of the result."""

    name = "add_into"
    differentiable = False

    def __init__(self, into: int) -> None:
        super().__init__()
        self.into = into

    def forward(self, xp: Any, a: Any, b: Any, alpha: Any = 1) -> Any:
        return xp.add(a, b, out=(a, b)[self.into])


class Slot:
    """Stands in a node's attrs for the index array held by one of the node's trailing
    inputs (``k`` counts from the first of them)."""

    __slots__ = ("k",)

    def __init__(self, k: int) -> None:
        self.k = k

    def __eq__(self, other: Any) -> bool:
        return other.__class__ is Slot and other.k == self.k

    def __hash__(self) -> int:
        return hash(("slot", self.k))

    def __repr__(self) -> str:
        return f"$in{self.k}"


def fill_slots(x: Any, arrays: tuple) -> Any:
    """``x`` (an attr, possibly nested in tuples/lists) with each :class:`Slot` replaced
    by its array."""
    if x.__class__ is Slot:
        return arrays[x.k]
    if isinstance(x, (tuple, list)):
        return type(x)(fill_slots(e, arrays) for e in x)
    return x


class WithIndexArrays(Op):
    """``inner`` applied with attrs that hold index arrays computed by the graph: the
    first ``n_args`` inputs are ``inner``'s own, the rest fill the attrs' slots. This is
    how ``x[i]`` with a tensor ``i`` reads each call's ``i`` instead of the traced one."""

    def __init__(self, inner: Op, n_args: int) -> None:
        self.inner = inner
        self.n_args = n_args
        self.name = inner.name
        for attr in ("view", "hidden", "differentiable", "mutates", "random", "checks"):
            if hasattr(inner, attr):
                setattr(self, attr, getattr(inner, attr))
        super().__init__()

    def forward(self, xp: Any, *arrays: Any, **attrs: Any) -> Any:
        n = self.n_args
        extra = arrays[n:]
        return self.inner.forward(xp, *arrays[:n],
                                  **{k: fill_slots(v, extra) for k, v in attrs.items()})

    def __repr__(self) -> str:
        return f"<op {self.name} with index inputs>"


_WRAPPED: dict = {}


def with_index_arrays(inner: Op, n_args: int) -> WithIndexArrays:
    """The one :class:`WithIndexArrays` for ``(inner, n_args)`` (so two traces of the same
    code hold the same op)."""
    key = (inner, n_args)
    op = _WRAPPED.get(key)
    if op is None:
        op = _WRAPPED[key] = WithIndexArrays(inner, n_args)
    return op
