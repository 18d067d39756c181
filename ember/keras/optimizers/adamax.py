"""``keras.optimizers.Adamax``: Keras's rule, ``u = max(b2 * u, |g|)`` and a step
``lr * m / ((1 - b1**t) * (u + eps))`` (PyTorch keeps epsilon inside the max)."""
from __future__ import annotations

from typing import Any

from ember.keras.optimizers._engine import RuleEngine
from ember.keras.optimizers.optimizer import Optimizer
from ember.optim._functional import add_ratio_, lerp_, update_rule

__all__ = ["Adamax"]


@update_rule(0, 2, 3)
def _keras_adamax(xp: Any, param: Any, grad: Any, m: Any, u: Any, *, lr: float,
                  beta_1: float, beta_2: float, epsilon: float, t: int) -> None:
    tmp = xp.empty_like(param)
    lerp_(xp, m, grad, 1 - beta_1, tmp)
    u *= beta_2
    xp.abs(grad, out=tmp)
    xp.maximum(u, tmp, out=u)
    xp.add(u, epsilon, out=tmp)
    add_ratio_(xp, param, m, tmp, -lr / (1 - beta_1 ** t), tmp)


class Adamax(Optimizer):
    """Adamax (Adam with an infinity-norm second moment), Keras 3's defaults.

    >>> from ember import keras
    >>> opt = keras.optimizers.Adamax(learning_rate=2e-3)
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str = "adamax",
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _make_engine(self, variables: list) -> Any:
        return RuleEngine(variables, _keras_adamax, {"m": 0.0, "u": 0.0},
                          {"beta_1": self.beta_1, "beta_2": self.beta_2,
                           "epsilon": self.epsilon, "t": 1})

    def _prepare_step(self, group: dict, t: int) -> None:
        group["t"] = t

    def _config(self) -> dict:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
