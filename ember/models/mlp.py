"""A multi-layer perceptron classifier.

>>> MLP(784, hidden=(128, 64), num_classes=10)(ember.randn(8, 1, 28, 28)).shape
ember.Size([8, 10])
"""
from __future__ import annotations

from typing import Sequence

from ember import nn
from ember.tensor import Tensor

__all__ = ["MLP"]

_ACTIVATIONS = {"relu": "ReLU", "gelu": "GELU", "tanh": "Tanh", "sigmoid": "Sigmoid",
                "silu": "SiLU", "leaky_relu": "LeakyReLU", "elu": "ELU"}


class MLP(nn.Module):
    """Flatten the input from dim 1, then ``Linear -> activation -> Dropout`` for each width
    in ``hidden``, then a ``Linear`` to ``num_classes`` logits.

    Parameters: ``layers.{i}.weight`` / ``layers.{i}.bias`` for hidden layer ``i`` and
    ``head.weight`` / ``head.bias``. ``activation`` is one of "relu", "gelu", "tanh",
    "sigmoid", "silu", "leaky_relu", "elu"; ``dropout`` is the drop probability after each
    hidden activation (``dropout=0`` puts an ``Identity`` there).

    >>> MLP(4, hidden=(8,), num_classes=3, activation="tanh")(ember.randn(2, 4)).shape
    ember.Size([2, 3])
    """

    def __init__(self, in_features: int = 784, hidden: Sequence[int] = (128, 64),
                 num_classes: int = 10, activation: str = "relu", dropout: float = 0.0) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"MLP: activation must be one of {sorted(_ACTIVATIONS)}, got "
                             f"{activation!r}")
        widths = [in_features, *hidden]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.activation = getattr(nn, _ACTIVATIONS[activation])()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(widths[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = x.flatten(1)
        for layer in self.layers:
            x = self.dropout(self.activation(layer(x)))
        return self.head(x)
