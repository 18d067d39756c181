"""Loss functions with PyTorch's signatures, reductions and edge-case semantics, composed
from ops (``log_softmax``, indexing, ``where``...). Two use fused ops from
``ember.ops.losses``: binary cross-entropy on probabilities, and cross-entropy of class
indices in its common form (no class weights, no label smoothing).
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np

import ember
from ember.nn.functional._distance import pairwise_distance
from ember.ops import losses as _ops
from ember.ops.checks import check_values
from ember.ops.activations import logsigmoid
from ember.ops.softmax import log_softmax as _log_softmax
from ember.tensor import Tensor

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "cosine_embedding_loss", "margin_ranking_loss", "triplet_margin_loss",
           "soft_margin_loss", "hinge_embedding_loss", "poisson_nll_loss"]


# -- reductions --------------------------------------------------------------------------

def _reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """The reduction to use, honouring the legacy ``size_average``/``reduce`` flags."""
    if size_average is not None or reduce is not None:
        keep = reduce is None or reduce
        reduction = ("mean" if size_average is None or size_average else "sum") if keep \
            else "none"
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _check_weight_shape(weight: Any, input: Tensor) -> None:
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"Weights and input must have the same size: got weight shape "
                         f"{tuple(weight.shape)} and input shape {tuple(input.shape)}.")


def _broadcast_warn(name: str, input: Tensor, target: Tensor) -> None:
    """PyTorch's regression losses broadcast a differently shaped target, with a warning."""
    si, st = tuple(input.shape), tuple(target.shape)
    if si == st:
        return
    try:
        np.broadcast_shapes(si, st)
    except ValueError:
        raise RuntimeError(f"{name}: input shape {si} and target shape {st} cannot be "
                           f"broadcast together") from None
    warnings.warn(f"{name}: Using a target size ({st}) that is different to the input size "
                  f"({si}). This will likely lead to incorrect results due to broadcasting. "
                  f"Please ensure they have the same size.", UserWarning, stacklevel=4)


def _pointwise(name: str, input: Tensor, target: Tensor, fn: Callable, reduction: str,
               weight: Any = None, weighted_mean: str = "weights") -> Tensor:
    """Shared frame of the regression losses: check, broadcast, apply ``fn`` to the
    difference, weight and reduce (a weighted mean divides by the weights' sum, or by the
    element count when ``weighted_mean == "count"``, as huber_loss does)."""
    _broadcast_warn(name, input, target)
    _check_weight_shape(weight, input)
    loss = fn(input - target)
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    if reduction == "mean" and weighted_mean == "weights":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error ``(input - target) ** 2``, reduced; ``weight`` (input's shape)
    makes the mean ``sum(w * l) / sum(w)``.

    >>> mse_loss(tensor([1.0, 2.0]), tensor([1.0, 4.0]))
    tensor(2.)
    """
    return _pointwise("mse_loss", input, target, lambda d: d * d,
                      _reduction(size_average, reduce, reduction), weight)


def l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error ``|input - target|``, reduced (weights as in mse_loss)."""
    return _pointwise("l1_loss", input, target, lambda d: d.abs(),
                      _reduction(size_average, reduce, reduction), weight)


def _huber(d: Tensor, delta: float) -> Tensor:
    a = d.abs()
    return ember.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None,
                   reduce: Any = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d² / beta`` where ``|d| < beta``, else ``|d| - beta / 2`` (beta 0: l1_loss)."""
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta, got "
                           f"{beta}.")
    reduction = _reduction(size_average, reduce, reduction)
    if beta == 0:
        return _pointwise("smooth_l1_loss", input, target, lambda d: d.abs(), reduction)
    return _pointwise("smooth_l1_loss", input, target, lambda d: _huber(d, beta) / beta,
                      reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """``0.5 d²`` where ``|d| < delta``, else ``delta (|d| - delta / 2)``; a weighted
    mean is ``mean(w * l)``, as in PyTorch."""
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta, got "
                           f"{delta}.")
    return _pointwise("huber_loss", input, target, lambda d: _huber(d, delta),
                      _reduction(None, None, reduction), weight, weighted_mean="count")


# -- classification ------------------------------------------------------------------------

def _class_target(name: str, input: Tensor, target: Tensor) -> Tensor:
    """Check a class-index target against ``input`` (``(C,)``, ``(N, C)`` or
    ``(N, C, d1, ...)``) as nll_loss does; uint8 targets come back as int64."""
    if input.ndim < 1:
        raise ValueError(f"{name}: Expected 1 or more dimensions (got {input.ndim})")
    si, st = tuple(input.shape), tuple(target.shape)
    if input.ndim > 1 and (not st or st[0] != si[0]):
        raise ValueError(f"{name}: Expected input batch_size ({si[0]}) to match target "
                         f"batch_size ({st[0] if st else 'none: target is 0-d'}).")
    if input.ndim <= 2 and len(st) != input.ndim - 1:
        raise RuntimeError(f"{name}: {input.ndim - 1}D target tensor expected for an input "
                           f"of shape {si}, got target shape {st}; multi-target not "
                           f"supported")
    if input.ndim > 2 and st != si[:1] + si[2:]:
        raise RuntimeError(f"{name}: Expected target size {list(si[:1] + si[2:])}, got "
                           f"{list(st)}")
    if target.dtype not in (ember.int64, ember.uint8):
        raise RuntimeError(f"{name}: expected target dtype to be Long or Byte, but got "
                           f"{target.dtype.name}")
    return target.long() if target.dtype == ember.uint8 else target


def _class_weights(name: str, weight: Any, c: int, input: Tensor) -> Any:
    """``weight`` as a ``(c,)`` tensor (None stays None), checked against the classes."""
    if weight is None:
        return None
    problem = (f"weight tensor should be defined either for all {c} classes or no classes "
               f"but got weight tensor of shape: {list(weight.shape)}"
               if weight.numel() != c else
               f"expected weight dtype {input.dtype.name} (the input's), got "
               f"{weight.dtype.name}" if weight.dtype != input.dtype else None)
    if problem:
        raise RuntimeError(f"{name}: {problem}")
    return weight.reshape(c)


def _nll(name: str, logp: Tensor, target: Tensor, weight: Any, ignore_index: int,
         reduction: str) -> tuple:
    """Negative log-likelihood at the target classes; returns ``(loss, valid, w)`` where
    ``w`` is each position's class weight (0 where ignored), the mean's denominator."""
    target = _class_target(name, logp, target)
    cdim = _ops.class_dim(logp)
    c = logp.shape[cdim]
    weight = _class_weights(name, weight, c, logp)
    check_values(_ops.check_class_targets, (target,), name, c, ignore_index)
    valid = target != ignore_index
    safe = ember.where(valid, target, 0)
    w = valid.to(logp.dtype) if weight is None else ember.where(valid, weight[safe], 0.0)
    loss = -logp.gather(cdim, safe.unsqueeze(cdim)).squeeze(cdim) * w
    if reduction == "mean":
        return _weighted_mean(loss, w), valid, w
    return _reduce(loss, reduction), valid, w


def _weighted_mean(loss: Tensor, w: Tensor) -> Tensor:
    """``loss.sum() / w.sum()``; NaN when every weight is 0 (all targets ignored), but
    then with a zero gradient, as PyTorch gives."""
    total = w.sum()
    empty = total == 0
    return ember.where(empty, math.nan, loss.sum() / ember.where(empty, 1.0, total))


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices ``target`` under log-probabilities
    ``input`` (``(N, C, ...)`` or ``(C,)``). Positions equal to ``ignore_index`` count
    for nothing; the mean divides by the summed class weights of the other positions.
    """
    return _nll("nll_loss", input, target, weight, ignore_index,
                _reduction(size_average, reduce, reduction))[0]


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` (``(N, C, ...)`` or ``(C,)``) and either
    class indices (``(N, ...)``) or class probabilities (``input``'s shape), with
    PyTorch's weighting, ``ignore_index`` and ``label_smoothing`` rules.

    >>> cross_entropy(tensor([[0.0, 0.0]]), tensor([1]))
    tensor(0.6931)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    if input.ndim < 1:
        raise ValueError(f"cross_entropy: Expected 1 or more dimensions (got {input.ndim})")
    soft = tuple(target.shape) == tuple(input.shape)
    if not soft and weight is None and not label_smoothing:     # the common case: fused
        return _ops.cross_entropy(input, _class_target("cross_entropy", input, target),
                                  ignore_index=ignore_index, reduction=reduction)
    cdim = _ops.class_dim(input)
    c = input.shape[cdim]
    logp = _log_softmax(input, cdim)
    wshape = [1] * input.ndim
    wshape[cdim] = c
    if soft:
        return _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, cdim,
                                   wshape)
    nll, valid, w = _nll("cross_entropy", logp, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    wv = weight.reshape(wshape) if weight is not None else None
    smooth = -(logp if wv is None else logp * wv).sum(cdim)
    smooth = ember.where(valid, smooth, 0.0)
    if reduction == "mean":
        smooth = _weighted_mean(smooth, w)
    else:
        smooth = _reduce(smooth, reduction)
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / c)


def _soft_cross_entropy(logp: Tensor, target: Tensor, weight: Any, reduction: str,
                        eps: float, cdim: int, wshape: list) -> Tensor:
    if not target.is_floating_point():
        raise RuntimeError(f"cross_entropy: Expected floating point type for target with "
                           f"class probabilities, got {target.dtype.name}")
    if target.dtype != logp.dtype:
        raise RuntimeError(f"cross_entropy: expected target dtype {logp.dtype.name} (the "
                           f"input's), got {target.dtype.name}")
    c = logp.shape[cdim]
    weight = _class_weights("cross_entropy", weight, c, logp)
    if eps:
        target = target * (1 - eps) + eps / c
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape(wshape)
    if reduction == "none":
        return -prod.sum(cdim)
    total = -prod.sum()
    return total if reduction == "sum" else total / (logp.numel() // c if c else 0)


def _weighted(loss: Tensor, weight: Any, reduction: str) -> Tensor:
    """Multiply by a weight that broadcasts to ``loss`` (never beyond it), then reduce."""
    if weight is not None:
        if tuple(np.broadcast_shapes(tuple(weight.shape), tuple(loss.shape))) != \
                tuple(loss.shape):
            raise RuntimeError(f"weight of shape {tuple(weight.shape)} does not broadcast to "
                               f"the loss shape {tuple(loss.shape)}")
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy between probabilities ``input`` and ``target`` (same shape,
    values in [0, 1]); logs are clamped at -100 so the loss stays finite."""
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"binary_cross_entropy: Using a target size ({tuple(target.shape)}) "
                         f"that is different to the input size ({tuple(input.shape)}) is "
                         f"deprecated. Please ensure they have the same size.")
    return _weighted(_ops.binary_cross_entropy(input, target), weight, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy on logits, computed stably as
    ``(1 - t) x - (1 + (pos_weight - 1) t) logsigmoid(x)``."""
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"binary_cross_entropy_with_logits: Target size "
                         f"({tuple(target.shape)}) must be the same as input size "
                         f"({tuple(input.shape)})")
    ls = logsigmoid(input)
    if pos_weight is None:
        loss = (1 - target) * input - ls
    else:
        loss = (1 - target) * input - (1 + (pos_weight - 1) * target) * ls
        if tuple(loss.shape) != tuple(input.shape):
            raise RuntimeError(f"binary_cross_entropy_with_logits: pos_weight of shape "
                               f"{tuple(pos_weight.shape)} does not broadcast to the input "
                               f"shape {tuple(input.shape)}")
    return _weighted(loss, weight, reduction)


def kl_div(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence with log-probabilities ``input``: ``t (log t - input)`` (0 where
    ``t == 0``), or ``exp(t) (t - input)`` when ``log_target``. ``'batchmean'`` divides
    the sum by the batch size; ``'mean'`` (per element) warns, as in PyTorch."""
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                      "the support size.'batchmean' divides only by the batch size, and "
                      "aligns with the KL div math definition.'mean' will be changed to "
                      "behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=2)
    if reduction == "batchmean":
        loss = _kl_pointwise(input, target, log_target).sum()
        return loss / input.shape[0] if input.ndim else loss
    return _reduce(_kl_pointwise(input, target, log_target),
                   _reduction(None, None, reduction))


def _kl_pointwise(input: Tensor, target: Tensor, log_target: bool) -> Tensor:
    if log_target:
        return target.exp() * (target - input)
    return ember.xlogy(target, target) - target * input


# -- margin and embedding losses ---------------------------------------------------------

def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average: Any = None, reduce: Any = None,
                          reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos - margin)`` where
    ``target == -1`` (rows of 2-D inputs with a 1-D target, or 1-D inputs with a 0-d one)."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.ndim > 1:
        raise RuntimeError(f"cosine_embedding_loss: 0D or 1D target tensor expected, "
                           f"multi-target not supported (got shape {tuple(target.shape)})")
    want = target.ndim + 1
    if input1.ndim != want or input2.ndim != want:
        raise RuntimeError(f"cosine_embedding_loss: {target.ndim}D target tensor expects "
                           f"{want}D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    d = target.ndim
    eps = 1e-12
    cos = (input1 * input2).sum(d) / (((input1 * input1).sum(d) + eps) *
                                      ((input2 * input2).sum(d) + eps)).sqrt()
    loss = ember.where(target == 1, 1 - cos, 0.0) + \
        ember.where(target == -1, (cos - margin).clamp_min(0), 0.0)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``."""
    reduction = _reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input2.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same "
                           f"dimension but got sizes: input1: {tuple(input1.shape)}, input2: "
                           f"{tuple(input2.shape)}, target: {tuple(target.shape)}")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1``."""
    reduction = _reduction(size_average, reduce, reduction)
    loss = ember.where(target != 1, (margin - input).clamp_min(0), 0.0) + \
        ember.where(target != -1, input, 0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: Any = None,
                     reduce: Any = None, reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-target * input))``."""
    reduction = _reduction(size_average, reduce, reduction)
    return _reduce((-target * input).exp().log1p(), reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with ``d`` the p-norm distance over the last
    dim; ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance."""
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"triplet_margin_loss: The anchor, positive, and negative tensors "
                           f"are expected to have the same number of dimensions, but got: "
                           f"anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = ember.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True,
                     full: bool = False, size_average: Any = None, eps: float = 1e-8,
                     reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood: ``exp(input) - target * input`` (``log_input``)
    or ``input - target * log(input + eps)``; ``full`` adds the Stirling term where
    ``target > 1``."""
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        big = target > 1
        t = ember.where(big, target, 1.0)
        stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
        loss = loss + ember.where(big, stirling, 0.0)
    return _reduce(loss, reduction)
