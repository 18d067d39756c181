"""``ember.autograd.backward`` and ``ember.autograd.grad``: the public entry points of
the backward engine."""
from __future__ import annotations

from typing import Any

from ember.autograd.engine import run_backward
from ember.backend import array_module
from ember.tensor import Tensor, _make, trace_observers

__all__ = ["backward", "grad"]


def _as_seq(x: Any) -> list:
    if x is None:
        return []
    return [x] if isinstance(x, Tensor) else list(x)


def _root_grads(outputs: list, grads: list, where: str) -> list:
    if len(grads) == 0:
        grads = [None] * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"{where}: got {len(grads)} gradients for {len(outputs)} outputs")
    out = []
    for i, (t, g) in enumerate(zip(outputs, grads)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{where}: output {i} is a {type(t).__name__}, not a Tensor")
        if not t._rg:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               f"have a grad_fn")
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs; "
                                   f"output {i} has shape {tuple(t.shape)}: pass gradient=")
            d = t._data
            one = array_module(d).empty(d.shape, d.dtype)    # faster than ones() for a scalar
            one.fill(1)
            g = _make(one)
            if trace_observers:
                trace_observers[-1].created(g)
        elif not isinstance(g, Tensor):
            from ember.ops.creation import tensor
            g = tensor(g, dtype=t.dtype)
        elif not g.requires_grad:
            src, g = g, _make(g._data.copy())   # the engine may store it as a leaf's .grad
            if trace_observers:
                trace_observers[-1].copied(g, src)
        if g._data.shape != t._data.shape:
            raise RuntimeError(f"{where}: Mismatch in shape: grad_output[{i}] has a shape of "
                               f"{tuple(g.shape)} and output[{i}] has a shape of "
                               f"{tuple(t.shape)}.")
        out.append(g)
    return out


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Any = None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the graph's leaves
    (or only of ``inputs`` when given)."""
    outputs = _as_seq(tensors)
    grads = _root_grads(outputs, _as_seq(grad_tensors), "backward")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _as_seq(inputs)
        got = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs,
                           allow_unused=True)
        from ember.autograd.engine import _accumulate
        for t, g in zip(inputs, got):
            if g is not None:
                _accumulate(t, g, create_graph)
        return
    run_backward(outputs, grads, retain_graph, create_graph)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` w.r.t. ``inputs``, returned (not accumulated).

    >>> x = ember.tensor(3.0, requires_grad=True)
    >>> (dx,) = ember.autograd.grad(x ** 2, x, create_graph=True)   # 6.0
    """
    outs = _as_seq(outputs)
    ins = _as_seq(inputs)
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    grads = _root_grads(outs, _as_seq(grad_outputs), "grad")
    if retain_graph is None:
        retain_graph = create_graph
    allow = bool(allow_unused) or materialize_grads
    res = run_backward(outs, grads, retain_graph, create_graph, inputs=ins, allow_unused=allow)
    if materialize_grads:
        from ember.ops.creation import zeros_like
        res = [zeros_like(t) if g is None else g for t, g in zip(ins, res)]
    return tuple(res)
