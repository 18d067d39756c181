"""Scaled dot-product attention, composed from matmul, masking and softmax."""
from __future__ import annotations

import math

import numpy as np

from ember.ops.creation import from_numpy
from ember.ops.dropout import dropout
from ember.ops.elementwise import where
from ember.ops.linalg import matmul
from ember.ops.math import isneginf
from ember.ops.registry import dispatch_hooks
from ember.ops.softmax import softmax
from ember.tensor import Tensor

__all__ = ["scaled_dot_product_attention"]


def _check(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None) -> None:
    name = "scaled_dot_product_attention"
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(f"{name}: Expected query, key, and value to all be at least 2 "
                           f"dimensional, but got query.dim: {query.ndim} key.dim: {key.ndim} "
                           f"and value.dim: {value.ndim} instead.")
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError(f"{name}: Expected query, key, and value to have the same dtype, "
                           f"but got query.dtype: {query.dtype} key.dtype: {key.dtype} and "
                           f"value.dtype: {value.dtype} instead.")
    if not query.is_floating_point():
        raise RuntimeError(f"{name}: expected floating point query, key and value, got "
                           f"{query.dtype}")
    if key.shape[-1] != query.shape[-1]:
        raise RuntimeError(f"{name}: query and key must have the same embedding size, got "
                           f"query {list(query.shape)} and key {list(key.shape)}")
    if value.shape[-2] != key.shape[-2]:
        raise RuntimeError(f"{name}: key and value must have the same sequence length, got "
                           f"key {list(key.shape)} and value {list(value.shape)}")
    if attn_mask is not None and attn_mask.dtype != query.dtype and \
            attn_mask.dtype.name != "bool":
        raise RuntimeError(f"{name}: Expected attn_mask dtype to be bool or float or to match "
                           f"query dtype, but got attn_mask.dtype: {attn_mask.dtype} and "
                           f"query.dtype: {query.dtype} instead.")


def _repeat_heads(x: Tensor, times: int) -> Tensor:
    """Repeat each head (dim -3) ``times`` times in place, like ``repeat_interleave``."""
    if times == 1:
        return x
    s = tuple(x.shape)
    return x.unsqueeze(-3).expand(s[:-2] + (times,) + s[-2:]) \
        .reshape(s[:-3] + (s[-3] * times,) + s[-2:])


def _grouped(query: Tensor, key: Tensor, value: Tensor) -> tuple:
    """Key and value with their heads repeated to match the query's (grouped-query
    attention)."""
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if min(query.ndim, key.ndim, value.ndim) < 3 or hq % hk or hq % hv:
        raise RuntimeError(f"scaled_dot_product_attention: Number of heads in key and value "
                           f"must divide the number of heads in query, got query "
                           f"{list(query.shape)}, key {list(key.shape)}, value "
                           f"{list(value.shape)}")
    return _repeat_heads(key, hq // hk), _repeat_heads(value, hq // hv)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key.mT * scale + mask) @ value`` over ``(..., L, E)`` queries and
    ``(..., S, E)`` keys; ``scale`` defaults to ``1 / sqrt(E)``.

    ``attn_mask`` is bool (True = may attend) or a float added to the scores; it
    broadcasts over the batch and head dims. ``is_causal`` lets query ``i`` attend to keys
    ``j <= i`` (it excludes ``attn_mask``, as in PyTorch's reference path). A query
    that may attend to no key gets zeros. ``dropout_p`` drops attention weights.
    """
    _check(query, key, value, attn_mask)
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    if enable_gqa:
        key, value = _grouped(query, key, value)
    L, S = query.shape[-2], key.shape[-2]
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    # scaling the (L, E) queries costs E/S of scaling the (L, S) scores
    scores = matmul(query * s, key.transpose(-2, -1))
    keep = None
    if is_causal:
        keep = from_numpy(np.tril(np.ones((L, S), dtype=bool)))
    if attn_mask is not None:
        try:
            np.broadcast_shapes(tuple(attn_mask.shape), tuple(scores.shape))
        except ValueError:
            raise RuntimeError(f"scaled_dot_product_attention: attn_mask of shape "
                               f"{list(attn_mask.shape)} does not broadcast to the attention "
                               f"weights' shape {list(scores.shape)}") from None
        if attn_mask.dtype.name == "bool":
            keep = attn_mask
        else:
            scores = scores + attn_mask
    if keep is not None:
        scores = where(keep, scores, -math.inf)
    if S == 0:
        return matmul(scores, value)
    # Rows with nothing to attend to give zeros; only a mask can leave such rows (the
    # causal one keeps the diagonal). Under a dispatch hook (a graph being traced, vmap)
    # the zero-safe formula is always taken with a mask: neither can branch on whether
    # this call's (or one example's) mask leaves such rows.
    weights = None
    if attn_mask is not None:
        dead = isneginf(scores).all(-1, keepdim=True)
        if dispatch_hooks or bool(dead._data.any()):
            weights = where(dead, 0.0, softmax(where(dead, 0.0, scores), -1))
    if weights is None:
        weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return matmul(weights, value)
