"""Stochastic gradient descent with optional momentum, dampening and Nesterov momentum."""
from __future__ import annotations

from typing import Any, Iterable

from ember.ops.creation import empty_like
from ember.optim import _kernels
from ember.optim._functional import (RuleOptimizer, check_differentiable, check_hparams,
                                     follow_grad, update_rule)
from ember.tensor import Tensor

__all__ = ["SGD", "sgd"]


@update_rule(0, 2)
def _sgd(xp: Any, param: Any, grad: Any, buf: Any, *, lr: float, momentum: float,
         dampening: float, nesterov: bool, weight_decay: float, maximize: bool,
         fresh: bool) -> None:
    if _kernels.sgd(param, grad, buf, lr=lr, momentum=momentum, dampening=dampening,
                    nesterov=nesterov, weight_decay=weight_decay, maximize=maximize,
                    fresh=fresh):
        return                          # one compiled pass (numba) did the same update
    g = follow_grad(xp, param, grad, maximize=maximize, weight_decay=weight_decay)
    if buf is not None:
        if fresh:                       # the first step starts the buffer at the gradient
            buf[...] = g
        else:
            buf *= momentum
            buf += (1 - dampening) * g if dampening else g
        g = g + momentum * buf if nesterov else buf
    param += -lr * g


def sgd(params: list[Tensor], grads: list[Tensor], momentum_buffer_list: list[Tensor | None],
        *, weight_decay: float, momentum: float, lr: float, dampening: float,
        nesterov: bool, maximize: bool) -> None:
    """SGD update of each parameter in place; ``None`` momentum buffers are created (and
    stored back into ``momentum_buffer_list``) when ``momentum != 0``."""
    for i, p in enumerate(params):
        buf = fresh = None
        if momentum != 0:
            buf = momentum_buffer_list[i]
            fresh = buf is None
            if fresh:
                buf = momentum_buffer_list[i] = empty_like(p)
        _sgd(p, grads[i], buf, lr=lr, momentum=momentum, dampening=dampening,
             nesterov=nesterov, weight_decay=weight_decay, maximize=maximize, fresh=fresh)


class SGD(RuleOptimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD`` (same arguments and state).

    >>> opt = ember.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    """

    strict_state_dtype = False     # PyTorch's rule goes on with converted params

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_hparams(lr=lr, momentum=momentum, weight_decay=weight_decay)
        check_differentiable(differentiable, "SGD")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def group_state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {}

    def update_group(self, group: dict[str, Any], params: list, grads: list,
                     *state: list) -> None:
        bufs = state[0] if state else []
        sgd(params, grads, bufs, weight_decay=group["weight_decay"],
            momentum=group["momentum"], lr=float(group["lr"]), dampening=group["dampening"],
            nesterov=group["nesterov"], maximize=group["maximize"])
        for p, buf in zip(params, bufs):
            self.state[p]["momentum_buffer"] = buf
