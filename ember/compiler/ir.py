"""The graph IR every graph tool reads and rewrites: SSA values produced by op nodes.

A :class:`Graph` is a plain data structure:

* ``inputs``: the traced function's tensor arguments, in flattened order;
* ``captures``: tensors the function reached that existed before the call (parameters,
  buffers, optimizer state); each call reads their current array, and nodes that mutate
  them write into it (that is how parameter updates are written back);
* ``nodes``: op applications in execution order. ``node.op`` is the registry's
  :class:`~ember.ops.registry.Op` (the same object eager mode runs, so the IR keeps no
  second copy of any math), ``node.inputs`` mixes :class:`Value` s and literals (Python
  scalars, ``None``, 0-d arrays from promoted scalars), ``node.attrs`` are the keyword
  attributes and ``node.outputs`` the values it defines (visible outputs, then the hidden
  ones an op keeps for its backward). Index arrays that the graph computes (``x[i]``
  with a tensor ``i``) are inputs too: such a node's op is a
  :class:`~ember.compiler.ir_ops.WithIndexArrays` around the registry op, and its attrs
  hold :class:`~ember.compiler.ir_ops.Slot` s (printed ``$in0``) where the arrays go;
* ``outputs``: what the function returns (values or literals), and ``grad_effects``:
  ``(tensor, value_or_None)`` pairs, the ``.grad`` each leaf holds after a call.

Nodes whose op declares ``mutates`` (input positions it writes), ``random = True`` or
``checks = True`` (a value check that may raise) have effects: passes never delete,
merge or fold them, nor move reads across them.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np

__all__ = ["Value", "Node", "Graph", "is_value"]


class Value:
    """One SSA value: a tensor defined once (by a node, or as an input/capture/const)."""

    __slots__ = ("id", "shape", "dtype", "kind", "producer", "index", "data", "tensor")

    def __init__(self, id: int, shape: tuple, dtype: np.dtype, kind: str,
                 producer: "Node | None" = None, index: int = 0, data: Any = None,
                 tensor: Any = None) -> None:
        self.id = id
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.kind = kind            # "input" | "capture" | "const" | "node"
        self.producer = producer
        self.index = index
        self.data = data            # the array of a "const"
        self.tensor = tensor        # the live Tensor of a "capture"

    @property
    def name(self) -> str:
        return f"%{self.id}"

    def type_str(self) -> str:
        return f"{_DT.get(self.dtype.name, self.dtype.name)}{list(self.shape)}"

    def __repr__(self) -> str:
        return f"{self.name}: {self.type_str()}"


_DT = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16",
       "int64": "i64", "int32": "i32", "int16": "i16", "int8": "i8", "uint8": "u8",
       "bool": "bool"}


def is_value(x: Any) -> bool:
    return x.__class__ is Value


class Node:
    """One op application: ``outputs = op(*inputs, **attrs)``."""

    __slots__ = ("op", "inputs", "attrs", "outputs", "n_visible", "buffer", "meta")

    def __init__(self, op: Any, inputs: list, attrs: dict, outputs: list | None = None,
                 n_visible: int = 1) -> None:
        self.op = op
        self.inputs = list(inputs)
        self.attrs = dict(attrs)
        self.outputs: list[Value] = outputs if outputs is not None else []
        self.n_visible = n_visible
        self.buffer = None           # a preallocated output array (memory planning)
        self.meta: dict = {}         # free-form notes passes leave for later passes

    @property
    def name(self) -> str:
        return self.op.name

    def input_values(self) -> Iterator[Value]:
        return (v for v in self.inputs if v.__class__ is Value)

    @property
    def mutated(self) -> tuple[Value, ...]:
        """The input values this node writes in place."""
        idx = getattr(self.op, "mutates", ())
        return tuple(self.inputs[i] for i in idx
                     if i < len(self.inputs) and self.inputs[i].__class__ is Value)

    @property
    def has_effects(self) -> bool:
        """Writes an input, draws random numbers or checks values (and may raise): must
        run exactly as traced."""
        op = self.op
        return bool(self.mutated) or getattr(op, "random", False) or \
            getattr(op, "checks", False)

    def __repr__(self) -> str:
        return _node_line(self)


def _lit(x: Any) -> str:
    if x.__class__ is Value:
        return x.name
    if isinstance(x, np.ndarray):
        return f"array({x.tolist()!r}, {x.dtype})" if x.size <= 4 else \
            f"array(shape={list(x.shape)}, {x.dtype})"
    if isinstance(x, tuple):
        return f"({', '.join(_lit(e) for e in x)}{',' if len(x) == 1 else ''})"
    if isinstance(x, type) or callable(x) and hasattr(x, "__qualname__"):
        return x.__qualname__
    return repr(x)


def _node_line(n: Node) -> str:
    outs = ", ".join(f"{v.name}: {v.type_str()}" for v in n.outputs)
    args = [_lit(a) for a in n.inputs]
    args += [f"{k}={_lit(v)}" for k, v in n.attrs.items()]
    hidden = len(n.outputs) - n.n_visible
    note = f"  # {hidden} hidden" if hidden else ""
    eff = "  !" if n.has_effects else ""
    return f"{outs} = {n.name}({', '.join(args)}){eff}{note}"


class Graph:
    """A traced function as SSA nodes; see the module docstring."""

    def __init__(self, name: str = "graph") -> None:
        self.name = name
        self.inputs: list[Value] = []
        self.captures: list[Value] = []
        self.consts: list[Value] = []
        self.nodes: list[Node] = []
        self.outputs: list = []
        self.grad_effects: list[tuple[Any, Value | None]] = []
        self._next = 0

    # -- building -----------------------------------------------------------------------
    def _value(self, shape: tuple, dtype: Any, kind: str, **kw: Any) -> Value:
        v = Value(self._next, shape, dtype, kind, **kw)
        self._next += 1
        return v

    def add_input(self, shape: tuple, dtype: Any) -> Value:
        v = self._value(shape, dtype, "input")
        self.inputs.append(v)
        return v

    def add_capture(self, tensor: Any) -> Value:
        d = tensor._data
        v = self._value(d.shape, d.dtype, "capture", tensor=tensor)
        self.captures.append(v)
        return v

    def add_const(self, array: Any) -> Value:
        v = self._value(array.shape, array.dtype, "const", data=array)
        self.consts.append(v)
        return v

    def add_node(self, op: Any, inputs: list, attrs: dict, out_meta: Iterable[tuple],
                 n_visible: int = 1, at: int | None = None) -> Node:
        """Append (or insert at ``at``) a node whose outputs have ``(shape, dtype)``."""
        node = Node(op, inputs, attrs, n_visible=n_visible)
        node.outputs = [self._value(s, d, "node", producer=node, index=i)
                        for i, (s, d) in enumerate(out_meta)]
        if at is None:
            self.nodes.append(node)
        else:
            self.nodes.insert(at, node)
        return node

    # -- reading ------------------------------------------------------------------------
    def output_values(self) -> list[Value]:
        """Values that must survive a call: outputs and the ``.grad`` effects."""
        vals = [v for v in self.outputs if v.__class__ is Value]
        vals += [v for _, v in self.grad_effects if v is not None]
        return vals

    def users(self) -> dict[int, list[Node]]:
        """Value id -> the nodes reading it, in order."""
        use: dict[int, list[Node]] = {}
        for n in self.nodes:
            for v in n.input_values():
                use.setdefault(v.id, []).append(n)
        return use

    def replace_uses(self, old: Value, new: Any, start: int = 0) -> None:
        """Make every node from position ``start`` on, and the outputs, read ``new``
        instead of ``old``."""
        for n in self.nodes[start:]:
            n.inputs = [new if a is old else a for a in n.inputs]
        self.outputs = [new if a is old else a for a in self.outputs]
        self.grad_effects = [(t, new if v is old else v) for t, v in self.grad_effects]

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.name] = counts.get(n.name, 0) + 1
        return counts

    def verify(self) -> None:
        """Raise ``RuntimeError`` if a value is read before it is defined or defined twice."""
        defined = {v.id for v in self.inputs + self.captures + self.consts}
        for i, n in enumerate(self.nodes):
            for v in n.input_values():
                if v.id not in defined:
                    raise RuntimeError(f"graph {self.name}: node {i} ({n.name}) reads "
                                       f"{v.name} before it is defined")
            for v in n.outputs:
                if v.id in defined:
                    raise RuntimeError(f"graph {self.name}: {v.name} is defined twice")
                defined.add(v.id)
        for v in self.output_values():
            if v.id not in defined:
                raise RuntimeError(f"graph {self.name}: output {v.name} is never defined")

    # -- printing -----------------------------------------------------------------------
    def __str__(self) -> str:
        ins = ", ".join(repr(v) for v in self.inputs)
        lines = [f"graph {self.name}({ins}):"]
        for v in self.captures:
            lines.append(f"  capture {v!r}  # {_describe(v.tensor)}")
        for v in self.consts:
            lines.append(f"  const {v!r} = {_lit(v.data)}")
        for n in self.nodes:
            lines.append("  " + _node_line(n))
        lines.append("  return (" + ", ".join(_lit(v) for v in self.outputs) + ")")
        for t, v in self.grad_effects:
            lines.append(f"  set grad of {_describe(t)} = {_lit(v)}")
        return "\n".join(lines)

    __repr__ = __str__

    def to_dot(self) -> str:
        """The graph in Graphviz's dot language (values as edges, nodes as boxes)."""
        out = [f'digraph "{self.name}" {{', "  rankdir=TB;", "  node [fontsize=10];"]
        src: dict[int, str] = {}
        for v in self.inputs + self.captures + self.consts:
            shape = {"input": "ellipse", "capture": "box3d", "const": "note"}[v.kind]
            out.append(f'  v{v.id} [label="{v.name}\\n{v.type_str()}", shape={shape}];')
            src[v.id] = f"v{v.id}"
        for i, n in enumerate(self.nodes):
            style = ', style=filled, fillcolor="#ffdddd"' if n.has_effects else ""
            out.append(f'  n{i} [label="{n.name}", shape=box{style}];')
            for v in n.input_values():
                out.append(f'  {src[v.id]} -> n{i} [label="{v.type_str()}"];')
            for v in n.outputs:
                src[v.id] = f"n{i}"
        for j, v in enumerate(self.outputs):
            if v.__class__ is Value:
                out.append(f'  out{j} [label="output {j}", shape=ellipse];')
                out.append(f"  {src[v.id]} -> out{j};")
        out.append("}")
        return "\n".join(out)


def _describe(t: Any) -> str:
    from ember.nn.parameter import Parameter
    kind = "Parameter" if isinstance(t, Parameter) else "Tensor"
    return f"{kind}{list(t._data.shape)}@{id(t):x}"
