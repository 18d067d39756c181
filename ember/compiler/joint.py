"""Compiled functions whose outputs need gradients: a forward graph and a backward graph.

When a compiled function (typically ``ember.compile(model)``) returns tensors that
require grad and leaves ``backward()`` to the caller, the trace goes on after the
function returns: the tracer runs ``ember.autograd.grad`` from the outputs to every
input and capture that requires grad, with placeholder output gradients, so the backward
ops are recorded too. The nodes recorded before that call form the forward graph, the
rest the backward graph; forward values the backward reads are *saved* (extra outputs of
the forward graph).

At run time one autograd node stands for the whole forward: a :class:`CompiledCall` op
applied through the ordinary dispatcher, whose forward runs the forward graph (returning
the saved values as hidden outputs) and whose backward runs the backward graph. So the
caller's ``loss.backward()`` flows through it into parameters and earlier eager ops.
"""
from __future__ import annotations

from typing import Any, Callable

from ember.autograd.grad_mode import state as grad_state
from ember.compiler import executor
from ember.compiler.ir import Graph, Value
from ember.compiler.passes import PassContext, run_passes
from ember.compiler.signature import unflatten
from ember.ops.registry import Op, apply
from ember.tensor import _make

__all__ = ["Guarded", "JointEntry", "trace_backward"]


class CompiledCall(Op):
    """One call of a compiled forward graph, differentiable through its backward graph."""

    saves = ()

    def __init__(self, name: str, forward_run: Callable, backward_run: Callable,
                 n_visible: int, n_saved: int, n_inputs: int, needs_grad: list) -> None:
        self.name = f"compiled_{name}"
        super().__init__()
        self.hidden = n_saved
        self._fwd, self._bwd = forward_run, backward_run
        self._n_visible, self._n_inputs = n_visible, n_inputs
        self._needs_grad = needs_grad     # which visible outputs the backward graph takes

    def forward(self, xp: Any, *arrays: Any) -> Any:
        outs, _ = self._fwd(*arrays[:self._n_inputs])
        return tuple(outs)

    def backward(self, ctx: Any, *grads: Any) -> tuple:
        if grad_state.enabled:
            raise RuntimeError(f"{self.name}: double backward (create_graph=True) through an "
                               f"ember.compile'd function is not supported; call it eagerly")
        outs, _ = self._bwd(*[g._data for g, need in zip(grads, self._needs_grad) if need],
                            *ctx.saved)
        return tuple(None if o is None else _make(o) for o in outs)


def trace_backward(tracer: Any, graph: Graph, outputs: list, args: list) -> tuple:
    """Record the backward of ``outputs`` (the tensors that require grad) w.r.t. those of
    ``args`` that require grad into ``graph``, and split it. Returns ``(forward graph,
    backward graph, saved values)``; the backward graph has one output per arg."""
    from ember.autograd.functional import grad as autograd_grad
    split = len(graph.nodes)
    placeholders = []
    for o in outputs:
        g = _make(o._data.copy())
        g._data.fill(1)
        placeholders.append(g)
    targets = [a for a in args if a._rg]
    with tracer:
        grad_values = [graph._value(g._data.shape, g._data.dtype, "input")
                       for g in placeholders]
        for g, v in zip(placeholders, grad_values):
            tracer.bind(g, v)
        grads = iter(autograd_grad(outputs, targets, grad_outputs=placeholders,
                                   retain_graph=True, allow_unused=True))
        grad_out = [None if not a._rg else _value_or_none(tracer, next(grads)) for a in args]
    fwd_nodes, bwd_nodes = graph.nodes[:split], graph.nodes[split:]
    defined_fwd = {v.id for n in fwd_nodes for v in n.outputs} | {v.id for v in graph.inputs}
    saved: list[Value] = []
    seen: set = set()
    for n in bwd_nodes:
        for v in n.input_values():
            if v.id in defined_fwd and v.id not in seen:
                seen.add(v.id)
                saved.append(v)
    for v in grad_out:
        if v is not None and v.id in defined_fwd and v.id not in seen:
            seen.add(v.id)
            saved.append(v)
    used_bwd = {v.id for n in bwd_nodes for v in n.input_values()} | \
        {v.id for v in grad_out if v is not None}
    bwd = Graph(graph.name + "_backward")
    bwd.inputs = grad_values + saved
    bwd.captures = [v for v in graph.captures if v.id in used_bwd]
    bwd.consts = [v for v in graph.consts if v.id in used_bwd]
    bwd.nodes = bwd_nodes
    bwd.outputs = grad_out
    bwd._next = graph._next
    graph.nodes = fwd_nodes
    return graph, bwd, saved


def _value_or_none(tracer: Any, g: Any) -> Value | None:
    return None if g is None else tracer.value_of(g)


class Guarded:
    """A cache entry valid while each recorded guard ``fn()`` still equals its value."""

    __slots__ = ()
    guards: list

    def valid(self) -> bool:
        for fn, expected in self.guards:
            if fn() != expected:
                return False
        return True


class JointEntry(Guarded):
    """A cached signature whose outputs carry gradients (see the module docstring)."""

    batch = None
    template = None

    def __init__(self, graph: Graph, backward: Graph, saved: list, guards: list,
                 out_spec: Any, positions: list, grad_captures: list, trace_s: float,
                 options: dict | None, needs_grad: list) -> None:
        visible = list(graph.outputs)
        ctx = PassContext()
        graph.outputs = [v for v in visible if v.__class__ is Value] + saved
        run_passes(graph, ctx, {**(options or {}), "memory": False})
        run_passes(backward, PassContext(), {**(options or {}), "memory": False})
        graph.verify()
        backward.verify()
        self.graph, self.backward_graph = graph, backward
        self.visible = visible
        self.guards = guards
        self.out_spec = out_spec
        self.positions = positions
        self.grad_captures = grad_captures
        self.trace_s = trace_s
        self.compile_s = 0.0
        self.stats = ctx.stats
        self.op = CompiledCall(graph.name, executor.build(graph), executor.build(backward),
                               len(graph.outputs) - len(saved), len(saved),
                               len(graph.inputs), needs_grad)
        self.needs_grad = needs_grad

    def __call__(self, leaves: list) -> Any:
        args = tuple(leaves[i] for i in self.positions) + tuple(self.grad_captures)
        outs = apply(self.op, args, {})
        outs = outs if isinstance(outs, tuple) else (outs,)
        it = iter(o if need else _make(o._data) for o, need in zip(outs, self.needs_grad))
        res = [next(it) if v.__class__ is Value else v for v in self.visible]
        return unflatten(self.out_spec, res)
