"""A node of the backward graph: one recorded op application (``tensor.grad_fn``).

The node keeps what the op's backward needs: the input tensors, the attributes, any
hidden arrays the forward produced for it, weak references to its outputs, and for each
differentiable input an *edge* ``(grad_fn, output_nr, leaf, shape, dtype)`` telling the
engine where that input's gradient goes.
"""
from __future__ import annotations

import weakref
from typing import Any

__all__ = ["Node", "AccumulateGrad", "RemovableHandle"]

#: callables told the edges of every new node (GradientTape notes the leaves used)
observers: list = []


class RemovableHandle:
    """Returned by ``register_hook``; ``handle.remove()`` takes the hook off."""

    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list, hook: Any):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


class AccumulateGrad:
    """Stand-in for a leaf in ``next_functions``, as PyTorch shows it."""

    __slots__ = ("variable",)

    def __init__(self, variable: Any):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    next_functions: tuple = ()

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


class Node:
    """One op application recorded for backward; see the module docstring."""

    __slots__ = ("op", "inputs", "attrs", "saved", "edges", "outs", "versions",
                 "out_saved", "out_meta", "hooks", "freed", "trace", "fctx", "__weakref__")

    def __init__(self, op: Any, inputs: tuple, attrs: dict, saved: tuple, edges: tuple):
        self.op = op
        self.inputs = inputs
        self.attrs = attrs
        self.saved = saved
        self.edges = edges
        self.outs: tuple = ()
        self.versions: tuple = ()
        self.out_saved: tuple = ()
        self.out_meta: tuple = ()
        self.hooks: dict | None = None
        self.freed = False
        self.trace = None
        self.fctx = None
        if observers:
            for f in observers:
                f(edges)

    # -- what backward functions read -------------------------------------------------
    @property
    def out(self) -> Any:
        """The (first) output, for ops that declare ``saves_output``."""
        return self.output(0)

    def output(self, i: int) -> Any:
        """Output ``i`` as a tensor attached to this node (rebuilt from the saved array if
        the user's tensor object is gone, like PyTorch's saved variables)."""
        from ember.tensor import _make
        if self.out_saved is None:
            raise RuntimeError(f"{self.name()}: saved output was freed after backward; "
                               f"pass retain_graph=True to backward through it again")
        arr, vc, _ = self.out_saved[i]
        t = self.outs[i]()
        if t is not None and t._data is arr:
            return t
        t = _make(arr, True)
        t.grad_fn, t._nr, t._vc = self, i, vc
        return t

    # -- PyTorch-compatible introspection -------------------------------------------
    def name(self) -> str:
        return self.op.grad_name

    @property
    def next_functions(self) -> tuple:
        out = []
        for e in self.edges:
            if e is None:
                out.append((None, 0))
            elif e[0] is None:
                out.append((AccumulateGrad(e[2]), 0))
            else:
                out.append((e[0], e[1]))
        return tuple(out)

    def register_hook(self, fn: Any) -> RemovableHandle:
        raise RuntimeError("Node.register_hook is not supported; use Tensor.register_hook")

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    def __call__(self, *grads: Any) -> Any:
        return self.op.backward(self, *grads)

    # -- lifetime -----------------------------------------------------------------------
    def release(self) -> None:
        """Drop saved tensors after a backward pass that does not retain the graph."""
        self.inputs = None
        self.saved = None
        self.out_saved = None
        self.versions = ()           # (tensor, version) pairs: they hold the inputs too
        self.freed = True
        if self.fctx is not None:
            self.fctx._release()

    def add_output_hook(self, idx: int, hook: Any, last: bool = False) -> RemovableHandle:
        """Call ``hook(grad)`` on output ``idx``'s gradient; ``last`` hooks (retain_grad)
        run after every other hook whenever those were registered, as in PyTorch."""
        if self.hooks is None:
            self.hooks = {}
        lst = self.hooks.setdefault(idx, [])
        if last:
            hook._runs_last = True
            lst.append(hook)
        else:
            pos = len(lst)
            while pos and getattr(lst[pos - 1], "_runs_last", False):
                pos -= 1
            lst.insert(pos, hook)
        return RemovableHandle(lst, hook)


def weak(t: Any) -> weakref.ref:
    return weakref.ref(t)
