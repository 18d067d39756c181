"""NAdam: Adam with Nesterov momentum and a momentum schedule (Dozat, 2016)."""
from __future__ import annotations

from typing import Any, Iterable

from ember.ops.creation import zeros_like
from ember.optim._functional import (RuleOptimizer, add_ratio_, advance, check_differentiable,
                                     check_hparams, decay_add_square_, follow_grad, lerp_,
                                     scalar_state, update_rule)
from ember.tensor import Tensor

__all__ = ["NAdam", "nadam"]


@update_rule(0, 2, 3, 4, 5)
def _nadam(xp: Any, param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any, mu_product: Any,
           step: Any, *, lr: float, beta1: float, beta2: float, eps: float,
           weight_decay: float, momentum_decay: float, decoupled_weight_decay: bool,
           maximize: bool) -> None:
    t = advance(step)
    g = follow_grad(xp, param, grad, maximize=maximize, weight_decay=weight_decay, lr=lr,
                    decoupled=decoupled_weight_decay)
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_product *= mu                 # kept in the counter's dtype, as PyTorch does
    prod = float(mu_product)
    tmp = xp.empty_like(param)
    lerp_(xp, exp_avg, g, 1 - beta1, tmp)
    decay_add_square_(xp, exp_avg_sq, g, beta2, tmp)
    denom = xp.divide(exp_avg_sq, 1 - beta2 ** t)
    xp.sqrt(denom, out=denom)
    denom += eps
    add_ratio_(xp, param, g, denom, -lr * (1.0 - mu) / (1.0 - prod), tmp)
    add_ratio_(xp, param, exp_avg, denom, -lr * mu_next / (1.0 - prod * mu_next), tmp)


def nadam(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
          exp_avg_sqs: list[Tensor], mu_products: list[Tensor], state_steps: list[Tensor], *,
          beta1: float, beta2: float, lr: float, weight_decay: float, momentum_decay: float,
          eps: float, decoupled_weight_decay: bool = False, maximize: bool = False) -> None:
    """NAdam update of each parameter in place."""
    for i, p in enumerate(params):
        _nadam(p, grads[i], exp_avgs[i], exp_avg_sqs[i], mu_products[i], state_steps[i],
               lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
               momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
               maximize=maximize)


class NAdam(RuleOptimizer):
    """NAdam, as ``torch.optim.NAdam`` (``decoupled_weight_decay=True`` gives NAdamW).

    >>> opt = ember.optim.NAdam([w], lr=2e-3, momentum_decay=4e-3)
    """

    state_keys = ("exp_avg", "exp_avg_sq", "mu_product", "step")

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_hparams(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay,
                      momentum_decay=momentum_decay)
        check_differentiable(differentiable, "NAdam")
        super().__init__(params, dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
            momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize, foreach=foreach, capturable=capturable,
            differentiable=differentiable))

    def init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": scalar_state(0.0), "mu_product": scalar_state(1.0),
                "exp_avg": zeros_like(p), "exp_avg_sq": zeros_like(p)}

    def update_group(self, group: dict[str, Any], params: list, grads: list,
                     *state: list) -> None:
        beta1, beta2 = group["betas"]
        nadam(params, grads, *state, beta1=beta1, beta2=beta2, lr=float(group["lr"]),
              weight_decay=group["weight_decay"], momentum_decay=group["momentum_decay"],
              eps=group["eps"], decoupled_weight_decay=group["decoupled_weight_decay"],
              maximize=group["maximize"])
