"""``RuleEngine``: an ``ember.optim`` optimizer running a Keras-form update rule.

Where Keras's update differs from PyTorch's element by element (epsilon inside the square
root in RMSprop and Adagrad, the velocity holding the learning rate in SGD, Adamax's
epsilon outside the max), no hyper-parameter adjustment makes PyTorch's rule match; the
Keras optimizer then runs its own rule, an ``update_rule`` op, through this engine. It
reuses ``RuleOptimizer``'s state handling: ``slots`` names the state tensors passed to the
rule after the gradient, each filled with its value (shaped like the parameter), or passed
as None when its value is None (a feature switched off, such as momentum).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ember.ops.creation import full_like
from ember.optim._functional import RuleOptimizer, UpdateOp
from ember.tensor import Tensor

__all__ = ["RuleEngine"]


class RuleEngine(RuleOptimizer):
    """Runs ``rule(param, grad, *slots, **hparams)`` on every parameter with a gradient;
    ``hparams`` are the param group's entries named in ``hparam_names``."""

    def __init__(self, params: Iterable[Tensor], rule: UpdateOp, slots: dict[str, float | None],
                 hparams: dict[str, Any]) -> None:
        self.rule: Callable = rule
        self.slots = dict(slots)
        self.state_keys = tuple(self.slots)
        self.hparam_names = tuple(hparams)
        super().__init__(params, {"lr": 0.0, **hparams})

    def init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {name: full_like(p, value) for name, value in self.slots.items()
                if value is not None}

    def update_group(self, group: dict[str, Any], params: list, grads: list,
                     *state: list) -> None:
        hparams = {name: group[name] for name in self.hparam_names}
        lr = float(group["lr"])
        for i, p in enumerate(params):
            self.rule(p, grads[i], *(s[i] for s in state), lr=lr, **hparams)
