"""Adagrad: per-coordinate steps divided by the root of the summed squared gradients
(Duchi et al., 2011)."""
from __future__ import annotations

from typing import Any, Iterable

from ember.ops.creation import full_like
from ember.optim._functional import (RuleOptimizer, add_ratio_, advance, check_differentiable,
                                     check_hparams, follow_grad, scalar_state, sqrt_plus_,
                                     update_rule)
from ember.tensor import Tensor

__all__ = ["Adagrad", "adagrad"]


@update_rule(0, 2, 3)
def _adagrad(xp: Any, param: Any, grad: Any, state_sum: Any, step: Any, *, lr: float,
             weight_decay: float, lr_decay: float, eps: float, maximize: bool) -> None:
    t = advance(step)
    g = follow_grad(xp, param, grad, maximize=maximize, weight_decay=weight_decay)
    clr = lr / (1 + (t - 1) * lr_decay)
    tmp = xp.multiply(g, g)
    state_sum += tmp
    std = sqrt_plus_(xp, state_sum, 1.0, eps, tmp)
    add_ratio_(xp, param, g, std, -clr, tmp)


def adagrad(params: list[Tensor], grads: list[Tensor], state_sums: list[Tensor],
            state_steps: list[Tensor], *, lr: float, weight_decay: float, lr_decay: float,
            eps: float, maximize: bool = False) -> None:
    """Adagrad update of each parameter in place."""
    for i, p in enumerate(params):
        _adagrad(p, grads[i], state_sums[i], state_steps[i], lr=lr, weight_decay=weight_decay,
                 lr_decay=lr_decay, eps=eps, maximize=maximize)


class Adagrad(RuleOptimizer):
    """Adagrad, as ``torch.optim.Adagrad``; like PyTorch it makes every parameter's state
    (``step`` and ``sum``, filled with ``initial_accumulator_value``) at construction.

    >>> opt = ember.optim.Adagrad([w], lr=1e-2, lr_decay=1e-4)
    """

    strict_state_dtype = False     # PyTorch's rule goes on with converted params

    state_keys = ("sum", "step")

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_hparams(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                      initial_accumulator_value=initial_accumulator_value)
        check_hparams(eps=eps)
        check_differentiable(differentiable, "Adagrad")
        super().__init__(params, dict(
            lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, foreach=foreach,
            maximize=maximize, differentiable=differentiable, fused=fused))
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self.init_state(p, group)

    def init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        # PyTorch fills from the optimizer's default, not the group's value
        return {"step": scalar_state(0.0),
                "sum": full_like(p, self.defaults["initial_accumulator_value"])}

    def update_group(self, group: dict[str, Any], params: list, grads: list,
                     *state: list) -> None:
        adagrad(params, grads, *state, lr=float(group["lr"]),
                weight_decay=group["weight_decay"], lr_decay=group["lr_decay"],
                eps=group["eps"], maximize=group["maximize"])
