"""RMSprop: steps divided by a running root-mean-square of the gradient (Hinton, 2012)."""
from __future__ import annotations

from typing import Any, Iterable

from ember.ops.creation import zeros_like
from ember.optim._functional import (RuleOptimizer, add_ratio_, advance, check_differentiable,
                                     check_hparams, decay_add_square_, follow_grad, lerp_,
                                     scalar_state, update_rule)
from ember.tensor import Tensor

__all__ = ["RMSprop", "rmsprop"]


@update_rule(0, 2, 3, 4, 5)
def _rmsprop(xp: Any, param: Any, grad: Any, square_avg: Any, grad_avg: Any,
             momentum_buffer: Any, step: Any, *, lr: float, alpha: float, eps: float,
             weight_decay: float, momentum: float, maximize: bool) -> None:
    advance(step)
    g = follow_grad(xp, param, grad, maximize=maximize, weight_decay=weight_decay)
    avg = xp.empty_like(param)
    decay_add_square_(xp, square_avg, g, alpha, avg)
    if grad_avg is not None:        # centered: subtract the squared mean gradient
        lerp_(xp, grad_avg, g, 1 - alpha, avg)
        xp.multiply(grad_avg, grad_avg, out=avg)
        xp.subtract(square_avg, avg, out=avg)
        xp.sqrt(avg, out=avg)
    else:
        xp.sqrt(square_avg, out=avg)
    avg += eps
    if momentum_buffer is not None:
        momentum_buffer *= momentum
        add_ratio_(xp, momentum_buffer, g, avg, 1.0, avg)
        avg = xp.multiply(momentum_buffer, -lr, out=avg)
        param += avg
    else:
        add_ratio_(xp, param, g, avg, -lr, avg)


def rmsprop(params: list[Tensor], grads: list[Tensor], square_avgs: list[Tensor],
            grad_avgs: list[Tensor], momentum_buffer_list: list[Tensor],
            state_steps: list[Tensor], *, lr: float, alpha: float, eps: float,
            weight_decay: float, momentum: float, centered: bool,
            maximize: bool = False) -> None:
    """RMSprop update of each parameter in place."""
    for i, p in enumerate(params):
        _rmsprop(p, grads[i], square_avgs[i], grad_avgs[i] if centered else None,
                 momentum_buffer_list[i] if momentum > 0 else None, state_steps[i], lr=lr,
                 alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                 maximize=maximize)


class RMSprop(RuleOptimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (``centered`` divides by the gradient's
    estimated variance instead of its second moment).

    >>> opt = ember.optim.RMSprop([w], lr=1e-2, momentum=0.9)
    """

    strict_state_dtype = False     # PyTorch's rule goes on with converted params

    state_keys = ("square_avg", "grad_avg", "momentum_buffer", "step")

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_hparams(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay,
                      alpha=alpha)
        check_differentiable(differentiable, "RMSprop")
        super().__init__(params, dict(
            lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
            weight_decay=weight_decay, capturable=capturable, foreach=foreach,
            maximize=maximize, differentiable=differentiable))

    def init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": scalar_state(0.0), "square_avg": zeros_like(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = zeros_like(p)
        return state

    def update_group(self, group: dict[str, Any], params: list, grads: list,
                     *state: list) -> None:
        rmsprop(params, grads, *state, lr=float(group["lr"]), alpha=group["alpha"],
                eps=group["eps"], weight_decay=group["weight_decay"],
                momentum=group["momentum"], centered=group["centered"],
                maximize=group["maximize"])
