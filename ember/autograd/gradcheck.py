"""``gradcheck`` and ``gradgradcheck``: compare autograd's gradients with finite
differences, as ``torch.autograd.gradcheck`` does. Use float64 inputs."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients disagree."""


def _tensors(inputs: Any) -> tuple:
    from ember.tensor import Tensor
    return (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)


def _outputs(fn: Callable, inputs: tuple) -> list:
    from ember.tensor import Tensor
    out = fn(*inputs)
    outs = [out] if isinstance(out, Tensor) else list(out)
    return [o for o in outs if isinstance(o, Tensor) and o.is_floating_point()]


def _flat_out(fn: Callable, inputs: tuple) -> np.ndarray:
    from ember.autograd.grad_mode import no_grad
    with no_grad():
        outs = _outputs(fn, inputs)
    if not outs:
        return np.zeros(0)
    return np.concatenate([np.asarray(o._data, dtype=np.float64).ravel() for o in outs])


def _numerical(fn: Callable, inputs: tuple, diff: list, eps: float) -> list:
    """One Jacobian block (n_out x n_in) per differentiable input, by central differences."""
    blocks = []
    for i in diff:
        arr = inputs[i]._data
        cols = []
        for k in range(arr.size):
            pos = np.unravel_index(k, arr.shape)
            orig = arr[pos]
            arr[pos] = orig + eps
            plus = _flat_out(fn, inputs)
            arr[pos] = orig - eps
            minus = _flat_out(fn, inputs)
            arr[pos] = orig
            cols.append((plus - minus) / (2 * eps))
        n_out = _flat_out(fn, inputs).size
        blocks.append(np.stack(cols, axis=1) if cols else np.zeros((n_out, 0)))
    return blocks


def _analytical(fn: Callable, inputs: tuple, diff: list) -> list:
    from ember.autograd.functional import grad
    from ember.ops.creation import zeros_like
    outs = _outputs(fn, inputs)
    sizes = [o.numel() for o in outs]
    n_out = sum(sizes)
    blocks = [np.zeros((n_out, inputs[i].numel())) for i in diff]
    row = 0
    for o_idx, o in enumerate(outs):
        if not o.requires_grad:
            row += sizes[o_idx]
            continue
        for k in range(sizes[o_idx]):
            go = zeros_like(o)
            go._data.reshape(-1)[k] = 1.0
            gs = grad([o], [inputs[i] for i in diff], [go], retain_graph=True,
                      allow_unused=True)
            for b, g in zip(blocks, gs):
                if g is not None:
                    b[row + k] = np.asarray(g._data, dtype=np.float64).ravel()
        row += sizes[o_idx]
    return blocks


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, **unused: Any) -> bool:
    """True if autograd's Jacobian of ``func`` at ``inputs`` matches central differences.

    >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
    >>> ember.autograd.gradcheck(ember.sin, (x,))
    True
    """
    inputs = _tensors(inputs)
    diff = [i for i, t in enumerate(inputs) if getattr(t, "requires_grad", False)]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    for i in diff:
        if inputs[i].dtype.name != "float64":
            import warnings
            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype}, not float64; the "
                          f"check may fail from rounding alone")
    num = _numerical(func, inputs, diff, eps)
    ana = _analytical(func, inputs, diff)
    for i, n, a in zip(diff, num, ana):
        if not np.allclose(a, n, rtol=rtol, atol=atol, equal_nan=True):
            err = np.abs(a - n).max()
            msg = (f"Jacobian mismatch for output 0 with respect to input {i} (max abs "
                   f"difference {err:.3g}),\nnumerical:{n}\nanalytical:{a}\n")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Sequence | None = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True, **unused: Any) -> bool:
    """gradcheck of the gradient itself: checks second derivatives of ``func``."""
    from ember.autograd.functional import grad
    from ember.ops.creation import randn
    inputs = _tensors(inputs)
    diff = [i for i, t in enumerate(inputs) if getattr(t, "requires_grad", False)]
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        grad_outputs = [randn(o.shape, dtype=o.dtype, requires_grad=True) for o in outs]
    grad_outputs = list(grad_outputs)
    n = len(inputs)

    def first_grads(*args: Any) -> tuple:
        from ember.autograd.grad_mode import enable_grad
        xs, gos = args[:n], args[n:]
        with enable_grad():
            os = _outputs(func, xs)
            gs = grad(os, [xs[i] for i in diff], list(gos), create_graph=True,
                      allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
