"""Keras 3's MultiHeadAttention over ``(batch, sequence, features)`` inputs.

Weights keep Keras's layout and order: query, key and value projections with kernels
``(features, num_heads, key_dim)`` (value: ``value_dim``) and biases ``(num_heads,
key_dim)``, then the output projection ``(num_heads, value_dim, *output_shape)`` and its
bias, so ``get_weights``/``set_weights`` exchange weights with Keras. The scores are
``softmax(q k^T / sqrt(key_dim))`` with masked positions given -1e9, as Keras does.

>>> import ember
>>> from ember.keras.layers.attention import MultiHeadAttention
>>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
>>> mha(ember.ones(3, 5, 8), ember.ones(3, 7, 6)).shape
ember.Size([3, 5, 8])
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import ember
import ember.nn.functional as F
from ember import Tensor
from ember.keras import constraints, initializers, regularizers
from ember.keras.layers.input_spec import InputSpec
from ember.keras.layers.layer import Layer

__all__ = ["MultiHeadAttention"]

_MASKED = -1e9          # Keras's additive "large negative number" for masked scores


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"MultiHeadAttention: `{name}` must be a positive integer. "
                         f"Received: {name}={value!r}")
    return int(value)


class MultiHeadAttention(Layer):
    """Attention of ``query`` ``(B, T, dq)`` over ``value`` ``(B, S, dv)`` (``key``
    defaults to ``value``) with ``num_heads`` heads of size ``key_dim``; the output is
    ``(B, T, dq)`` or ``(B, T, *output_shape)``. ``attention_mask`` ``(B, T, S)`` is True
    (or 1) where a query may attend; ``use_causal_mask`` adds a lower-triangular mask;
    ``dropout`` drops attention probabilities when training.

    >>> import ember
    >>> out, scores = MultiHeadAttention(2, 3)(ember.ones(1, 4, 5), ember.ones(1, 6, 5),
    ...                                        return_attention_scores=True)
    >>> out.shape, scores.shape
    (ember.Size([1, 4, 5]), ember.Size([1, 2, 4, 6]))
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape: Any = None,
                 attention_axes: Any = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.num_heads = _positive_int(num_heads, "num_heads")
        self.key_dim = _positive_int(key_dim, "key_dim")
        self.value_dim = self.key_dim if value_dim is None else \
            _positive_int(value_dim, "value_dim")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
                or not 0 <= dropout < 1:
            raise ValueError(f"MultiHeadAttention: `dropout` must be a float in [0, 1). "
                             f"Received: dropout={dropout!r}")
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        if output_shape is None or isinstance(output_shape, (int, np.integer)):
            self._output_dims = None if output_shape is None else \
                (_positive_int(output_shape, "output_shape"),)
        else:
            self._output_dims = tuple(_positive_int(d, "output_shape") for d in output_shape)
        self.output_shape = output_shape
        axes = (attention_axes,) if isinstance(attention_axes, int) else attention_axes
        if axes is not None and tuple(axes) not in ((1,), (-2,)):
            raise NotImplementedError(
                f"MultiHeadAttention: only attention over the sequence axis of (batch, "
                f"sequence, features) inputs is supported (attention_axes=None, 1 or -2). "
                f"Received: attention_axes={attention_axes!r}")
        self.attention_axes = attention_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def _projection(self, prefix: str, kernel_shape: tuple, bias_shape: tuple) -> tuple:
        kernel = self.add_weight(shape=kernel_shape, initializer=self.kernel_initializer,
                                 regularizer=self.kernel_regularizer,
                                 constraint=self.kernel_constraint, name=f"{prefix}_kernel")
        bias = None
        if self.use_bias:
            bias = self.add_weight(shape=bias_shape, initializer=self.bias_initializer,
                                   regularizer=self.bias_regularizer,
                                   constraint=self.bias_constraint, name=f"{prefix}_bias")
        return kernel, bias

    def build(self, query_shape: tuple, value_shape: tuple,
              key_shape: tuple | None = None) -> None:
        key_shape = value_shape if key_shape is None else key_shape
        for what, shape in (("query", query_shape), ("value", value_shape),
                            ("key", key_shape)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(f'Layer "{self.name}" (MultiHeadAttention): `{what}` must '
                                 f"have shape (batch, sequence, features) with known "
                                 f"features. Received: {what}.shape={tuple(shape)}")
        h, k, v = self.num_heads, self.key_dim, self.value_dim
        out = self._output_dims or (query_shape[-1],)
        self.query_kernel, self.query_bias = self._projection(
            "query", (query_shape[-1], h, k), (h, k))
        self.key_kernel, self.key_bias = self._projection("key", (key_shape[-1], h, k), (h, k))
        self.value_kernel, self.value_bias = self._projection(
            "value", (value_shape[-1], h, v), (h, v))
        self.output_kernel, self.output_bias = self._projection(
            "attention_output", (h, v) + out, out)
        self.input_spec = InputSpec(ndim=3, axes={-1: query_shape[-1]})

    def _project(self, x: Tensor, kernel: Tensor, bias: Tensor | None) -> Tensor:
        """(B, L, d) -> (B, heads, L, size)."""
        d, h, size = kernel.shape
        y = (x @ kernel.reshape(d, h * size)).reshape(x.shape[0], x.shape[1], h, size)
        if bias is not None:
            y = y + bias
        return y.permute(0, 2, 1, 3)

    def _mask(self, attention_mask: Any, use_causal_mask: bool, t: int, s: int,
              batch: int) -> Tensor | None:
        """A (B or 1, 1, T, S) bool tensor, True where attention is allowed."""
        keep = None
        if attention_mask is not None:
            mask = attention_mask if isinstance(attention_mask, Tensor) else \
                ember.tensor(np.asarray(attention_mask))
            if mask.ndim == 2:
                mask = mask.unsqueeze(0)
            if mask.ndim != 3 or tuple(mask.shape[1:]) != (t, s) \
                    or mask.shape[0] not in (1, batch):
                raise ValueError(f'Layer "{self.name}" (MultiHeadAttention): '
                                 f"`attention_mask` must have shape (batch, {t}, {s}) "
                                 f"(query length, value length). Received: "
                                 f"attention_mask.shape={tuple(mask.shape)}")
            keep = (mask != 0).unsqueeze(1)
        if use_causal_mask:
            causal = ember.tensor(np.tril(np.ones((t, s), dtype=bool))).reshape(1, 1, t, s)
            keep = causal if keep is None else keep & causal
        return keep

    def call(self, query: Tensor, value: Tensor, key: Tensor | None = None,
             attention_mask: Any = None, return_attention_scores: bool = False,
             training: bool = False, use_causal_mask: bool = False) -> Any:
        key = value if key is None else key
        if query.shape[0] != value.shape[0] or key.shape[:2] != value.shape[:2]:
            raise ValueError(f'Layer "{self.name}" (MultiHeadAttention): `key` and `value` '
                             f"must share batch and sequence sizes, and `query` the batch "
                             f"size. Received: query.shape={tuple(query.shape)}, "
                             f"value.shape={tuple(value.shape)}, key.shape={tuple(key.shape)}")
        q = self._project(query, self.query_kernel, self.query_bias)
        k = self._project(key, self.key_kernel, self.key_bias)
        v = self._project(value, self.value_kernel, self.value_bias)
        scores = (q * (1.0 / math.sqrt(self.key_dim))) @ k.transpose(-2, -1)
        keep = self._mask(attention_mask, use_causal_mask, query.shape[1], value.shape[1],
                          query.shape[0])
        if keep is not None:
            scores = ember.where(keep, scores, _MASKED)
        probs = F.softmax(scores, -1)
        dropped = probs
        if training and self.dropout > 0.0:
            shape = tuple(probs.shape)
            draws = ember.rand(shape) if self._rng is None else \
                ember.tensor(self._rng.random(shape, dtype=np.float32))
            dropped = probs * ((draws >= self.dropout).to(probs.dtype) / (1.0 - self.dropout))
        heads = (dropped @ v).permute(0, 2, 1, 3)                 # (B, T, H, value_dim)
        b, t = heads.shape[:2]
        out_dims = tuple(self.output_kernel.shape[2:])
        flat = heads.reshape(b, t, self.num_heads * self.value_dim) @ \
            self.output_kernel.reshape(self.num_heads * self.value_dim, -1)
        out = flat.reshape((b, t) + out_dims)
        if self.output_bias is not None:
            out = out + self.output_bias
        return (out, probs) if return_attention_scores else out

    def get_config(self) -> dict:
        output_shape = self.output_shape
        if output_shape is not None and not isinstance(output_shape, (int, np.integer)):
            output_shape = list(output_shape)
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout,
                "use_bias": self.use_bias, "output_shape": output_shape,
                "attention_axes": self.attention_axes,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "seed": self.seed}
