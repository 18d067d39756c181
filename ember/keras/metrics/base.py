"""``Metric``, ``Mean``, ``Sum`` and ``MeanMetricWrapper``: Keras 3's stateful metrics.

A metric accumulates over ``update_state`` calls and reports with ``result()`` (a 0-d
tensor of the metric's ``dtype``); ``reset_state()`` starts over. State is kept as NumPy
float64 (metrics need no gradients). Sample weights follow Keras: a weight per sample (or
per element), the values averaged within each sample first.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import ember
from ember.keras._naming import snake_case, unique_name
from ember.keras.backend import floatx
from ember.tensor import Tensor

__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper", "to_numpy",
           "reduce_to_samplewise_values", "same_rank"]


def to_numpy(x: Any) -> np.ndarray:
    """A tensor, array, list or number as a NumPy array (no gradient)."""
    return x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)


def same_rank(x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras's rank fix for arrays: when ranks differ by one and the longer ends in a
    size-1 axis, drop it (or give a rank-1 partner one)."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        return (x1, x2[..., None]) if x2.ndim == 1 else (x1[..., 0], x2)
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        return (x1[..., None], x2) if x1.ndim == 1 else (x1, x2[..., 0])
    return x1, x2


def reduce_to_samplewise_values(values: np.ndarray, sample_weight: Any,
                                reduce_fn: Callable) -> tuple[np.ndarray, Any]:
    """Weighted values reduced to one per sample (``reduce_fn`` over the trailing axes)
    and the matching per-sample weights, as Keras's ``Mean``/``Sum`` use them."""
    values = np.asarray(values, dtype=np.float64)
    if sample_weight is not None:
        weights = np.asarray(to_numpy(sample_weight), dtype=np.float64)
        values, weights = same_rank(values, weights)
        if values.ndim > weights.ndim:
            values = reduce_fn(values, axis=tuple(range(weights.ndim, values.ndim)))
        try:
            weights = np.broadcast_to(weights, values.shape)
        except ValueError:
            raise ValueError(f"sample_weight of shape {weights.shape} cannot be broadcast to "
                             f"the metric values of shape {values.shape}") from None
        values = values * weights
        if weights.ndim > 1:
            weights = reduce_fn(weights, axis=tuple(range(1, weights.ndim)))
        sample_weight = weights
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Metric:
    """Base class: subclasses implement ``update_state``, ``result`` and
    ``reset_state`` (called once by ``__init__`` to create the state).

    >>> m = Mean()
    >>> m([1.0, 2.0, 3.0])
    tensor(2.)
    """

    def __init__(self, dtype: Any = None, name: str | None = None) -> None:
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.dtype = dtype or floatx()
        self.reset_state()

    def reset_state(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement reset_state()")

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement update_state()")

    def result(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement result()")

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        """Update with a batch and return the result so far."""
        self.update_state(*args, **kwargs)
        return self.result()

    def _tensor(self, value: Any) -> Tensor:
        return ember.tensor(np.asarray(value), dtype=self.dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> "Metric":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class Sum(Metric):
    """The (weighted) sum of all values seen.

    >>> Sum()([1.0, 3.0, 5.0, 7.0])
    tensor(16.)
    """

    def reset_state(self) -> None:
        self.total = 0.0

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values, _ = reduce_to_samplewise_values(to_numpy(values), sample_weight, np.sum)
        self.total += float(np.sum(values))

    def result(self) -> Tensor:
        return self._tensor(self.total)


class Mean(Metric):
    """The (weighted) mean of all values seen; with weights, ``sum(w * v) / sum(w)``.

    >>> Mean()([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    tensor(2.)
    """

    def reset_state(self) -> None:
        self.total, self.count = 0.0, 0.0

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values, weights = reduce_to_samplewise_values(to_numpy(values), sample_weight,
                                                      np.mean)
        self.total += float(np.sum(values))
        if weights is not None:
            self.count += float(np.sum(weights))
        else:
            self.count += values.shape[0] if values.ndim else 1

    def result(self) -> Tensor:
        return self._tensor(self.total / self.count if self.count else 0.0)


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` over all samples seen (``fn`` gives a
    value per sample, like the loss functions and ``keras.metrics.binary_accuracy``).

    >>> from ember.keras import losses
    >>> m = MeanMetricWrapper(losses.mean_absolute_error, name="mae")
    >>> m([[1.0, 2.0]], ember.tensor([[2.0, 4.0]]))
    tensor(1.5000)
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype: Any = None,
                 **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper: `fn` must be callable, got {fn!r}")
        self._fn, self._fn_kwargs = fn, kwargs
        super().__init__(dtype=dtype, name=name or getattr(fn, "__name__", None))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        with ember.no_grad():
            pred = y_pred.detach() if isinstance(y_pred, Tensor) else \
                ember.as_tensor(np.asarray(y_pred, dtype=self.dtype))
            true = y_true.detach() if isinstance(y_true, Tensor) else \
                ember.as_tensor(np.asarray(y_true))
            values = self._fn(true, pred, **self._fn_kwargs)
        super().update_state(to_numpy(values), sample_weight)

    def get_config(self) -> dict:
        if type(self) is MeanMetricWrapper:
            from ember.keras.saving.serialization import serialize_keras_object
            return {**super().get_config(), "fn": serialize_keras_object(self._fn),
                    **self._fn_kwargs}
        return {**super().get_config(), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict) -> "Metric":
        if cls is MeanMetricWrapper:
            from ember.keras.saving.serialization import deserialize_keras_object
            config = {**config, "fn": deserialize_keras_object(config["fn"])}
        return cls(**config)
