"""Module full backward hooks: identity autograd functions around a call's tensor inputs and
outputs catch the gradients flowing through them."""
from __future__ import annotations

from typing import Any, Callable

from ember.autograd.function import Function
from ember.autograd.grad_mode import is_grad_enabled
from ember.ops.creation import zeros
from ember.tensor import Tensor


class _Catch(Function):
    """Passes tensors through unchanged; in backward hands their gradients (None for one
    that never arrived) to a callback, which may replace them."""

    @staticmethod
    def forward(ctx: Any, callback: Callable, *tensors: Tensor) -> tuple:
        ctx.callback = callback
        ctx.set_materialize_grads(False)
        return tensors

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        return (None, *ctx.callback(grads))


def _spread(slots: list[int], values: tuple, size: int) -> tuple:
    """A tuple of ``size`` entries: ``values`` at positions ``slots``, None elsewhere."""
    out: list = [None] * size
    for i, v in zip(slots, values):
        out[i] = v
    return tuple(out)


def _checked(module: Any, what: str, got: Any, expected: int) -> tuple:
    got = got if isinstance(got, tuple) else (got,)
    if len(got) != expected:
        raise RuntimeError(f"backward hook of {type(module).__name__} returned {len(got)} "
                           f"{what} gradients, expected {expected}")
    return got


class BackwardHooks:
    """One module call's backward-hook state: ``wrap_inputs`` before forward,
    ``wrap_outputs`` after it.

    As in PyTorch, ``grad_input`` has one entry per positional argument and
    ``grad_output`` one per output (per element of a returned tuple): None where the
    value is not a tensor or no gradient flows through it.
    """

    def __init__(self, module: Any) -> None:
        self.module = module
        self.n_inputs = 0
        self.input_slots: list[int] = []
        self.input_needs_grad: list[bool] = []
        self.input_meta: list[tuple] = []
        self.inputs_tracked = False
        self.n_outputs = 0
        self.output_slots: list[int] = []
        self.grad_outputs: tuple = ()

    def wrap_inputs(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        self.input_slots = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.input_needs_grad = [args[i].requires_grad for i in self.input_slots]
        self.input_meta = [(args[i].shape, args[i].dtype) for i in self.input_slots]
        self.inputs_tracked = is_grad_enabled() and any(self.input_needs_grad)
        if not self.inputs_tracked:
            return args
        wrapped = _Catch.apply(self._on_input_grads, *(args[i] for i in self.input_slots))
        out = list(args)
        for i, t in zip(self.input_slots, wrapped):
            out[i] = t
        return tuple(out)

    def wrap_outputs(self, out: Any) -> Any:
        single = isinstance(out, Tensor)
        values = (out,) if single else out
        if not isinstance(values, tuple):
            return out
        self.n_outputs = len(values)
        self.output_slots = [i for i, v in enumerate(values)
                             if isinstance(v, Tensor) and v.requires_grad]
        if not self.output_slots or not is_grad_enabled():
            return out
        wrapped = _Catch.apply(self._on_output_grads,
                               *(values[i] for i in self.output_slots))
        res = list(values)
        for i, t in zip(self.output_slots, wrapped):
            res[i] = t
        return res[0] if single else tuple(res)

    def _on_output_grads(self, grads: tuple) -> tuple:
        module = self.module
        full = _spread(self.output_slots, grads, self.n_outputs)
        for hook in list(module._backward_pre_hooks):
            res = hook(module, full)
            if res is not None:
                full = _checked(module, "output", res, self.n_outputs)
        self.grad_outputs = full
        if not self.inputs_tracked:       # no input gradient will come: report now
            self._run_full_hooks((None,) * self.n_inputs)
        return tuple(full[i] for i in self.output_slots)

    def _on_input_grads(self, grads: tuple) -> tuple:
        # PyTorch shows zeros for tensor inputs that do not require grad
        shown = tuple(g if needs else zeros(shape, dtype=dtype) for g, needs, (shape, dtype)
                      in zip(grads, self.input_needs_grad, self.input_meta))
        full = self._run_full_hooks(_spread(self.input_slots, shown, self.n_inputs))
        return tuple(full[i] for i in self.input_slots)

    def _run_full_hooks(self, grad_input: tuple) -> tuple:
        module = self.module
        for hook in list(module._backward_hooks):
            res = hook(module, grad_input, self.grad_outputs)
            if res is not None:
                grad_input = _checked(module, "input", res, self.n_inputs)
        return grad_input
