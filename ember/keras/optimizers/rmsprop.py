"""``keras.optimizers.RMSprop``: Keras's rule, whose epsilon sits inside the square root
(``lr * g / sqrt(v + eps)``; PyTorch divides by ``sqrt(v) + eps``) and whose momentum
buffer holds the learning rate."""
from __future__ import annotations

from typing import Any

from ember.keras.optimizers._engine import RuleEngine
from ember.keras.optimizers.optimizer import Optimizer
from ember.optim._functional import decay_add_square_, lerp_, update_rule

__all__ = ["RMSprop"]


@update_rule(0, 2, 3, 4)
def _keras_rmsprop(xp: Any, param: Any, grad: Any, velocity: Any, momentum_buf: Any,
                   average_grad: Any, *, lr: float, rho: float, momentum: float,
                   epsilon: float) -> None:
    tmp = xp.empty_like(param)
    decay_add_square_(xp, velocity, grad, rho, tmp)
    if average_grad is not None:        # centered: v - mean(g)**2
        lerp_(xp, average_grad, grad, 1 - rho, tmp)
        xp.multiply(average_grad, average_grad, out=tmp)
        xp.subtract(velocity, tmp, out=tmp)
    else:
        tmp[...] = velocity
    tmp += epsilon
    xp.sqrt(tmp, out=tmp)
    xp.divide(grad, tmp, out=tmp)
    tmp *= lr                           # the increment
    if momentum_buf is not None:
        momentum_buf *= momentum
        momentum_buf += tmp
        param -= momentum_buf
    else:
        param -= tmp


class RMSprop(Optimizer):
    """RMSprop (Hinton), Keras 3's defaults: ``learning_rate=0.001``, ``rho=0.9``,
    ``epsilon=1e-7``.

    >>> from ember import keras
    >>> opt = keras.optimizers.RMSprop(momentum=0.9, centered=True)
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str = "rmsprop", **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _make_engine(self, variables: list) -> Any:
        slots = {"velocity": 0.0, "momentum": 0.0 if self.momentum > 0 else None,
                 "average_gradient": 0.0 if self.centered else None}
        return RuleEngine(variables, _keras_rmsprop, slots,
                          {"rho": self.rho, "momentum": self.momentum,
                           "epsilon": self.epsilon})

    def _config(self) -> dict:
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}
