"""Adamax: Adam with the second moment replaced by an exponentially weighted infinity norm."""
from __future__ import annotations

from typing import Any, Iterable

from ember.ops.creation import zeros_like
from ember.optim._functional import (RuleOptimizer, add_ratio_, advance, check_differentiable,
                                     check_hparams, follow_grad, lerp_, scalar_state, update_rule)
from ember.tensor import Tensor

__all__ = ["Adamax", "adamax"]


@update_rule(0, 2, 3, 4)
def _adamax(xp: Any, param: Any, grad: Any, exp_avg: Any, exp_inf: Any, step: Any, *,
            lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
            maximize: bool) -> None:
    t = advance(step)
    g = follow_grad(xp, param, grad, maximize=maximize, weight_decay=weight_decay)
    tmp = xp.empty_like(param)
    lerp_(xp, exp_avg, g, 1 - beta1, tmp)
    exp_inf *= beta2
    xp.abs(g, out=tmp)
    tmp += eps
    xp.maximum(exp_inf, tmp, out=exp_inf)
    add_ratio_(xp, param, exp_avg, exp_inf, -lr / (1 - beta1 ** t), tmp)


def adamax(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
           exp_infs: list[Tensor], state_steps: list[Tensor], *, eps: float, beta1: float,
           beta2: float, lr: float, weight_decay: float, maximize: bool) -> None:
    """Adamax update of each parameter in place."""
    for i, p in enumerate(params):
        _adamax(p, grads[i], exp_avgs[i], exp_infs[i], state_steps[i], lr=lr, beta1=beta1,
                beta2=beta2, eps=eps, weight_decay=weight_decay, maximize=maximize)


class Adamax(RuleOptimizer):
    """Adamax (Kingma & Ba, 2015, section 7), as ``torch.optim.Adamax``.

    >>> opt = ember.optim.Adamax([w], lr=2e-3)
    """

    state_keys = ("exp_avg", "exp_inf", "step")

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        check_hparams(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        check_differentiable(differentiable, "Adamax")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": scalar_state(0.0), "exp_avg": zeros_like(p), "exp_inf": zeros_like(p)}

    def update_group(self, group: dict[str, Any], params: list, grads: list,
                     *state: list) -> None:
        beta1, beta2 = group["betas"]
        adamax(params, grads, *state, eps=group["eps"], beta1=beta1, beta2=beta2,
               lr=float(group["lr"]), weight_decay=group["weight_decay"],
               maximize=group["maximize"])
