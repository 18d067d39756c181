"""``keras.losses``: Keras 3's losses, written with Ember ops so they are differentiable.

A loss *function* (``mean_squared_error``, ``sparse_categorical_crossentropy``, ...) maps
``(y_true, y_pred)`` to one loss per sample (the last axis reduced). A loss *class*
(``MeanSquaredError``, ...) wraps one and reduces it to a scalar: it multiplies by
``sample_weight`` (a scalar, one weight per sample or one per element) and applies its
``reduction`` ('sum_over_batch_size' divides by the number of loss values, weighted or
not, as Keras does).

``y_true`` may be a NumPy array, a list or a tensor; ``y_pred`` is a tensor (gradients flow
back through it). Probabilities are clipped to ``[epsilon, 1 - epsilon]`` before their
log (``keras.backend.epsilon()``, 1e-7), as Keras's JAX/NumPy/PyTorch backends do.

>>> import ember
>>> from ember.keras import losses
>>> loss = losses.SparseCategoricalCrossentropy(from_logits=True)
>>> logits = ember.tensor([[2.0, 0.5, -1.0]], requires_grad=True)
>>> value = loss([0], logits)
>>> value.backward()
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np

import ember
from ember.keras import backend
from ember.keras._naming import snake_case, unique_name
from ember.keras._registry import Registry
from ember.nn import functional as F
from ember.tensor import Tensor

__all__ = [
    "Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "BinaryCrossentropy",
    "BinaryFocalCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "Huber", "LogCosh", "KLDivergence", "Poisson", "Hinge", "SquaredHinge",
    "CategoricalHinge", "CosineSimilarity",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "binary_crossentropy", "binary_focal_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "huber", "log_cosh",
    "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge",
    "cosine_similarity", "mse", "mae", "mape", "msle", "kld", "bce",
    "reduce_weighted_values", "squeeze_or_expand_to_same_rank", "get", "serialize",
    "deserialize",
]

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


# -- conversions and shape rules ----------------------------------------------------------
def _as_pred(y_pred: Any, dtype: Any = None) -> Tensor:
    """``y_pred`` as a floating tensor (kept as is, so gradients reach it)."""
    if not isinstance(y_pred, Tensor):
        y_pred = ember.as_tensor(np.asarray(y_pred))
    if dtype is not None:
        return y_pred.to(dtype)
    return y_pred if y_pred.is_floating_point() else y_pred.to(backend.floatx())


def _as_true(y_true: Any, dtype: Any) -> Tensor:
    """Targets as a tensor of the prediction's dtype."""
    if isinstance(y_true, Tensor):
        return y_true if y_true.dtype == dtype else y_true.to(dtype)
    return ember.as_tensor(np.asarray(y_true), dtype=dtype)


def squeeze_or_expand_to_same_rank(x1: Tensor, x2: Tensor,
                                   expand_rank_1: bool = True) -> tuple[Tensor, Tensor]:
    """Keras's rank fix: when ranks differ by one and the longer ends in a size-1 axis,
    drop that axis (or give a rank-1 partner one)."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def _pair(who: str, y_true: Any, y_pred: Any) -> tuple[Tensor, Tensor]:
    """Both arguments as tensors of ``y_pred``'s dtype and of the same shape."""
    y_pred = _as_pred(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(_as_true(y_true, y_pred.dtype), y_pred)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"{who}: y_true and y_pred must have the same shape, got "
                         f"y_true.shape={tuple(y_true.shape)} and "
                         f"y_pred.shape={tuple(y_pred.shape)}")
    return y_true, y_pred


def _numpy(x: Any) -> np.ndarray:
    return x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)


# -- loss functions (one value per sample) ------------------------------------------------
def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean((y_true - y_pred) ** 2, axis=-1)``.

    >>> mean_squared_error([[0.0, 1.0]], ember.tensor([[1.0, 1.0]]))
    tensor([0.5000])
    """
    y_true, y_pred = _pair("mean_squared_error", y_true, y_pred)
    return (y_true - y_pred).square().mean(-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(abs(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = _pair("mean_absolute_error", y_true, y_pred)
    return (y_true - y_pred).abs().mean(-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)``."""
    y_true, y_pred = _pair("mean_absolute_percentage_error", y_true, y_pred)
    scale = y_true.abs().clamp_min(backend.epsilon())
    return ((y_true - y_pred) / scale).abs().mean(-1) * 100.0


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)) ** 2, axis=-1)``."""
    y_true, y_pred = _pair("mean_squared_logarithmic_error", y_true, y_pred)
    eps = backend.epsilon()
    return (y_pred.clamp_min(eps).log1p() - y_true.clamp_min(eps).log1p()).square().mean(-1)


def _clipped(p: Tensor) -> Tensor:
    eps = backend.epsilon()
    return p.clamp(eps, 1.0 - eps)


def _elementwise_bce(y_true: Tensor, y_pred: Tensor, from_logits: bool) -> Tensor:
    if from_logits:
        return F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    p = _clipped(y_pred)
    return -(y_true * p.log() + (1.0 - y_true) * (1.0 - p).log())


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Binary cross-entropy averaged over ``axis``; ``label_smoothing`` pulls the targets
    toward 0.5.

    >>> binary_crossentropy([[1.0]], ember.tensor([[0.0]]), from_logits=True)
    tensor([0.6931])
    """
    y_true, y_pred = _pair("binary_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return _elementwise_bce(y_true, y_pred, from_logits).mean(axis)


def binary_focal_crossentropy(y_true: Any, y_pred: Any, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0,
                              from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1) -> Tensor:
    """Binary cross-entropy scaled by ``(1 - p_t) ** gamma`` (Lin et al., 2017), and by
    ``alpha`` / ``1 - alpha`` for positives / negatives with ``apply_class_balancing``."""
    y_true, y_pred = _pair("binary_focal_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = y_pred.sigmoid()
    bce = _elementwise_bce(y_true, y_pred, from_logits=False)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = (1.0 - p_t).pow(gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return focal.mean(axis)


def _log_probs(y_pred: Tensor, from_logits: bool, axis: int) -> Tensor:
    """Log-probabilities over ``axis``: log-softmax of logits, or the log of the
    probabilities renormalized to sum to one and clipped."""
    if from_logits:
        return F.log_softmax(y_pred, axis)
    return _clipped(y_pred / y_pred.sum(axis, keepdim=True)).log()


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Cross-entropy between one-hot (or soft) targets and class scores on ``axis``.

    >>> categorical_crossentropy([[0.0, 1.0]], ember.tensor([[0.5, 0.5]]))
    tensor([0.6931])
    """
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"categorical_crossentropy: `axis` must be of type `int`, got "
                         f"axis={axis!r}")
    y_true, y_pred = _pair("categorical_crossentropy", y_true, y_pred)
    if y_pred.ndim < 1:
        raise ValueError("categorical_crossentropy: y_true and y_pred must be at least "
                         f"rank 1, got shape {tuple(y_pred.shape)}")
    if y_pred.shape[-1] == 1:
        warnings.warn("In loss categorical_crossentropy, expected y_pred.shape to be "
                      "(batch_size, num_classes) with num_classes > 1. Received: "
                      f"y_pred.shape={tuple(y_pred.shape)}. Consider using "
                      "'binary_crossentropy' if you only have 2 classes.",
                      SyntaxWarning, stacklevel=2)
    if label_smoothing:
        classes = y_true.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / classes
    return -(y_true * _log_probs(y_pred, from_logits,
                                 axis)).sum(axis)


def _check_label_range(who: str, index: np.ndarray, classes: int) -> None:
    bad = (index < 0) | (index >= classes)
    if bad.any():
        raise ValueError(f"{who}: received a label value of {int(index[bad].ravel()[0])} "
                         f"which is outside the valid range of [0, {classes}): y_pred has "
                         f"{classes} classes")


_NO_CLASS = -(2 ** 63)        # an ignore_index no label can equal: Keras ignores none


def _sparse_ce(y_true: Any, y_pred: Any, from_logits: bool, ignore_class: int | None,
               axis: int) -> tuple[Tensor, np.ndarray | None]:
    """Per-sample sparse cross-entropy and the mask of labels that are not ignored."""
    who = "sparse_categorical_crossentropy"
    y_pred = _as_pred(y_pred)
    if y_pred.ndim < 1:
        raise ValueError(f"{who}: y_pred must be at least rank 1 (classes on the last "
                         f"axis), got shape {tuple(y_pred.shape)}")
    if axis not in (-1, y_pred.ndim - 1):
        raise ValueError(f"{who}: only axis=-1 is supported. Received: axis={axis}")
    if ignore_class is None and isinstance(y_true, Tensor) and y_true.dtype.category in (1, 2):
        # tensor labels stay in Ember's ops (so the loss compiles): float labels are cast
        # to integers as Keras does, and the ops' forwards reject out-of-range labels
        labels = y_true[..., 0] if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1 \
            else y_true
        if tuple(labels.shape) != tuple(y_pred.shape[:-1]):
            raise ValueError(f"{who}: y_true and y_pred must have the same shape up until "
                             f"the last dimension, got y_true.shape={tuple(y_true.shape)} "
                             f"and y_pred.shape={tuple(y_pred.shape)}")
        labels = labels.long()
        try:
            if from_logits and y_pred.ndim == 2:     # one fused log-softmax + pick op
                return F.cross_entropy(y_pred, labels, reduction="none",
                                       ignore_index=_NO_CLASS), None
            log_p = _log_probs(y_pred, from_logits, -1)
            return -log_p.gather(-1, labels[..., None]).squeeze(-1), None
        except (IndexError, RuntimeError) as e:
            if "out of bounds" not in str(e):
                raise
            _check_label_range(who, labels.numpy(), y_pred.shape[-1])
            raise
    labels = _numpy(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != tuple(y_pred.shape[:-1]):
        raise ValueError(f"{who}: y_true and y_pred must have the same shape up until the "
                         f"last dimension, got y_true.shape={_numpy(y_true).shape} and "
                         f"y_pred.shape={tuple(y_pred.shape)}")
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = np.where(valid, labels, 0)
    index = labels.astype(np.int64)
    if not np.array_equal(index, labels):
        raise ValueError(f"{who}: labels must be integers (class indices), got "
                         f"{labels[index != labels].ravel()[0]!r}")
    _check_label_range(who, index, y_pred.shape[-1])
    if from_logits and valid is None and y_pred.ndim == 2:
        # the common classifier case: one fused log-softmax + pick op, as in ember.nn
        return F.cross_entropy(y_pred, ember.from_numpy(index), reduction="none"), None
    log_p = _log_probs(y_pred, from_logits, -1)
    picked = log_p.gather(-1, ember.from_numpy(index[..., None])).squeeze(-1)
    loss = -picked
    if valid is not None:
        loss = loss * ember.as_tensor(valid, dtype=loss.dtype)
    return loss, valid


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None,
                                    axis: int = -1) -> Tensor:
    """Cross-entropy between integer class labels and class scores on the last axis;
    labels equal to ``ignore_class`` give 0.

    >>> sparse_categorical_crossentropy([1], ember.tensor([[0.5, 0.5]]))
    tensor([0.6931])
    """
    return _sparse_ce(y_true, y_pred, from_logits, ignore_class, axis)[0]


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """Mean over the last axis of ``0.5 * e**2`` where ``|e| <= delta``, else
    ``delta * |e| - 0.5 * delta**2`` (``e = y_pred - y_true``)."""
    y_true, y_pred = _pair("huber", y_true, y_pred)
    error = y_pred - y_true
    abs_error = error.abs()
    quadratic = error.square() * 0.5
    linear = abs_error * delta - 0.5 * delta ** 2
    return ember.where(abs_error <= delta, quadratic, linear).mean(-1)


def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """Mean over the last axis of ``log(cosh(y_pred - y_true))``, computed stably."""
    y_true, y_pred = _pair("log_cosh", y_true, y_pred)
    x = y_pred - y_true
    return (x + F.softplus(x * -2.0) - math.log(2.0)).mean(-1)


def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """``sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to ``[eps, 1]``."""
    y_true, y_pred = _pair("kl_divergence", y_true, y_pred)
    eps = backend.epsilon()
    y_true, y_pred = y_true.clamp(eps, 1.0), y_pred.clamp(eps, 1.0)
    return (y_true * (y_true / y_pred).log()).sum(-1)


def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(y_pred - y_true * log(y_pred + eps), axis=-1)``."""
    y_true, y_pred = _pair("poisson", y_true, y_pred)
    return (y_pred - y_true * (y_pred + backend.epsilon()).log()).mean(-1)


def _hinge_labels(y_true: Tensor) -> Tensor:
    """0/1 labels become -1/1 (as Keras converts them); other labels are kept."""
    values = _numpy(y_true)
    return y_true * 2.0 - 1.0 if np.isin(values, (0.0, 1.0)).all() else y_true


def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)`` with labels in {-1, 1} (0/1 labels
    are converted)."""
    y_true, y_pred = _pair("hinge", y_true, y_pred)
    return (1.0 - _hinge_labels(y_true) * y_pred).clamp_min(0.0).mean(-1)


def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)`` (0/1 labels are converted)."""
    y_true, y_pred = _pair("squared_hinge", y_true, y_pred)
    return (1.0 - _hinge_labels(y_true) * y_pred).clamp_min(0.0).square().mean(-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``max(neg - pos + 1, 0)`` with ``pos = sum(y_true * y_pred)`` and
    ``neg = max((1 - y_true) * y_pred)`` over the last axis."""
    y_true, y_pred = _pair("categorical_hinge", y_true, y_pred)
    pos = (y_true * y_pred).sum(-1)
    neg = ((1.0 - y_true) * y_pred).amax(-1)
    return (neg - pos + 1.0).clamp_min(0.0)


def _l2_normalize(x: Tensor, axis: int) -> Tensor:
    """``x / max(||x||, eps)`` along ``axis`` (finite gradients at zero)."""
    eps = backend.epsilon()
    return x / x.square().sum(axis, keepdim=True).clamp_min(eps * eps).sqrt()


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Minus the cosine similarity along ``axis`` (so that minimizing aligns the
    vectors): values in [-1, 1], -1 for identical directions."""
    y_true, y_pred = _pair("cosine_similarity", y_true, y_pred)
    return -(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis)).sum(axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
bce = BCE = binary_crossentropy


# -- reduction ------------------------------------------------------------------------------
def _check_reduction(reduction: Any) -> Any:
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                         f"{list(REDUCTIONS)}. Received: reduction={reduction!r}")
    return reduction


def _weights_for(values: Tensor, sample_weight: Any) -> Tensor:
    w = sample_weight if isinstance(sample_weight, Tensor) else \
        ember.as_tensor(np.asarray(sample_weight))
    return w if w.dtype == values.dtype else w.to(values.dtype)


def reduce_weighted_values(values: Tensor, sample_weight: Any = None,
                           mask: np.ndarray | None = None,
                           reduction: Any = "sum_over_batch_size") -> Tensor:
    """Weight per-sample losses and reduce them as Keras does.

    ``mask`` (False = ignored) rescales the weights so that 'sum_over_batch_size' and
    'mean' average over the unmasked values only.
    """
    reduction = _check_reduction(reduction)
    weights = None if sample_weight is None else _weights_for(values, sample_weight)
    if mask is not None:
        m = mask.astype(np.float64)
        if reduction in ("mean", "sum_over_batch_size") and m.sum() > 0:
            m *= m.size / m.sum()
        m_t = ember.as_tensor(m, dtype=values.dtype)
        if weights is None:
            weights = m_t
        else:
            m_t, weights = squeeze_or_expand_to_same_rank(m_t, weights)
            weights = weights * m_t
    if weights is not None:
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        try:
            np.broadcast_shapes(tuple(values.shape), tuple(weights.shape))
        except ValueError:
            raise ValueError(f"sample_weight of shape {tuple(weights.shape)} cannot be "
                             f"broadcast to the per-sample losses of shape "
                             f"{tuple(values.shape)}") from None
        values = values * weights
    if reduction in (None, "none") or values.ndim == 0 or tuple(values.shape) == (0,):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        denominator = float(weights.detach().numpy().sum())
    else:
        denominator = float(values.numel())
    return total / denominator if denominator else total * 0.0


# -- loss classes ---------------------------------------------------------------------------
class Loss:
    """Base class: subclasses implement ``call(y_true, y_pred)`` returning per-sample
    losses; ``__call__`` adds sample weighting and the reduction.

    >>> class MyMSE(Loss):
    ...     def call(self, y_true, y_pred):
    ...         return (y_pred - y_true).square().mean(-1)
    >>> MyMSE()([[1.0]], ember.tensor([[3.0]]))
    tensor(4.)
    """

    _float_targets = True       # False where targets are integer labels

    def __init__(self, name: str | None = None, reduction: Any = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.reduction = _check_reduction(reduction)
        self.dtype = dtype

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        y_pred = _as_pred(y_pred, self.dtype)
        if self._float_targets:
            y_true = _as_true(y_true, y_pred.dtype)
        losses = self.call(y_true, y_pred)
        mask = getattr(losses, "_keras_mask", None)
        return reduce_weighted_values(losses, sample_weight, mask, self.reduction)

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, "
                                  "y_pred)")

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """A loss function (per-sample values) turned into a :class:`Loss`; extra keyword
    arguments are passed to it.

    >>> LossFunctionWrapper(mean_absolute_error)([[1.0]], ember.tensor([[3.0]]))
    tensor(2.)
    """

    def __init__(self, fn: Callable, reduction: Any = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: `fn` must be callable, got {fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        if isinstance(y_true, Tensor):
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        from ember.keras.saving.serialization import serialize_keras_object
        return {**super().get_config(), "fn": serialize_keras_object(self.fn),
                **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        from ember.keras.saving.serialization import deserialize_keras_object
        config = dict(config)
        config["fn"] = deserialize_keras_object(config["fn"])
        return cls(**config)


class _Builtin(LossFunctionWrapper):
    """A built-in loss class: its config is its constructor's arguments, not ``fn``."""

    fn_: Callable
    default_name: str

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(type(self).fn_, reduction=reduction,
                         name=name or self.default_name, dtype=dtype, **kwargs)

    def get_config(self) -> dict:
        return {**Loss.get_config(self), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        return cls(**config)


class MeanSquaredError(_Builtin):
    """Mean of squares of errors.

    >>> MeanSquaredError()([[0.0, 1.0]], ember.tensor([[1.0, 1.0]]))
    tensor(0.5000)
    """

    fn_, default_name = staticmethod(mean_squared_error), "mean_squared_error"


class MeanAbsoluteError(_Builtin):
    """Mean of absolute errors (``keras.losses.MeanAbsoluteError()``)."""

    fn_, default_name = staticmethod(mean_absolute_error), "mean_absolute_error"


class MeanAbsolutePercentageError(_Builtin):
    """Mean absolute percentage error (``keras.losses.MeanAbsolutePercentageError()``)."""

    fn_ = staticmethod(mean_absolute_percentage_error)
    default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_Builtin):
    """Mean squared logarithmic error (``keras.losses.MeanSquaredLogarithmicError()``)."""

    fn_ = staticmethod(mean_squared_logarithmic_error)
    default_name = "mean_squared_logarithmic_error"


class LogCosh(_Builtin):
    """Logarithm of the hyperbolic cosine of the error (``keras.losses.LogCosh()``)."""

    fn_, default_name = staticmethod(log_cosh), "log_cosh"


class KLDivergence(_Builtin):
    """Kullback-Leibler divergence of ``y_pred`` from ``y_true`` (both distributions)."""

    fn_, default_name = staticmethod(kl_divergence), "kl_divergence"


class Poisson(_Builtin):
    """Poisson negative log-likelihood up to a constant (``keras.losses.Poisson()``)."""

    fn_, default_name = staticmethod(poisson), "poisson"


class Hinge(_Builtin):
    """Hinge loss for labels in {-1, 1} (0/1 labels are converted)."""

    fn_, default_name = staticmethod(hinge), "hinge"


class SquaredHinge(_Builtin):
    """Squared hinge loss for labels in {-1, 1} (0/1 labels are converted)."""

    fn_, default_name = staticmethod(squared_hinge), "squared_hinge"


class CategoricalHinge(_Builtin):
    """Categorical hinge loss between one-hot targets and scores."""

    fn_, default_name = staticmethod(categorical_hinge), "categorical_hinge"


class BinaryCrossentropy(_Builtin):
    """Binary cross-entropy (targets 0/1 or soft).

    >>> BinaryCrossentropy(from_logits=True)([[1.0]], ember.tensor([[0.0]]))
    tensor(0.6931)
    """

    fn_, default_name = staticmethod(binary_crossentropy), "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: Any = "sum_over_batch_size",
                 name: str = "binary_crossentropy", dtype: Any = None) -> None:
        super().__init__(reduction, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class BinaryFocalCrossentropy(_Builtin):
    """Binary focal cross-entropy (down-weights easy examples by ``(1 - p_t) ** gamma``)."""

    fn_, default_name = staticmethod(binary_focal_crossentropy), "binary_focal_crossentropy"

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: Any = "sum_over_batch_size",
                 name: str = "binary_focal_crossentropy", dtype: Any = None) -> None:
        super().__init__(reduction, name, dtype, apply_class_balancing=apply_class_balancing,
                         alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.gamma, self.alpha = from_logits, gamma, alpha


class CategoricalCrossentropy(_Builtin):
    """Cross-entropy with one-hot (or soft) targets.

    >>> CategoricalCrossentropy()([[0.0, 1.0]], ember.tensor([[0.5, 0.5]]))
    tensor(0.6931)
    """

    fn_, default_name = staticmethod(categorical_crossentropy), "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: Any = "sum_over_batch_size",
                 name: str = "categorical_crossentropy", dtype: Any = None) -> None:
        super().__init__(reduction, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class SparseCategoricalCrossentropy(_Builtin):
    """Cross-entropy with integer class labels; labels equal to ``ignore_class`` are left
    out of the average.

    >>> SparseCategoricalCrossentropy()([1], ember.tensor([[0.5, 0.5]]))
    tensor(0.6931)
    """

    fn_ = staticmethod(sparse_categorical_crossentropy)
    default_name = "sparse_categorical_crossentropy"
    _float_targets = False

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: Any = "sum_over_batch_size",
                 name: str = "sparse_categorical_crossentropy", dtype: Any = None) -> None:
        super().__init__(reduction, name, dtype, from_logits=from_logits,
                         ignore_class=ignore_class)
        self.from_logits, self.ignore_class = from_logits, ignore_class

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        losses, valid = _sparse_ce(y_true, y_pred, self.from_logits, self.ignore_class, -1)
        if valid is not None:
            losses._keras_mask = valid
        return losses


class Huber(_Builtin):
    """Huber loss: quadratic for errors up to ``delta``, linear beyond."""

    fn_, default_name = staticmethod(huber), "huber_loss"

    def __init__(self, delta: float = 1.0, reduction: Any = "sum_over_batch_size",
                 name: str = "huber_loss", dtype: Any = None) -> None:
        super().__init__(reduction, name, dtype, delta=delta)
        self.delta = delta


class CosineSimilarity(_Builtin):
    """Minus the cosine similarity between ``y_true`` and ``y_pred`` along ``axis``."""

    fn_, default_name = staticmethod(cosine_similarity), "cosine_similarity"

    def __init__(self, axis: int = -1, reduction: Any = "sum_over_batch_size",
                 name: str = "cosine_similarity", dtype: Any = None) -> None:
        super().__init__(reduction, name, dtype, axis=axis)
        self.axis = axis


# -- lookup -------------------------------------------------------------------------------
_FUNCTIONS = (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
              mean_squared_logarithmic_error, binary_crossentropy, binary_focal_crossentropy,
              categorical_crossentropy, sparse_categorical_crossentropy, huber, log_cosh,
              kl_divergence, poisson, hinge, squared_hinge, categorical_hinge,
              cosine_similarity)
_CLASSES = (Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError,
            MeanAbsolutePercentageError, MeanSquaredLogarithmicError, BinaryCrossentropy,
            BinaryFocalCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
            Huber, LogCosh, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge,
            CosineSimilarity)
_REGISTRY = Registry("loss", Loss, {
    **{fn.__name__: fn for fn in _FUNCTIONS}, **{cls.__name__: cls for cls in _CLASSES},
    "mse": mse, "MSE": mse, "mae": mae, "MAE": mae, "mape": mape, "MAPE": mape,
    "msle": msle, "MSLE": msle, "kld": kld, "KLD": kld, "bce": bce, "BCE": bce,
    "logcosh": log_cosh, "huber_loss": huber,
})


def get(identifier: Any) -> Any:
    """A loss from a string (Keras's names and aliases: 'mse' gives the *function*
    ``mean_squared_error``, 'MeanSquaredError' an instance), a config dict, a class, an
    instance or a callable.

    >>> get("mse") is mean_squared_error
    True
    """
    return _REGISTRY.get(identifier)


def serialize(loss: Any) -> Any:
    """The JSON-ready form of a loss (a name for built-in functions, else a config)."""
    return _REGISTRY.serialize(loss)


def deserialize(config: Any) -> Any:
    """The loss a :func:`serialize` result describes."""
    return _REGISTRY.get(config)
