"""``keras.optimizers.Adadelta``: ``ember.optim.Adadelta`` (the two rules are the same)."""
from __future__ import annotations

from typing import Any

from ember.keras.optimizers.optimizer import Optimizer
from ember.optim import Adadelta as TorchStyleAdadelta

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), Keras 3's defaults: ``learning_rate=0.001``, ``rho=0.95``,
    ``epsilon=1e-7``.

    >>> from ember import keras
    >>> opt = keras.optimizers.Adadelta(learning_rate=1.0)
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str = "adadelta", **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def _make_engine(self, variables: list) -> Any:
        return TorchStyleAdadelta(variables, lr=self.learning_rate, rho=self.rho,
                                  eps=self.epsilon)

    def _config(self) -> dict:
        return {"rho": self.rho, "epsilon": self.epsilon}
