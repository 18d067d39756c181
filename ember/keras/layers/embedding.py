"""Keras 3's Embedding layer: integer ids -> rows of an ``(input_dim, output_dim)`` table.

>>> import ember
>>> from ember.keras.layers import Embedding
>>> Embedding(100, 8)(ember.tensor([[1, 2, 3]])).shape
ember.Size([1, 3, 8])
"""
from __future__ import annotations

from typing import Any

import numpy as np

import ember.nn.functional as F
from ember import Tensor
from ember.keras import constraints, initializers, regularizers
from ember.keras.layers.layer import Layer

__all__ = ["Embedding"]


def _positive(layer: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{layer}: `{name}` must be a positive integer. Received: "
                         f"{name}={value!r}")
    return int(value)


class Embedding(Layer):
    """Looks up ``embeddings[ids]``; ids must lie in ``[0, input_dim)``.

    ``mask_zero=True`` (Keras's masking of padded steps) is refused: Ember's Keras layers
    do not propagate masks.
    """

    def __init__(self, input_dim: int, output_dim: int,
                 embeddings_initializer: Any = "uniform", embeddings_regularizer: Any = None,
                 embeddings_constraint: Any = None, mask_zero: bool = False,
                 weights: Any = None, lora_rank: int | None = None, **kwargs: Any) -> None:
        kwargs.pop("input_length", None)         # Keras 2's argument, ignored by Keras 3
        super().__init__(**kwargs)
        self.input_dim = _positive("Embedding", "input_dim", input_dim)
        self.output_dim = _positive("Embedding", "output_dim", output_dim)
        if mask_zero:
            raise ValueError("Embedding: mask_zero=True is not supported (Ember's Keras "
                             "layers do not propagate masks)")
        if lora_rank is not None:
            raise ValueError("Embedding: lora_rank is not supported by Ember")
        self.mask_zero = False
        self.embeddings_initializer = initializers.get(
            "random_uniform" if embeddings_initializer == "uniform" else embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        if weights is not None:
            self.build(None)
            self.set_weights(weights if isinstance(weights, (list, tuple)) else [weights])

    def build(self, input_shape: Any = None) -> None:
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint,
                                          name="embeddings")

    def _convert_input(self, x: Any) -> Any:
        # ids keep their integer dtype; float ids (Keras accepts them) are truncated
        x = super()._convert_input(x) if not isinstance(x, Tensor) else x
        return x.long() if x.is_floating_point() else x

    def call(self, inputs: Tensor) -> Tensor:
        ids = inputs if inputs.dtype == "int64" else inputs.long()
        if ids.numel():
            low, high = int(ids.min()), int(ids.max())
            if low < 0 or high >= self.input_dim:
                bad = low if low < 0 else high
                raise ValueError(f'Layer "{self.name}" (Embedding): input id {bad} is out of '
                                 f"range [0, {self.input_dim}) (input_dim={self.input_dim})")
        return F.embedding(ids, self.embeddings)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self) -> dict:
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero}
