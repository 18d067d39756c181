"""``keras.optimizers.Lion``: ``ember.optim.Lion`` (the two rules are the same)."""
from __future__ import annotations

from typing import Any

from ember.keras.optimizers.optimizer import Optimizer
from ember.optim import Lion as PaperLion

__all__ = ["Lion"]


class Lion(Optimizer):
    """Lion (Chen et al., 2023): steps of size ``learning_rate`` along the sign of an
    interpolated momentum; Keras 3's defaults ``beta_1=0.9``, ``beta_2=0.99``.

    >>> from ember import keras
    >>> opt = keras.optimizers.Lion(learning_rate=1e-4)
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.99,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str = "lion", **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        if not 0 < beta_1 <= 1:
            raise ValueError("Lion: argument `beta_1` must be in the [0, 1] range. "
                             "Otherwise, the optimizer degenerates to SignSGD. Received: "
                             f"beta_1={beta_1}.")
        self.beta_1, self.beta_2 = beta_1, beta_2

    def _make_engine(self, variables: list) -> Any:
        return PaperLion(variables, lr=self.learning_rate,
                         betas=(float(self.beta_1), float(self.beta_2)))

    def _config(self) -> dict:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}
