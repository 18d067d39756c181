"""Lion: sign-of-interpolated-momentum steps (Chen et al., 2023, "Symbolic Discovery of
Optimization Algorithms"). PyTorch has no Lion; this follows the paper's update."""
from __future__ import annotations

from typing import Any, Iterable

from ember.ops.creation import zeros_like
from ember.optim._functional import (RuleOptimizer, check_hparams, follow_grad, lerp_, update_rule)
from ember.tensor import Tensor

__all__ = ["Lion", "lion"]


@update_rule(0, 2)
def _lion(xp: Any, param: Any, grad: Any, exp_avg: Any, *, lr: float, beta1: float,
          beta2: float, weight_decay: float, maximize: bool) -> None:
    g = follow_grad(xp, param, grad, maximize=maximize, weight_decay=weight_decay, lr=lr,
                    decoupled=True)
    tmp = xp.subtract(g, exp_avg)          # c = beta1 * m + (1 - beta1) * g
    tmp *= 1 - beta1
    tmp += exp_avg
    xp.sign(tmp, out=tmp)
    tmp *= -lr
    param += tmp
    lerp_(xp, exp_avg, g, 1 - beta2, tmp)  # m = beta2 * m + (1 - beta2) * g


def lion(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor], *, lr: float,
         beta1: float, beta2: float, weight_decay: float, maximize: bool = False) -> None:
    """Lion update of each parameter in place."""
    for i, p in enumerate(params):
        _lion(p, grads[i], exp_avgs[i], lr=lr, beta1=beta1, beta2=beta2,
              weight_decay=weight_decay, maximize=maximize)


class Lion(RuleOptimizer):
    """Lion: ``p -= lr * (sign(beta1 * m + (1 - beta1) * g) + weight_decay * p)``, then
    ``m = beta2 * m + (1 - beta2) * g``; the decay is decoupled (applied as
    ``p *= 1 - lr * weight_decay`` first). Use a learning rate 3-10x smaller than AdamW's.

    >>> opt = ember.optim.Lion([w], lr=1e-4, betas=(0.9, 0.99), weight_decay=0.1)
    """

    state_keys = ("exp_avg",)

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-4,
                 betas: tuple[float, float] = (0.9, 0.99), weight_decay: float = 0, *,
                 maximize: bool = False) -> None:
        check_hparams(lr=lr, betas=betas, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay,
                                      maximize=maximize))

    def init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"exp_avg": zeros_like(p)}

    def update_group(self, group: dict[str, Any], params: list, grads: list,
                     *state: list) -> None:
        beta1, beta2 = group["betas"]
        lion(params, grads, *state, lr=float(group["lr"]), beta1=beta1, beta2=beta2,
             weight_decay=group["weight_decay"], maximize=group["maximize"])
