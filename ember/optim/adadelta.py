"""Adadelta: steps scaled by the ratio of running RMS of past updates to that of the
gradients (Zeiler, 2012)."""
from __future__ import annotations

from typing import Any, Iterable

from ember.ops.creation import zeros_like
from ember.optim._functional import (RuleOptimizer, advance, check_differentiable, check_hparams,
                                     decay_add_square_, follow_grad, scalar_state, update_rule)
from ember.tensor import Tensor

__all__ = ["Adadelta", "adadelta"]


@update_rule(0, 2, 3, 4)
def _adadelta(xp: Any, param: Any, grad: Any, square_avg: Any, acc_delta: Any, step: Any, *,
              lr: float, rho: float, eps: float, weight_decay: float, maximize: bool) -> None:
    advance(step)
    g = follow_grad(xp, param, grad, maximize=maximize, weight_decay=weight_decay)
    tmp = xp.empty_like(param)
    decay_add_square_(xp, square_avg, g, rho, tmp)
    xp.add(square_avg, eps, out=tmp)
    xp.sqrt(tmp, out=tmp)                  # std of the gradients
    delta = xp.add(acc_delta, eps)
    xp.sqrt(delta, out=delta)
    delta /= tmp
    delta *= g
    decay_add_square_(xp, acc_delta, delta, rho, tmp)
    delta *= -lr
    param += delta


def adadelta(params: list[Tensor], grads: list[Tensor], square_avgs: list[Tensor],
             acc_deltas: list[Tensor], state_steps: list[Tensor], *, lr: float, rho: float,
             eps: float, weight_decay: float, maximize: bool = False) -> None:
    """Adadelta update of each parameter in place."""
    for i, p in enumerate(params):
        _adadelta(p, grads[i], square_avgs[i], acc_deltas[i], state_steps[i], lr=lr, rho=rho,
                  eps=eps, weight_decay=weight_decay, maximize=maximize)


class Adadelta(RuleOptimizer):
    """Adadelta, as ``torch.optim.Adadelta``.

    >>> opt = ember.optim.Adadelta([w], lr=1.0, rho=0.9)
    """

    strict_state_dtype = False     # PyTorch's rule goes on with converted params

    state_keys = ("square_avg", "acc_delta", "step")

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_hparams(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_hparams(eps=eps, weight_decay=weight_decay)
        check_differentiable(differentiable, "Adadelta")
        super().__init__(params, dict(
            lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
            capturable=capturable, foreach=foreach, differentiable=differentiable))

    def init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": scalar_state(0.0), "square_avg": zeros_like(p),
                "acc_delta": zeros_like(p)}

    def update_group(self, group: dict[str, Any], params: list, grads: list,
                     *state: list) -> None:
        adadelta(params, grads, *state, lr=float(group["lr"]), rho=group["rho"],
                 eps=group["eps"], weight_decay=group["weight_decay"],
                 maximize=group["maximize"])
