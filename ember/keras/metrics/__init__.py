"""``keras.metrics``: Keras 3's stateful metrics (state in NumPy float64, no gradients).

``update_state(y_true, y_pred, sample_weight=None)`` accumulates a batch, ``result()``
returns a 0-d tensor, ``reset_state()`` starts over, and calling the metric does the first
two. ``get`` resolves names; the trainer resolves ``'accuracy'``/``'acc'`` with
:func:`resolve_accuracy`.

>>> from ember.keras import metrics
>>> m = metrics.SparseCategoricalAccuracy()
>>> m.update_state([0, 1], [[0.9, 0.1], [0.8, 0.2]])
>>> m.result()
tensor(0.5000)
"""
from __future__ import annotations

from typing import Any, Sequence

from ember.keras._naming import snake_case
from ember.keras._registry import Registry
from ember.keras.losses import (binary_crossentropy, categorical_crossentropy,
                                categorical_hinge, hinge, kl_divergence, log_cosh,
                                mean_absolute_error, mean_absolute_percentage_error,
                                mean_squared_error, mean_squared_logarithmic_error, poisson,
                                sparse_categorical_crossentropy, squared_hinge)
from ember.keras.metrics.accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy,
                                          SparseCategoricalAccuracy,
                                          SparseTopKCategoricalAccuracy,
                                          TopKCategoricalAccuracy, accuracy, binary_accuracy,
                                          categorical_accuracy, sparse_categorical_accuracy,
                                          sparse_top_k_categorical_accuracy,
                                          top_k_categorical_accuracy)
from ember.keras.metrics.base import Mean, MeanMetricWrapper, Metric, Sum
from ember.keras.metrics.confusion import AUC, Precision, Recall
from ember.keras.metrics.regression import (BinaryCrossentropy, CategoricalCrossentropy,
                                            CategoricalHinge, CosineSimilarity, Hinge,
                                            KLDivergence, LogCoshError, MeanAbsoluteError,
                                            MeanAbsolutePercentageError, MeanSquaredError,
                                            MeanSquaredLogarithmicError, Poisson,
                                            RootMeanSquaredError,
                                            SparseCategoricalCrossentropy, SquaredHinge,
                                            cosine_similarity)

_CLASSES = (Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy,
            CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
            SparseTopKCategoricalAccuracy, Precision, Recall, AUC, MeanSquaredError,
            MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
            RootMeanSquaredError, CosineSimilarity, LogCoshError, BinaryCrossentropy,
            CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson,
            Hinge, SquaredHinge, CategoricalHinge)
_FUNCTIONS = (accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
              top_k_categorical_accuracy, sparse_top_k_categorical_accuracy,
              mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
              mean_squared_logarithmic_error, binary_crossentropy, categorical_crossentropy,
              sparse_categorical_crossentropy, kl_divergence, poisson, hinge, squared_hinge,
              categorical_hinge, log_cosh, cosine_similarity)

__all__ = [c.__name__ for c in _CLASSES] + [f.__name__ for f in _FUNCTIONS] + \
    ["get", "serialize", "deserialize", "resolve_accuracy"]

# As in Keras 3: function names, class names, the classes' snake_case names (which win over
# the functions: 'mean_squared_error' is the MeanSquaredError metric) and short aliases.
_REGISTRY = Registry("metric", Metric, {
    **{f.__name__: f for f in _FUNCTIONS}, **{c.__name__: c for c in _CLASSES},
    **{snake_case(c.__name__): c for c in _CLASSES},
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError,
    "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "rmse": RootMeanSquaredError, "auc": AUC,
})


def get(identifier: Any) -> Any:
    """A metric from a name ('mae' and 'mean_absolute_error' give the metric classes'
    instances, so does 'binary_accuracy'), a config dict, a class, an instance or a
    callable. 'accuracy' alone depends on the model's outputs: see
    :func:`resolve_accuracy`.

    >>> get("mae").name
    'mean_absolute_error'
    """
    return _REGISTRY.get(identifier)


def serialize(metric: Any) -> Any:
    """The JSON-ready form of a metric."""
    return _REGISTRY.serialize(metric)


def deserialize(config: Any) -> Any:
    """The metric a :func:`serialize` result describes."""
    return _REGISTRY.get(config)


def resolve_accuracy(loss: Any, y_true_shape: Sequence[int],
                     y_pred_shape: Sequence[int]) -> Metric:
    """The metric ``compile(metrics=['accuracy'])`` means, by Keras 3's rule on the shapes:
    ``BinaryAccuracy`` if predictions have one column (or are 1-D), else
    ``SparseCategoricalAccuracy`` if the targets have fewer dimensions than the predictions
    or a last dimension of 1, else ``CategoricalAccuracy``. ``loss`` is accepted for
    callers that know it; Keras 3 (and Ember) decide from the shapes alone.

    >>> type(resolve_accuracy("sparse_categorical_crossentropy", (32,), (32, 10))).__name__
    'SparseCategoricalAccuracy'
    """
    true_rank, pred_rank = len(y_true_shape), len(y_pred_shape)
    pred_last = y_pred_shape[-1] if pred_rank else 1
    true_last = y_true_shape[-1] if true_rank else 1
    if pred_rank <= 1 or pred_last == 1:
        return BinaryAccuracy(name="accuracy")
    if true_rank < pred_rank or (true_last == 1 and pred_last > 1):
        return SparseCategoricalAccuracy(name="accuracy")
    return CategoricalAccuracy(name="accuracy")
