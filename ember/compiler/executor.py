"""Run a graph with as little Python per node as possible.

:func:`build` turns a :class:`~ember.compiler.ir.Graph` into one straight-line Python
function (generated source, compiled once): each node becomes a single call
``v7 = F3(xp, v2, v5, **A3)`` of the op's own ``forward`` on arrays, with every value a
local variable. There is no dispatch, no autograd bookkeeping and no tensor wrapping
inside; the schedule is the node order. A node that memory planning gave a preallocated
``buffer`` calls ``op.forward_out(xp, buffer, *arrays, **attrs)`` instead. A local is
deleted right after the last node that reads it, so arrays are freed as early as in
eager mode.

The generated function takes the input arrays positionally, reads each capture's current
array (``tensor._data``) at the start, and returns ``(outputs, grads)`` as arrays.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ember.backend import array_module
from ember.compiler.ir import Graph, Value

__all__ = ["build", "source"]


def _name(v: Value) -> str:
    return f"v{v.id}"


def _generate(graph: Graph) -> tuple[str, dict]:
    env: dict[str, Any] = {"_asarray": np.asarray, "_ndarray": np.ndarray}
    lines = [f"def run({', '.join(_name(v) for v in graph.inputs)}):"]
    for i, v in enumerate(graph.captures):
        env[f"T{i}"] = v.tensor
        lines.append(f"    {_name(v)} = T{i}._data")
    for i, v in enumerate(graph.consts):
        env[f"C{i}"] = v.data
        lines.append(f"    {_name(v)} = C{i}")
    dead_after = _dead_after(graph)
    literal = 0
    for k, n in enumerate(graph.nodes):
        args = []
        for a in n.inputs:
            if a.__class__ is Value:
                args.append(_name(a))
            elif a is None or isinstance(a, (bool, int, str)) or (
                    isinstance(a, float) and a == a and abs(a) != float("inf")):
                args.append(repr(a))
            else:
                env[f"L{literal}"] = a
                args.append(f"L{literal}")
                literal += 1
        if n.attrs:
            env[f"A{k}"] = n.attrs
            args.append(f"**A{k}")
        if n.buffer is not None:
            env[f"F{k}"] = n.op.forward_out
            env[f"B{k}"] = n.buffer
            call = f"F{k}(xp, B{k}, {', '.join(args)})"
        else:
            env[f"F{k}"] = n.op.forward
            call = f"F{k}(xp, {', '.join(args)})"
        outs = [_name(v) for v in n.outputs]
        if not outs:
            lines.append(f"    {call}")
        elif len(outs) == 1 and n.n_visible == 1 and len(n.outputs) == 1:
            lines.append(f"    {outs[0]} = {call}")
            if n.outputs[0].shape == ():     # NumPy returns scalars for 0-d results
                lines.append(f"    if {outs[0]}.__class__ is not _ndarray: "
                             f"{outs[0]} = _asarray({outs[0]})")
        else:
            lines.append(f"    {', '.join(outs)}, = {call}")
            for v in n.outputs:
                if v.shape == ():
                    lines.append(f"    if {_name(v)}.__class__ is not _ndarray: "
                                 f"{_name(v)} = _asarray({_name(v)})")
        if dead_after[k]:
            lines.append(f"    del {', '.join(dead_after[k])}")

    def ref(x: Any) -> str:
        if x.__class__ is Value:
            return _name(x)
        env[f"L{id(x)}"] = x
        return f"L{id(x)}"
    outs = ", ".join(ref(v) for v in graph.outputs)
    grads = ", ".join("None" if v is None else ref(v) for _, v in graph.grad_effects)
    lines.append(f"    return ({outs}{',' if graph.outputs else ''}), "
                 f"({grads}{',' if graph.grad_effects else ''})")
    return "\n".join(lines) + "\n", env


def _dead_after(graph: Graph) -> list[list[str]]:
    """Per node, the locals no later node reads and the function does not return: they
    are deleted there, so each array is freed after its last use as in eager mode
    (otherwise every intermediate of a training step would stay alive to the end)."""
    keep = {v.id for v in graph.output_values()}
    last: dict[int, int] = {}
    for v in (*graph.inputs, *graph.captures, *graph.consts):
        last[v.id] = -1
    for k, n in enumerate(graph.nodes):
        for v in n.input_values():
            last[v.id] = k
        for v in n.outputs:
            last.setdefault(v.id, k)
    dead: list[list[str]] = [[] for _ in graph.nodes]
    for vid, k in last.items():
        if k >= 0 and vid not in keep:
            dead[k].append(f"v{vid}")
    return [sorted(d) for d in dead]


def source(graph: Graph) -> str:
    """The Python source :func:`build` compiles for ``graph`` (for debugging)."""
    return _generate(graph)[0]


def build(graph: Graph, xp: Any = None) -> Callable:
    """Compile ``graph`` into ``run(*input_arrays) -> (outputs, grads)``.

    ``xp`` is the array module the ops' forwards receive; by default that of the first
    capture or const (NumPy when there is none).
    """
    code, env = _generate(graph)
    if xp is None:
        first = next((v.tensor._data for v in graph.captures), None)
        xp = array_module(first) if first is not None else np
    env["xp"] = xp
    namespace: dict[str, Any] = {}
    exec(compile(code, f"<ember graph {graph.name}>", "exec"), env, namespace)
    return namespace["run"]
