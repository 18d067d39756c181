"""RAdam: Adam whose adaptive step is switched on once its variance is tractable
(Liu et al., 2020, "On the Variance of the Adaptive Learning Rate and Beyond")."""
from __future__ import annotations

from typing import Any, Iterable

from ember.ops.creation import zeros_like
from ember.optim._functional import (RuleOptimizer, advance, check_differentiable, check_hparams,
                                     decay_add_square_, follow_grad, lerp_, scalar_state,
                                     update_rule)
from ember.tensor import Tensor

__all__ = ["RAdam", "radam"]


@update_rule(0, 2, 3, 4)
def _radam(xp: Any, param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any, step: Any, *,
           lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
           decoupled_weight_decay: bool, maximize: bool) -> None:
    t = advance(step)
    g = follow_grad(xp, param, grad, maximize=maximize, weight_decay=weight_decay, lr=lr,
                    decoupled=decoupled_weight_decay)
    tmp = xp.empty_like(param)
    lerp_(xp, exp_avg, g, 1 - beta1, tmp)
    decay_add_square_(xp, exp_avg_sq, g, beta2, tmp)
    bias_correction2 = 1 - beta2 ** t
    update = xp.divide(exp_avg, 1 - beta1 ** t)
    update *= lr
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2 ** t / bias_correction2
    if rho_t > 5.0:                  # variance of the adaptive rate is tractable
        xp.sqrt(exp_avg_sq, out=tmp)
        tmp += eps
        xp.divide(bias_correction2 ** 0.5, tmp, out=tmp)
        update *= tmp
        update *= ((rho_t - 4) * (rho_t - 2) * rho_inf
                   / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
    param -= update


def radam(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
          exp_avg_sqs: list[Tensor], state_steps: list[Tensor], *, beta1: float,
          beta2: float, lr: float, weight_decay: float, eps: float,
          decoupled_weight_decay: bool = False, maximize: bool = False) -> None:
    """RAdam update of each parameter in place."""
    for i, p in enumerate(params):
        _radam(p, grads[i], exp_avgs[i], exp_avg_sqs[i], state_steps[i], lr=lr, beta1=beta1,
               beta2=beta2, eps=eps, weight_decay=weight_decay,
               decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)


class RAdam(RuleOptimizer):
    """RAdam, as ``torch.optim.RAdam`` (``decoupled_weight_decay=True`` gives RAdamW).

    >>> opt = ember.optim.RAdam([w], lr=1e-3)
    """

    state_keys = ("exp_avg", "exp_avg_sq", "step")

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_hparams(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        check_differentiable(differentiable, "RAdam")
        super().__init__(params, dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
            foreach=foreach, capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))

    def init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": scalar_state(0.0), "exp_avg": zeros_like(p),
                "exp_avg_sq": zeros_like(p)}

    def update_group(self, group: dict[str, Any], params: list, grads: list,
                     *state: list) -> None:
        beta1, beta2 = group["betas"]
        radam(params, grads, *state, beta1=beta1, beta2=beta2, lr=float(group["lr"]),
              weight_decay=group["weight_decay"], eps=group["eps"],
              decoupled_weight_decay=group["decoupled_weight_decay"],
              maximize=group["maximize"])
