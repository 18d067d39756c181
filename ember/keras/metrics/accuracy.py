"""Accuracy metrics: the functions (one value per sample) and their mean-metric classes."""
from __future__ import annotations

from typing import Any

import numpy as np

import ember
from ember.keras.metrics.base import MeanMetricWrapper, same_rank, to_numpy
from ember.tensor import Tensor

__all__ = ["accuracy", "binary_accuracy", "categorical_accuracy",
           "sparse_categorical_accuracy", "top_k_categorical_accuracy",
           "sparse_top_k_categorical_accuracy", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy"]


def _matches(hits: np.ndarray) -> Tensor:
    return ember.from_numpy(np.ascontiguousarray(hits, dtype=np.float32))


def _same_shape(who: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = same_rank(to_numpy(y_true), to_numpy(y_pred))
    if t.shape != p.shape:
        raise ValueError(f"{who}: y_true and y_pred must have the same shape, got "
                         f"y_true.shape={to_numpy(y_true).shape} and "
                         f"y_pred.shape={to_numpy(y_pred).shape}")
    return t, p


def _sparse_labels(who: str, y_true: Any, y_pred: np.ndarray) -> np.ndarray:
    """Integer labels of shape ``y_pred.shape[:-1]`` (a trailing size-1 axis dropped)."""
    labels = to_numpy(y_true)
    if labels.ndim == y_pred.ndim and labels.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(f"{who}: y_true must hold one label per row of y_pred, got "
                         f"y_true.shape={to_numpy(y_true).shape} and "
                         f"y_pred.shape={y_pred.shape}")
    return labels


def accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1 where ``y_pred == y_true`` exactly, else 0.

    >>> accuracy([1, 2], [1, 3])
    tensor([1., 0.])
    """
    t, p = _same_shape("accuracy", y_true, y_pred)
    return _matches(t == p)


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> Tensor:
    """1 where ``(y_pred > threshold)`` equals the 0/1 label.

    >>> binary_accuracy([[1], [0]], [[0.7], [0.6]])
    tensor([[1.],
            [0.]])
    """
    t, p = _same_shape("binary_accuracy", y_true, y_pred)
    return _matches(t == (p > threshold))


def categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1 where the arg-max of ``y_pred`` is that of the one-hot ``y_true``."""
    t, p = _same_shape("categorical_accuracy", y_true, y_pred)
    return _matches(np.argmax(t, axis=-1) == np.argmax(p, axis=-1))


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1 where the arg-max of ``y_pred`` is the integer label ``y_true``.

    >>> sparse_categorical_accuracy([2, 0], [[0.1, 0.2, 0.7], [0.3, 0.6, 0.1]])
    tensor([1., 0.])
    """
    p = to_numpy(y_pred)
    labels = _sparse_labels("sparse_categorical_accuracy", y_true, p)
    return _matches(labels == np.argmax(p, axis=-1))


def _in_top_k(labels: np.ndarray, p: np.ndarray, k: int) -> np.ndarray:
    """Whether each label's score reaches the k-th largest score of its row (ties at the
    boundary count as in, like Keras)."""
    labels = labels.astype(np.int64)
    if k >= p.shape[-1]:
        return np.ones(labels.shape, dtype=bool)
    kth = np.partition(p, -k, axis=-1)[..., -k]
    return np.take_along_axis(p, labels[..., None], axis=-1)[..., 0] >= kth


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Tensor:
    """1 where the one-hot label's class is among the ``k`` highest scores."""
    t, p = _same_shape("top_k_categorical_accuracy", y_true, y_pred)
    return _matches(_in_top_k(np.argmax(t, axis=-1), p, k))


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Tensor:
    """1 where the integer label is among the ``k`` highest scores."""
    p = to_numpy(y_pred)
    labels = _sparse_labels("sparse_top_k_categorical_accuracy", y_true, p)
    return _matches(_in_top_k(labels, p, k))


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly.

    >>> Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    tensor(0.7500)
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the 0/1 label.

    >>> BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    tensor(0.7500)
    """

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None,
                 threshold: float = 0.5) -> None:
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the arg-max of the scores is the one-hot label's class."""

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the arg-max of the scores is the integer label.

    >>> SparseCategoricalAccuracy()([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    tensor(0.5000)
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the ``k`` highest scores."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy",
                 dtype: Any = None) -> None:
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest scores."""

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy",
                 dtype: Any = None) -> None:
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
