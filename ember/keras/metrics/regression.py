"""Metrics that average a loss function over the samples seen (``MeanSquaredError``,
``BinaryCrossentropy``, ...), and ``RootMeanSquaredError``."""
from __future__ import annotations

from typing import Any

import numpy as np

from ember import Tensor
from ember.keras import losses
from ember.keras.metrics.base import Mean, MeanMetricWrapper, same_rank, to_numpy

__all__ = ["MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "RootMeanSquaredError", "CosineSimilarity",
           "LogCoshError", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge",
           "SquaredHinge", "CategoricalHinge", "cosine_similarity"]


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """The cosine similarity along ``axis`` (the loss of the same name is its negative)."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


def _wrapper(class_name: str, fn: Any, default_name: str, doc: str) -> type:
    """A metric class averaging ``fn``, constructed as ``Cls(name=..., dtype=...)``."""
    def __init__(self: MeanMetricWrapper, name: str = default_name, dtype: Any = None) -> None:
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype)
    return type(class_name, (MeanMetricWrapper,), {
        "__init__": __init__, "__doc__": doc, "__module__": __name__,
        "__qualname__": class_name})


MeanSquaredError = _wrapper("MeanSquaredError", losses.mean_squared_error,
                            "mean_squared_error", "Mean of ``(y_true - y_pred) ** 2``.")
MeanAbsoluteError = _wrapper("MeanAbsoluteError", losses.mean_absolute_error,
                             "mean_absolute_error", "Mean of ``abs(y_true - y_pred)``.")
MeanAbsolutePercentageError = _wrapper(
    "MeanAbsolutePercentageError", losses.mean_absolute_percentage_error,
    "mean_absolute_percentage_error", "Mean absolute percentage error.")
MeanSquaredLogarithmicError = _wrapper(
    "MeanSquaredLogarithmicError", losses.mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", "Mean squared logarithmic error.")
LogCoshError = _wrapper("LogCoshError", losses.log_cosh, "logcosh",
                        "Mean of ``log(cosh(error))``.")
KLDivergence = _wrapper("KLDivergence", losses.kl_divergence, "kl_divergence",
                        "Mean Kullback-Leibler divergence.")
Poisson = _wrapper("Poisson", losses.poisson, "poisson", "Mean Poisson loss.")
Hinge = _wrapper("Hinge", losses.hinge, "hinge", "Mean hinge loss.")
SquaredHinge = _wrapper("SquaredHinge", losses.squared_hinge, "squared_hinge",
                        "Mean squared hinge loss.")
CategoricalHinge = _wrapper("CategoricalHinge", losses.categorical_hinge,
                            "categorical_hinge", "Mean categorical hinge loss.")


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between ``y_true`` and ``y_pred`` along ``axis``."""

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None,
                 axis: int = -1) -> None:
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary cross-entropy."""

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0) -> None:
        super().__init__(losses.binary_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical cross-entropy."""

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0,
                 axis: int = -1) -> None:
        super().__init__(losses.categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean sparse categorical cross-entropy."""

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, axis: int = -1) -> None:
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, axis=axis)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the (weighted) mean of ``(y_true - y_pred) ** 2`` over everything seen.

    >>> RootMeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    tensor(0.5000)
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        t, p = same_rank(np.asarray(to_numpy(y_true), dtype=np.float64),
                         np.asarray(to_numpy(y_pred), dtype=np.float64))
        if t.shape != p.shape:
            raise ValueError(f"root_mean_squared_error: y_true and y_pred must have the same "
                             f"shape, got {t.shape} and {p.shape}")
        super().update_state(np.square(p - t), sample_weight)

    def result(self) -> Tensor:
        return self._tensor(np.sqrt(self.total / self.count) if self.count else 0.0)
