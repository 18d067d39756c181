"""``keras.optimizers.SGD``: gradient descent with Keras's momentum (velocity) form."""
from __future__ import annotations

from typing import Any

from ember.keras.optimizers._engine import RuleEngine
from ember.keras.optimizers.optimizer import Optimizer
from ember.optim import SGD as TorchStyleSGD
from ember.optim._functional import update_rule

__all__ = ["SGD"]


@update_rule(0, 2)
def _keras_momentum(xp: Any, param: Any, grad: Any, velocity: Any, *, lr: float,
                    momentum: float, nesterov: bool) -> None:
    """``v = momentum * v - lr * g``; ``w += v`` (Nesterov: ``w += momentum * v - lr * g``).
    The velocity holds the learning rate, so a changed rate affects only new gradients
    (PyTorch's buffer is scaled by the current rate instead)."""
    step = xp.multiply(grad, lr)
    velocity *= momentum
    velocity -= step
    if nesterov:
        param -= step
        xp.multiply(velocity, momentum, out=step)
        param += step
    else:
        param += velocity


class SGD(Optimizer):
    """Gradient descent, optionally with momentum (Keras 3's ``SGD``).

    >>> from ember import keras
    >>> opt = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str = "SGD",
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        if isinstance(momentum, bool) or not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be a float between [0, 1], got "
                             f"momentum={momentum!r}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _make_engine(self, variables: list) -> Any:
        if self.momentum == 0:          # plain descent: PyTorch's rule is Keras's
            return TorchStyleSGD(variables, lr=self.learning_rate)
        return RuleEngine(variables, _keras_momentum, {"momentum": 0.0},
                          {"momentum": self.momentum, "nesterov": self.nesterov})

    def _config(self) -> dict:
        return {"momentum": self.momentum, "nesterov": self.nesterov}
