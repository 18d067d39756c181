"""Confusion-matrix metrics: ``Precision``, ``Recall`` and ``AUC``.

Each keeps true/false positive/negative counts (weighted) at a list of thresholds: a
prediction is positive where it is *greater than* the threshold, a label where it is
nonzero. Every element counts (multi-label outputs are flattened) unless ``class_id``
picks one class, ``top_k`` keeps the k highest scores of each row, or ``AUC``'s
``multi_label=True`` keeps one curve per label.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember.keras.backend import epsilon
from ember.keras.metrics.base import Metric, same_rank, to_numpy
from ember.tensor import Tensor

__all__ = ["Precision", "Recall", "AUC", "confusion_counts"]


def _top_k_only(p: np.ndarray, k: int) -> np.ndarray:
    """Scores outside each row's top ``k`` set to -inf."""
    if k >= p.shape[-1]:
        return p
    order = np.argsort(-p, axis=-1, kind="stable")[..., :k]
    out = np.full_like(p, -np.inf)
    np.put_along_axis(out, order, np.take_along_axis(p, order, axis=-1), axis=-1)
    return out


def confusion_counts(y_true: Any, y_pred: Any, thresholds: np.ndarray,
                     sample_weight: Any = None, top_k: int | None = None,
                     class_id: int | None = None,
                     per_label: bool = False) -> dict[str, np.ndarray]:
    """Weighted ``tp``, ``fp``, ``tn``, ``fn`` at each threshold: arrays of shape
    ``(len(thresholds),)``, or ``(len(thresholds), labels)`` with ``per_label``."""
    t = to_numpy(y_true).astype(np.float64)
    p = to_numpy(y_pred).astype(np.float64)
    p, t = same_rank(p, t)
    if p.shape != t.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got "
                         f"y_true.shape={to_numpy(y_true).shape} and "
                         f"y_pred.shape={to_numpy(y_pred).shape}")
    w = np.ones_like(p) if sample_weight is None else \
        np.asarray(to_numpy(sample_weight), dtype=np.float64)
    if sample_weight is not None:
        while w.ndim > p.ndim and w.shape[-1] == 1:
            w = w[..., 0]
        w = w.reshape(w.shape + (1,) * (p.ndim - w.ndim))    # one weight per sample/row
        try:
            w = np.broadcast_to(w, p.shape)
        except ValueError:
            raise ValueError(f"sample_weight of shape {to_numpy(sample_weight).shape} cannot "
                             f"be broadcast to y_pred of shape {p.shape}") from None
    if top_k is not None:
        p = _top_k_only(p, top_k)
    if class_id is not None:
        if not 0 <= class_id < p.shape[-1]:
            raise ValueError(f"class_id={class_id} is out of range for y_pred with "
                             f"{p.shape[-1]} classes")
        p, t, w = p[..., class_id], t[..., class_id], w[..., class_id]
    if per_label:
        p, t, w = (a.reshape(-1, a.shape[-1]) for a in (p, t, w))
    else:
        p, t, w = p.ravel(), t.ravel(), w.ravel()
    positive = t != 0
    above = p[None] > thresholds.reshape((-1,) + (1,) * p.ndim)   # (T, ...)
    wp, wn = w * positive, w * ~positive
    tp = np.sum(above * wp, axis=1)
    fp = np.sum(above * wn, axis=1)
    return {"tp": tp, "fp": fp, "fn": np.sum(wp, axis=0) - tp, "tn": np.sum(wn, axis=0) - fp}


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den`` is 0 (Keras's divide_no_nan)."""
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


class _ThresholdMetric(Metric):
    """Precision and Recall: counts at ``thresholds`` (default 0.5, or -inf with
    ``top_k``, so that every top-k score counts as positive)."""

    _numerator, _other = "tp", ""

    def __init__(self, thresholds: Any = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        default = 0.5 if top_k is None else -np.inf
        values = [default] if thresholds is None else np.atleast_1d(thresholds).tolist()
        for v in values:
            if v != -np.inf and not 0 <= v <= 1:
                raise ValueError(f"{type(self).__name__}: threshold values must be in [0, "
                                 f"1]. Received: {thresholds}")
        self.thresholds = np.asarray(values, dtype=np.float64)
        self._single = thresholds is None or np.ndim(thresholds) == 0
        super().__init__(dtype=dtype, name=name)

    def reset_state(self) -> None:
        self.true_positives = np.zeros(len(self.thresholds))
        self.other = np.zeros(len(self.thresholds))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        counts = confusion_counts(y_true, y_pred, self.thresholds, sample_weight,
                                  self.top_k, self.class_id)
        self.true_positives += counts["tp"]
        self.other += counts[self._other]

    def result(self) -> Tensor:
        value = _ratio(self.true_positives, self.true_positives + self.other)
        return self._tensor(value[0] if self._single else value)

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_ThresholdMetric):
    """``tp / (tp + fp)``: the share of positive predictions that are right.

    >>> Precision()([0, 1, 1, 1], [1, 0, 1, 1])
    tensor(0.6667)
    """

    _other = "fp"


class Recall(_ThresholdMetric):
    """``tp / (tp + fn)``: the share of positive labels that are found.

    >>> Recall()([0, 1, 1, 1], [1, 0, 1, 1])
    tensor(0.6667)
    """

    _other = "fn"


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from counts at ``num_thresholds``
    evenly spaced thresholds (Riemann sum; 'interpolation' uses the trapezoid for ROC and
    Davis & Goadrich's interpolation for PR).

    >>> AUC(num_thresholds=3)([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    tensor(0.7500)
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 dtype: Any = None, thresholds: Any = None, multi_label: bool = False,
                 num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False) -> None:
        if str(curve).upper() not in ("ROC", "PR"):
            raise ValueError(f'Invalid AUCCurve value: "{curve}". Expected values are '
                             '["PR", "ROC"]')
        if str(summation_method).lower() not in ("interpolation", "majoring", "minoring"):
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             'Expected values are ["interpolation", "majoring", "minoring"]')
        self.curve, self.summation_method = str(curve).upper(), str(summation_method).lower()
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            self.num_thresholds = len(inner) + 2
        else:
            if not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._init_from_thresholds = thresholds is not None
        self.thresholds = np.asarray([0.0 - epsilon()] + inner + [1.0 + epsilon()])
        self.multi_label, self.num_labels = multi_label, num_labels
        self.label_weights = None if label_weights is None else \
            np.asarray(label_weights, dtype=np.float64)
        self.from_logits = from_logits
        super().__init__(dtype=dtype, name=name)

    def reset_state(self) -> None:
        shape = (self.num_thresholds,) + ((self.num_labels,) if self.multi_label
                                          and self.num_labels else ())
        self.counts = {k: np.zeros(shape) for k in ("tp", "fp", "tn", "fn")}
        self._empty = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        p = to_numpy(y_pred).astype(np.float64)
        if self.from_logits:
            p = 1.0 / (1.0 + np.exp(-p))
        counts = confusion_counts(y_true, p, self.thresholds, sample_weight,
                                  per_label=self.multi_label)
        for key, value in counts.items():
            if self._empty and value.shape != self.counts[key].shape:
                self.counts[key] = np.zeros(value.shape)     # labels seen on first use
            self.counts[key] = self.counts[key] + value
        self._empty = False

    def _combine(self, per_threshold: np.ndarray) -> float:
        """Sum over thresholds; with several labels, their (weighted) mean."""
        area = per_threshold.sum(axis=0)
        if not self.multi_label:
            return float(area)
        if self.label_weights is None:
            return float(np.mean(area))
        return float(_ratio(np.sum(area * self.label_weights),
                            np.asarray(np.sum(self.label_weights))))

    def _interpolate_pr_auc(self) -> float:
        tp, fp, fn = self.counts["tp"], self.counts["fp"], self.counts["fn"]
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _ratio(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _ratio(p[:-1], np.maximum(p[1:], 0)), 1.0)
        safe_log = np.log(np.where(ratio > 0, ratio, 1.0))
        return self._combine(_ratio(slope * (dtp + intercept * safe_log),
                                    np.maximum(tp[1:] + fn[1:], 0)))

    def result(self) -> Tensor:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._tensor(self._interpolate_pr_auc())
        tp, fp, tn, fn = (self.counts[k] for k in ("tp", "fp", "tn", "fn"))
        recall = _ratio(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _ratio(fp, fp + tn), recall
        else:
            x, y = recall, _ratio(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._tensor(self._combine((x[:-1] - x[1:]) * heights))

    def get_config(self) -> dict:
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else self.label_weights.tolist(),
                  "from_logits": self.from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1].tolist()
        return config
