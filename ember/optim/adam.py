"""Adam and AdamW: steps scaled by bias-corrected running moments of the gradient."""
from __future__ import annotations

from typing import Any, Iterable

from ember.ops.creation import zeros_like
from ember.optim import _kernels
from ember.optim._functional import (RuleOptimizer, add_ratio_, advance, check_differentiable,
                                     check_hparams, decay_add_square_, follow_grad, lerp_,
                                     scalar_state, sqrt_plus_, update_rule)
from ember.tensor import Tensor

__all__ = ["Adam", "AdamW", "adam"]


@update_rule(0, 2, 3, 4, 5)
def _adam(xp: Any, param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any, max_exp_avg_sq: Any,
          step: Any, *, lr: float, beta1: float, beta2: float, eps: float,
          weight_decay: float, maximize: bool, decoupled_weight_decay: bool) -> None:
    t = advance(step)
    if _kernels.adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, t, lr=lr,
                     beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                     maximize=maximize, decoupled_weight_decay=decoupled_weight_decay):
        return                          # one compiled pass (numba) did the same update
    g = follow_grad(xp, param, grad, maximize=maximize, weight_decay=weight_decay, lr=lr,
                    decoupled=decoupled_weight_decay)
    tmp = xp.empty_like(param)
    lerp_(xp, exp_avg, g, 1 - beta1, tmp)
    decay_add_square_(xp, exp_avg_sq, g, beta2, tmp)
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    denom = sqrt_plus_(xp, second, (1 - beta2 ** t) ** 0.5, eps, tmp)
    add_ratio_(xp, param, exp_avg, denom, -lr / (1 - beta1 ** t), tmp)


def adam(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
         exp_avg_sqs: list[Tensor], max_exp_avg_sqs: list[Tensor], state_steps: list[Tensor],
         *, amsgrad: bool, beta1: float, beta2: float, lr: float, weight_decay: float,
         eps: float, maximize: bool, decoupled_weight_decay: bool = False) -> None:
    """Adam (or AdamW with ``decoupled_weight_decay``) update of each parameter in place."""
    for i, p in enumerate(params):
        _adam(p, grads[i], exp_avgs[i], exp_avg_sqs[i], max_exp_avg_sqs[i] if amsgrad else None,
              state_steps[i], lr=lr, beta1=beta1, beta2=beta2, eps=eps,
              weight_decay=weight_decay, maximize=maximize,
              decoupled_weight_decay=decoupled_weight_decay)


def check_betas(betas: Any) -> tuple[float, float]:
    """Betas as two floats, with PyTorch's checks."""
    if not (all(isinstance(b, float) for b in betas) or all(isinstance(b, Tensor)
                                                            for b in betas)):
        raise ValueError("betas must be either both floats or both Tensors")
    for i, b in enumerate(betas):
        if isinstance(b, Tensor) and b.numel() != 1:
            raise ValueError(f"Tensor betas[{i}] must be 1-element")
    return tuple(float(b) for b in betas)


class Adam(RuleOptimizer):
    """Adam (Kingma & Ba, 2015), as ``torch.optim.Adam``: ``amsgrad`` keeps the largest
    second moment, ``decoupled_weight_decay=True`` makes it AdamW.

    >>> opt = ember.optim.Adam([w], lr=1e-3, betas=(0.9, 0.999))
    """

    state_keys = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step")

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        check_hparams(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        betas = check_betas(betas)
        check_differentiable(differentiable, type(self).__name__)
        super().__init__(params, dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
            maximize=maximize, foreach=foreach, capturable=capturable,
            differentiable=differentiable, fused=fused,
            decoupled_weight_decay=decoupled_weight_decay))

    def init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": scalar_state(0.0), "exp_avg": zeros_like(p),
                 "exp_avg_sq": zeros_like(p)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_like(p)
        return state

    def update_group(self, group: dict[str, Any], params: list, grads: list,
                     *state: list) -> None:
        exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = state
        beta1, beta2 = group["betas"]
        adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
             amsgrad=group["amsgrad"], beta1=beta1, beta2=beta2, lr=float(group["lr"]),
             weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"],
             decoupled_weight_decay=group["decoupled_weight_decay"])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``.

    >>> opt = ember.optim.AdamW([w], lr=1e-3, weight_decay=0.01)
    """

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
