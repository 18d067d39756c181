"""``keras.optimizers.Adam`` and ``AdamW``: ``ember.optim.Adam`` with Keras's epsilon.

Keras adds epsilon to ``sqrt(v)`` before the bias correction of the step size
(``lr * sqrt(1 - b2**t) / (1 - b1**t) * m / (sqrt(v) + eps)``) where PyTorch adds it after
(``lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)``); giving PyTorch's rule
``eps / sqrt(1 - b2**t)`` at step ``t`` makes the two the same.
"""
from __future__ import annotations

import math
from typing import Any

from ember.keras.optimizers.optimizer import Optimizer
from ember.optim import Adam as TorchStyleAdam

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba), Keras 3's defaults: ``learning_rate=0.001``, ``epsilon=1e-7``.

    >>> from ember import keras
    >>> opt = keras.optimizers.Adam(learning_rate=1e-3, amsgrad=True)
    """

    _step_counters = ("step",)

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str = "adam", **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _make_engine(self, variables: list) -> Any:
        return TorchStyleAdam(variables, lr=self.learning_rate,
                              betas=(float(self.beta_1), float(self.beta_2)),
                              eps=self.epsilon, amsgrad=self.amsgrad)

    def _prepare_step(self, group: dict, t: int) -> None:
        group["eps"] = self.epsilon / math.sqrt(1.0 - self.beta_2 ** t)

    def _config(self) -> dict:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (``weight_decay=0.004`` by default, as Keras 3).

    >>> from ember import keras
    >>> opt = keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=0.01)
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str = "adamw", **kwargs: Any) -> None:
        if weight_decay is None:
            raise ValueError("AdamW: argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
