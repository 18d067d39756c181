"""Module full backward hooks: identity autograd functions around a call's tensor inputs and
outputs catch the gradients flowing through them."""
from __future__ import annotations

from typing import Any, Callable

from ember.autograd.function import Function
from ember.autograd.grad_mode import is_grad_enabled
from ember.tensor import Tensor


class _Catch(Function):
    """Passes tensors through unchanged; in backward hands their gradients to a callback,
    which may replace them."""

    @staticmethod
    def forward(ctx: Any, callback: Callable, *tensors: Tensor) -> tuple:
        ctx.callback = callback
        return tensors

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        return (None, *ctx.callback(grads))


def _tensor_slots(values: tuple) -> list[int]:
    return [i for i, v in enumerate(values) if isinstance(v, Tensor)]


def _replace(values: tuple, slots: list[int], new: tuple) -> tuple:
    out = list(values)
    for i, v in zip(slots, new):
        out[i] = v
    return tuple(out)


def _check_count(module: Any, what: str, got: Any, expected: int) -> tuple:
    got = got if isinstance(got, tuple) else (got,)
    if len(got) != expected:
        raise RuntimeError(f"backward hook of {type(module).__name__} returned {len(got)} "
                           f"{what} gradients, expected {expected}")
    return got


class BackwardHooks:
    """One module call's backward-hook state: ``wrap_inputs`` before forward,
    ``wrap_outputs`` after it."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.n_inputs = 0
        self.inputs_tracked = False
        self.grad_outputs: tuple = ()

    def wrap_inputs(self, args: tuple) -> tuple:
        slots = _tensor_slots(args)
        self.n_inputs = len(slots)
        self.input_needs_grad = [args[i].requires_grad for i in slots]
        self.inputs_tracked = is_grad_enabled() and any(self.input_needs_grad)
        if not self.inputs_tracked:
            return args
        return _replace(args, slots, _Catch.apply(self._on_input_grads,
                                                  *(args[i] for i in slots)))

    def wrap_outputs(self, out: Any) -> Any:
        single = isinstance(out, Tensor)
        values = (out,) if single else out
        if not isinstance(values, tuple):
            return out
        slots = [i for i in _tensor_slots(values) if values[i].requires_grad]
        if not slots or not is_grad_enabled():
            return out
        wrapped = _replace(values, slots, _Catch.apply(self._on_output_grads,
                                                       *(values[i] for i in slots)))
        return wrapped[0] if single else wrapped

    def _on_output_grads(self, grads: tuple) -> tuple:
        module = self.module
        for hook in list(module._backward_pre_hooks):
            res = hook(module, grads)
            if res is not None:
                grads = _check_count(module, "output", res, len(grads))
        self.grad_outputs = grads
        if not self.inputs_tracked:       # no input gradient will come: report now
            self._run_full_hooks((None,) * self.n_inputs)
        return grads

    def _on_input_grads(self, grads: tuple) -> tuple:
        # PyTorch shows zeros for the inputs that do not require grad, and passes none on
        shown = tuple(g if needs else g * 0 for g, needs in zip(grads, self.input_needs_grad))
        return self._run_full_hooks(shown)

    def _run_full_hooks(self, grad_input: tuple) -> tuple:
        module = self.module
        for hook in list(module._backward_hooks):
            res = hook(module, grad_input, self.grad_outputs)
            if res is not None:
                grad_input = _check_count(module, "input", res, len(grad_input))
        return grad_input
