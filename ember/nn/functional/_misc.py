"""Padding and dropout functions of ``ember.nn.functional`` (implemented in
``ember.ops.padding`` and ``ember.ops.dropout``)."""
from ember.ops.dropout import (alpha_dropout, dropout, dropout1d, dropout2d, dropout3d,
                               feature_alpha_dropout)
from ember.ops.padding import pad

__all__ = ["pad", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]
