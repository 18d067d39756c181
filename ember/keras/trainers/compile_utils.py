"""The losses and metrics given to ``compile``, matched to a model's outputs.

``compile(loss=..., metrics=...)`` takes one identifier for a single-output model, and a
list (by position) or a dict (by output name) for a model with several outputs; a single
loss is applied to every output, as in Keras 3. Both containers are built on the first
batch, when the structure and shapes of the model's predictions are known (the
``'accuracy'`` alias needs them to pick binary, categorical or sparse categorical
accuracy).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember import Tensor
from ember.keras import _tree

__all__ = ["output_names_of", "CompiledLoss", "CompiledMetrics", "flatten_outputs"]


def output_names_of(model: Any, num_outputs: int) -> list[str]:
    """The names that dict losses/metrics use: a functional model's output keys or
    output layer names; ``output_1``... for other models."""
    names = getattr(model, "output_names", None)
    if names is None:
        struct = getattr(model, "_outputs_struct", None)
        if isinstance(struct, dict):
            names = list(struct)
        elif getattr(model, "_outputs", None):
            names = [t._keras_history[0].name for t in model._outputs]
    names = list(names or [])
    if len(names) != num_outputs:
        names = [f"output_{i + 1}" for i in range(num_outputs)]
    return names


def flatten_outputs(y_pred: Any) -> list:
    """Model predictions (a tensor, list or dict of tensors) as a flat list."""
    return _tree.flatten(y_pred)


def _per_output(value: Any, what: str, names: list[str], nested: bool) -> list:
    """Spread a compile argument over the outputs: a list by position, a dict by name,
    anything else (or a list when not ``nested``) to every output."""
    n = len(names)
    if isinstance(value, dict):
        for key in value:
            if key not in names:
                raise ValueError(f"In the dict argument `{what}`, key '{key}' does not "
                                 f"correspond to any model output. Received:\n{what}={value}"
                                 f"\nThe model's outputs are {names}")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)) and nested:
        if n == 1 and len(value) != 1:
            return [list(value)]
        if len(value) != n:
            raise ValueError(f"For a model with multiple outputs, when providing the "
                             f"`{what}` argument as a list, it should have as many entries "
                             f"as the model has outputs. Received:\n{what}={value}\nof length "
                             f"{len(value)} whereas the model has {n} outputs.")
        return list(value)
    return [value] * n


def _align_targets(y_true: Any, names: list[str], what: str) -> list:
    """Targets (or sample weights) in output order, from an array, a list or a dict."""
    if len(names) == 1:
        if isinstance(y_true, dict):
            return [y_true.get(names[0], next(iter(y_true.values())) if y_true else None)]
        if isinstance(y_true, (list, tuple)) and len(y_true) == 1:
            return [y_true[0]]
        return [y_true]
    if isinstance(y_true, dict):
        extra = [key for key in y_true if key not in names]
        if extra:
            raise ValueError(f"{what}: keys {extra} do not correspond to any model output; "
                             f"the model's outputs are {names}")
        return [y_true.get(name) for name in names]
    if isinstance(y_true, (list, tuple)):
        if len(y_true) != len(names):
            raise ValueError(f"{what}: the model has {len(names)} outputs {names} but "
                             f"{len(y_true)} {what} arrays were given")
        return list(y_true)
    if what == "y":
        raise ValueError(f"y: the model has {len(names)} outputs {names}; give the targets "
                         "as a list or a dict keyed by output name")
    return [y_true] * len(names)


class CompiledLoss:
    """The weighted sum of the compiled losses over the model's outputs."""

    def __init__(self, loss: Any, loss_weights: Any) -> None:
        self.loss, self.loss_weights = loss, loss_weights
        self.names: list[str] | None = None
        self.entries: list[tuple[int, Any, float]] = []   # (output index, loss, weight)

    def build(self, names: list[str]) -> None:
        from ember.keras import losses as losses_module
        losses = _per_output(self.loss, "loss", names, nested=True)
        weights = _per_output(self.loss_weights, "loss_weights", names, nested=True) \
            if self.loss_weights is not None else [1.0] * len(names)
        self.names = names
        self.entries = []
        for i, (loss, weight) in enumerate(zip(losses, weights)):
            if loss is None:
                continue
            if isinstance(loss, list):
                raise ValueError(f"`loss` for output '{names[i]}' must be one loss, got a "
                                 f"list {loss!r}")
            loss = losses_module.get(loss)
            if not isinstance(loss, losses_module.Loss):     # a function: per-sample values
                loss = losses_module.LossFunctionWrapper(loss)
            self.entries.append((i, loss, 1.0 if weight is None else float(weight)))
        if not self.entries:
            raise ValueError("compile(loss=...) gives no loss for any of the model's outputs "
                             f"{names}")

    def __call__(self, y_true: Any, y_pred: list, sample_weight: Any) -> tuple[Tensor, list]:
        """Total loss (a scalar tensor) and the unweighted loss of each entry."""
        targets = _align_targets(y_true, self.names, "y")
        weights = _align_targets(sample_weight, self.names, "sample_weight") \
            if sample_weight is not None else None
        total, parts = None, []
        for i, loss_fn, weight in self.entries:
            if targets[i] is None:
                raise ValueError(f"No target (y) was given for output '{self.names[i]}', "
                                 "which has a loss")
            value = loss_fn(targets[i], y_pred[i],
                            sample_weight=None if weights is None else weights[i])
            parts.append(value)
            term = value if weight == 1.0 else value * weight
            total = term if total is None else total + term
        return total, parts


class CompiledMetrics:
    """The compiled metrics and weighted metrics of every output."""

    def __init__(self, metrics: Any, weighted_metrics: Any) -> None:
        self.metrics_arg, self.weighted_arg = metrics, weighted_metrics
        self.entries: list[tuple[int, Any, bool]] = []   # (output index, metric, weighted)
        self.built = False

    def build(self, names: list[str], y_true: Any, y_pred: list, loss: Any) -> None:
        targets = _align_targets(y_true, names, "y")
        multi = len(names) > 1
        taken: set[str] = set()
        for arg, weighted in ((self.metrics_arg, False), (self.weighted_arg, True)):
            if arg is None:
                continue
            if not isinstance(arg, (list, tuple, dict)):
                raise TypeError(f"Expected `{'weighted_metrics' if weighted else 'metrics'}` "
                                f"to be a list or dict, got {arg!r}")
            per_output = _per_output(arg, "weighted_metrics" if weighted else "metrics",
                                     names, nested=True)
            losses = _per_output(loss, "loss", names, nested=True)
            for i, ids in enumerate(per_output):
                for identifier in ids if isinstance(ids, (list, tuple)) else [ids]:
                    if identifier is None:
                        continue
                    metric = _get_metric(identifier, losses[i], targets[i], y_pred[i])
                    name = f"{names[i]}_{metric.name}" if multi else metric.name
                    if weighted and name in taken:
                        name = f"weighted_{name}"
                    taken.add(name)
                    metric.name = name
                    self.entries.append((i, metric, weighted))
        self.built = True

    @property
    def metrics(self) -> list:
        return [metric for _, metric, _ in self.entries]

    def update_state(self, y_true: Any, y_pred: list, sample_weight: Any,
                     names: list[str]) -> None:
        if not self.entries:
            return
        targets = _align_targets(y_true, names, "y")
        weights = _align_targets(sample_weight, names, "sample_weight") \
            if sample_weight is not None else None
        for i, metric, weighted in self.entries:
            if targets[i] is None:
                continue
            metric.update_state(targets[i], y_pred[i],
                                sample_weight=weights[i] if weighted and weights else None)


def _get_metric(identifier: Any, loss: Any, y_true: Any, y_pred: Tensor) -> Any:
    """A fresh metric object for ``identifier``; 'accuracy'/'acc' follow Keras's rule
    (from the loss and the shapes) and string identifiers name the metric."""
    from ember.keras import metrics as metrics_module
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        metric = metrics_module.resolve_accuracy(loss, np.shape(y_true), tuple(y_pred.shape))
    else:
        metric = metrics_module.get(identifier)
    if not isinstance(metric, metrics_module.Metric):
        metric = metrics_module.MeanMetricWrapper(metric)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric
