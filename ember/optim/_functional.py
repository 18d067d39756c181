"""What the built-in optimizers share: update rules as ops, state collection, checks.

Each algorithm's math is one plain function over arrays (``xp`` is the array module:
NumPy now, CuPy later) that updates the parameter and its state in place with fused
``out=`` array calls, so a step costs a handful of array passes and no extra tensors.
:func:`update_rule` turns such a function into an Ember op that writes into its inputs:
eager mode calls the rule on the tensors' arrays directly (an update has no outputs and no
gradient, so dispatch would only add overhead), and a graph-mode tracer (a
``dispatch_hooks`` entry) sees one node per parameter update, with ``op.mutates`` naming
the inputs it writes.

The torch-style functional forms (``sgd(params, grads, momentum_buffers, *, lr, ...)``)
live next to each optimizer class and call these ops once per parameter.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ember.autograd.grad_mode import enable_grad
from ember.backend import array_module
from ember.backend.dtypes import float32, float64, get_default_dtype
from ember.ops.creation import full
from ember.ops.registry import Op, apply, dispatch_hooks
from ember.optim.optimizer import Optimizer
from ember.tensor import Tensor, trace_observers

__all__ = ["update_rule", "UpdateOp", "RuleOptimizer", "check_hparams", "check_differentiable",
           "scalar_state"]


class UpdateOp(Op):
    """An in-place optimizer update over arrays, dispatched like any Ember op.

    ``op(param, grad, *state, **hparams)`` runs ``rule(xp, *arrays, **hparams)``, which
    overwrites the inputs listed in ``mutates``; their version counters are bumped, so
    autograd notices a parameter changed after it was saved for backward.
    """

    differentiable = False

    def __init__(self, rule: Callable, mutates: tuple[int, ...]) -> None:
        self.name = rule.__name__.strip("_")
        super().__init__()
        self.rule = rule
        self.mutates = mutates

    def forward(self, xp: Any, *arrays: Any, **hparams: Any) -> Any:
        self.rule(xp, *arrays, **hparams)
        return arrays[0]

    def __call__(self, *tensors: Any, **hparams: Any) -> None:
        if dispatch_hooks:              # graph mode: the tracer records one node
            apply(self, tensors, hparams)
        else:                           # eager: skip dispatch bookkeeping (no outputs, no grad)
            arrays = [None if t is None else t._data for t in tensors]
            self.rule(array_module(arrays[0]), *arrays, **hparams)
        for i in self.mutates:
            t = tensors[i]
            if t is not None:
                t._vc[0] += 1


def update_rule(*mutates: int) -> Callable[[Callable], UpdateOp]:
    """Decorator: make an array-level update rule an :class:`UpdateOp` writing ``mutates``."""
    return lambda rule: UpdateOp(rule, mutates)


# -- array helpers shared by the rules (all in place, ``tmp`` is scratch) ---------------
def advance(step: Any) -> float:
    """Add one to a 0-d step counter in place; returns the new count."""
    t = float(step) + 1
    step[...] = t
    return t


def follow_grad(xp: Any, param: Any, grad: Any, *, maximize: bool, weight_decay: float,
                lr: float = 0.0, decoupled: bool = False) -> Any:
    """The gradient a rule descends: negated to maximize, plus ``weight_decay * param``
    (L2), or with decoupled decay shrinking ``param`` by ``1 - lr * weight_decay`` instead."""
    g = xp.negative(grad) if maximize else grad
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * param
    return g


def lerp_(xp: Any, a: Any, b: Any, weight: float, tmp: Any) -> None:
    """``a += weight * (b - a)`` (a running average pulled toward ``b``)."""
    xp.subtract(b, a, out=tmp)
    tmp *= weight
    a += tmp


def decay_add_square_(xp: Any, avg: Any, g: Any, decay: float, tmp: Any) -> None:
    """``avg = decay * avg + (1 - decay) * g * g`` (a running average of squares)."""
    avg *= decay
    xp.multiply(g, g, out=tmp)
    tmp *= 1 - decay
    avg += tmp


def add_ratio_(xp: Any, param: Any, num: Any, den: Any, value: float, tmp: Any) -> None:
    """``param += value * num / den``; ``tmp`` may be ``den`` itself."""
    xp.divide(num, den, out=tmp)
    tmp *= value
    param += tmp


def sqrt_plus_(xp: Any, x: Any, scale: float, eps: float, out: Any) -> Any:
    """``out = sqrt(x) / scale + eps`` (an adaptive denominator); returns ``out``."""
    xp.sqrt(x, out=out)
    if scale != 1.0:
        out /= scale
    out += eps
    return out


# -- optimizer plumbing -------------------------------------------------------------------
def check_hparams(lr: Any = None, eps: Any = None, betas: Sequence | None = None,
                  **nonnegative: Any) -> None:
    """Raise PyTorch's ``ValueError`` for a negative lr/eps/other value or a beta outside
    ``[0, 1)``; ``nonnegative`` names map to their message (``weight_decay=...``)."""
    if lr is not None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
    if eps is not None and not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i, beta in enumerate(betas or ()):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    for name, value in nonnegative.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {name} value: {value}")


def scalar_state(value: float) -> Tensor:
    """A 0-d state counter (``step``, ``mu_product``): float64 if that is the default
    dtype, else float32, as PyTorch keeps them."""
    return full((), value, dtype=float64 if get_default_dtype() == float64 else float32)


def check_differentiable(differentiable: bool, name: str) -> None:
    """Refuse ``differentiable=True``: Ember's updates run outside autograd."""
    if differentiable:
        raise NotImplementedError(f"{name}: differentiable=True (autograd through the "
                                  f"optimizer step) is not supported by Ember")


class RuleOptimizer(Optimizer):
    """An optimizer whose step gathers each group's params with gradients and their state
    (made on first use by :meth:`init_state`) and hands them to :meth:`update_group`.

    Subclasses set ``state_keys`` (the state entries passed, in order; a missing entry is
    passed as ``None``) or override ``group_state_keys``, and implement ``init_state`` and
    ``update_group``. A group with no state keys never touches ``self.state``.
    """

    state_keys: tuple[str, ...] = ()
    #: refuse state whose dtype differs from its parameter's (a model converted after the
    #: optimizer stepped) where PyTorch's rule refuses it; the others set False
    strict_state_dtype = True

    def group_state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return self.state_keys

    def init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def update_group(self, group: dict[str, Any], params: list, grads: list,
                     *state: list) -> None:
        raise NotImplementedError

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        if trace_observers:
            trace_observers[-1].optimizer_step(self)
        all_state = self.state
        for group in self.param_groups:
            keys = self.group_state_keys(group)
            params, grads, states = [], [], [[] for _ in keys]
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                params.append(p)
                grads.append(g)
                if not keys:
                    continue
                s = all_state[p]
                if not s:
                    s.update(self.init_state(p, group))
                for lst, k in zip(states, keys):
                    v = s.get(k)
                    if self.strict_state_dtype and isinstance(v, Tensor) and \
                            v._data.ndim and v._data.dtype != p._data.dtype:
                        raise RuntimeError(
                            f"{type(self).__name__}.step: state '{k}' is {v.dtype} but its "
                            f"parameter is {p.dtype} (converted after the optimizer "
                            "stepped?); PyTorch refuses this too: build a new optimizer")
                    lst.append(v)
            if params:
                self.update_group(group, params, grads, *states)
        return loss

