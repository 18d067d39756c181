"""``keras.optimizers.Adagrad``: Keras's rule, ``lr * g / sqrt(acc + eps)`` (epsilon inside
the square root, where PyTorch adds it after)."""
from __future__ import annotations

from typing import Any

from ember.keras.optimizers._engine import RuleEngine
from ember.keras.optimizers.optimizer import Optimizer
from ember.optim._functional import add_ratio_, update_rule

__all__ = ["Adagrad"]


@update_rule(0, 2)
def _keras_adagrad(xp: Any, param: Any, grad: Any, accumulator: Any, *, lr: float,
                   epsilon: float) -> None:
    tmp = xp.multiply(grad, grad)
    accumulator += tmp
    xp.add(accumulator, epsilon, out=tmp)
    xp.sqrt(tmp, out=tmp)
    add_ratio_(xp, param, grad, tmp, -lr, tmp)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), Keras 3's defaults: ``learning_rate=0.001``,
    ``initial_accumulator_value=0.1``, ``epsilon=1e-7``.

    >>> from ember import keras
    >>> opt = keras.optimizers.Adagrad(learning_rate=0.01)
    """

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str = "adagrad",
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _make_engine(self, variables: list) -> Any:
        return RuleEngine(variables, _keras_adagrad,
                          {"accumulator": self.initial_accumulator_value},
                          {"epsilon": self.epsilon})

    def _config(self) -> dict:
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
