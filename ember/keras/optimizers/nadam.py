"""``keras.optimizers.Nadam``: ``ember.optim.NAdam`` with Keras's momentum schedule.

Keras's ``u_t = beta_1 * (1 - 0.5 * 0.96**t)`` is PyTorch's ``mu_t`` with
``momentum_decay=1``; the rest of the two rules (epsilon after the bias-corrected square
root) is the same.
"""
from __future__ import annotations

from typing import Any

from ember.keras.optimizers.optimizer import Optimizer
from ember.optim import NAdam as TorchStyleNAdam

__all__ = ["Nadam"]


class Nadam(Optimizer):
    """Adam with Nesterov momentum (Dozat, 2016), Keras 3's defaults.

    >>> from ember import keras
    >>> opt = keras.optimizers.Nadam(learning_rate=2e-3)
    """

    _step_counters = ("step", "mu_product")

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str = "nadam",
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self._u_product = (0, 1.0)

    def _make_engine(self, variables: list) -> Any:
        return TorchStyleNAdam(variables, lr=self.learning_rate,
                               betas=(float(self.beta_1), float(self.beta_2)),
                               eps=self.epsilon, momentum_decay=1.0)

    def _counter_value(self, key: str, done: int) -> float:
        if key == "step":
            return float(done)
        start, product = self._u_product    # Keras's u_product, extended to `done` steps
        if done < start:
            start, product = 0, 1.0
        for s in range(start + 1, done + 1):
            product *= self.beta_1 * (1.0 - 0.5 * 0.96 ** s)
        self._u_product = (done, product)
        return product

    def _config(self) -> dict:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
