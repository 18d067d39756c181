"""MultiheadAttention: PyTorch's multi-head attention layer, composed from Ember ops."""
from __future__ import annotations

import math
import warnings
from typing import Any

import ember
from ember.nn import functional as F
from ember.nn import init
from ember.nn.modules.linear import Linear
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["MultiheadAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """A ``Linear`` under the class name PyTorch gives MultiheadAttention's ``out_proj``, so
    that the layer's repr is PyTorch's."""


def canonical_mask(mask: Tensor | None, name: str, other: Tensor | None, other_name: str,
                   dtype: Any) -> Tensor | None:
    """``mask`` as an additive float mask of ``dtype``: a bool mask becomes ``-inf`` where
    True (not allowed) and 0 elsewhere; a float mask is returned unchanged.

    Warns, like PyTorch, when ``other`` (the mask it will be merged with) has another dtype.
    """
    if mask is None:
        return None
    is_bool = mask.dtype == ember.bool
    if not is_bool and not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if other is not None and other.dtype != mask.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same "
                      f"type for both instead.", stacklevel=3)
    if is_bool:
        return ember.zeros_like(mask, dtype=dtype).masked_fill_(mask, -math.inf)
    return mask


def _check_inputs(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                  attn_mask: Tensor | None, num_heads: int) -> bool:
    """Check the ranks of the inputs and masks; return whether the input is batched."""
    if query.dim() not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.dim()}-D query tensor")
    batched = query.dim() == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.dim() != query.dim() or value.dim() != query.dim():
        raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be "
                             f"{query.dim()}-D but found {key.dim()}-D and {value.dim()}-D "
                             f"tensors respectively")
    if key_padding_mask is not None and key_padding_mask.dim() != query.dim() - 1:
        raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
                             f"{query.dim() - 1}-D but found {key_padding_mask.dim()}-D tensor "
                             f"instead")
    if attn_mask is not None:
        if attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or "
                                 f"3-D but found {attn_mask.dim()}-D tensor instead")
        expected = (num_heads, query.shape[0], key.shape[0])
        if not batched and attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
            raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                 f"{attn_mask.shape}")
    return batched


def _allow_extra_key(attn_mask: Tensor | None, key_padding_mask: Tensor | None) -> tuple:
    """The masks widened by one key column that every query may attend to."""
    return tuple(None if m is None else F.pad(m, (0, 1)) for m in (attn_mask, key_padding_mask))


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al.): ``out_proj(concat_h softmax(q_h k_h^T /
    sqrt(d)) v_h)`` with ``q, k, v`` projected from ``query, key, value``.

    Inputs are ``(L, N, E)`` (``(N, L, E)`` with ``batch_first``) or unbatched ``(L, E)``.
    ``forward`` returns ``(output, weights)``; ``weights`` (averaged over heads unless
    ``average_attn_weights=False``) is None when ``need_weights=False``. Masks are bool
    (True = may NOT attend) or float (added to the scores). Parameter names and shapes are
    PyTorch's (``in_proj_weight`` when key and value have ``embed_dim`` features, else
    ``q_proj_weight``/``k_proj_weight``/``v_proj_weight``), so state_dicts move both ways.

    >>> mha = MultiheadAttention(8, 2, batch_first=True)
    >>> x = ember.randn(3, 5, 8)
    >>> out, w = mha(x, x, x)
    >>> out.shape, w.shape
    (ember.Size([3, 5, 8]), ember.Size([3, 5, 5]))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")

        def weight(*shape: int) -> Parameter:
            return Parameter(ember.empty(*shape, dtype=dtype, device=device))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = weight(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = weight(embed_dim, embed_dim)
            self.k_proj_weight = weight(embed_dim, self.kdim)
            self.v_proj_weight = weight(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = weight(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = weight(1, 1, embed_dim)
            self.bias_v = weight(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's init: Glorot uniform projections, zero biases, Glorot normal bias_k/v."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        for b in (self.bias_k, self.bias_v):
            if b is not None:
                init.xavier_normal_(b)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` to ``key``/``value``; see the class docstring.

        ``key_padding_mask`` is ``(N, S)`` (``(S,)`` unbatched); ``attn_mask`` is ``(L, S)``
        or ``(N * num_heads, L, S)``. ``is_causal`` is a hint that ``attn_mask`` is the
        causal mask (it then requires one, as in PyTorch).
        """
        batched = _check_inputs(query, key, value, key_padding_mask, attn_mask, self.num_heads)
        key_padding_mask = canonical_mask(key_padding_mask, "key_padding_mask", attn_mask,
                                          "attn_mask", query.dtype)
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask`"
                               " to create this mask.")
        # With nothing to merge and no weights to return, the hint lets SDPA build the mask.
        if is_causal and key_padding_mask is None and not need_weights:
            attn_mask = None
        else:
            attn_mask = canonical_mask(attn_mask, "attn_mask", None, "", query.dtype)
            is_causal = False
        # Work in (L, N, E) layout, PyTorch's native one for this layer.
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        out, weights = self._attend(query, key, value, key_padding_mask, attn_mask, is_causal,
                                    need_weights, average_attn_weights)
        if not batched:
            out = out.squeeze(1)
            weights = weights.squeeze(0) if weights is not None else None
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple:
        """The query, key and value projections (one matmul for self-attention)."""
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = b.chunk(3) if b is not None else (None, None, None)
        if not self._qkv_same_embed_dim:
            return (F.linear(query, self.q_proj_weight, bq),
                    F.linear(key, self.k_proj_weight, bk),
                    F.linear(value, self.v_proj_weight, bv))
        if query is key and key is value:
            return F.linear(query, self.in_proj_weight, b).chunk(3, dim=-1)
        wq, wk, wv = self.in_proj_weight.split(E)
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def _attend(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                attn_mask: Tensor | None, is_causal: bool, need_weights: bool,
                average_attn_weights: bool) -> tuple[Tensor, Tensor | None]:
        """Attention over batched ``(L, N, E)`` inputs and float masks; output ``(L, N, E)``."""
        L, N, E = query.shape
        H, D = self.num_heads, self.head_dim
        if E != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but "
                                 f"got {E}")
        if self._qkv_same_embed_dim:
            if key.shape != value.shape:
                raise AssertionError(f"key shape {key.shape} does not match value shape "
                                     f"{value.shape}")
        elif key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match "
                                 f"value's {value.shape[:2]}")
        q, k, v = self._project(query, key, value)
        S = k.shape[0]
        if attn_mask is not None:
            expected = (L, S) if attn_mask.dim() == 2 else (N * H, L, S)
            if tuple(attn_mask.shape) != expected:
                raise RuntimeError(f"The shape of the {attn_mask.dim()}D attn_mask is "
                                   f"{attn_mask.shape}, but should be {expected}.")
            if attn_mask.dim() == 2:
                attn_mask = attn_mask.unsqueeze(0)
        if self.bias_k is not None:
            k = ember.cat([k, self.bias_k.expand(1, N, E)])
            v = ember.cat([v, self.bias_v.expand(1, N, E)])
            attn_mask, key_padding_mask = _allow_extra_key(attn_mask, key_padding_mask)
        # Heads become part of the batch: (N * H, L, D).
        q = q.reshape(L, N * H, D).transpose(0, 1)
        k = k.reshape(k.shape[0], N * H, D).transpose(0, 1)
        v = v.reshape(v.shape[0], N * H, D).transpose(0, 1)
        if self.add_zero_attn:
            zeros = ember.zeros(N * H, 1, D, dtype=k.dtype)
            k, v = ember.cat([k, zeros], 1), ember.cat([v, zeros], 1)
            attn_mask, key_padding_mask = _allow_extra_key(attn_mask, key_padding_mask)
        S = k.shape[1]
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (N, S):
                bad = 0 if key_padding_mask.shape[0] != N else 1
                raise AssertionError(f"Expected key_padded_mask.shape[{bad}] to be "
                                     f"{(N, S)[bad]}, but got {key_padding_mask.shape[bad]}")
            kpm = key_padding_mask.reshape(N, 1, 1, S).expand(N, H, 1, S).reshape(N * H, 1, S)
            attn_mask = kpm if attn_mask is None else attn_mask + kpm
        p = self.dropout if self.training else 0.0
        if need_weights:
            # PyTorch's explicit path, which keeps the (dropped-out) weights to return.
            scores = ember.bmm(q * math.sqrt(1.0 / D), k.transpose(1, 2))
            if attn_mask is not None:
                scores = scores + attn_mask
            weights = F.dropout(F.softmax(scores, dim=-1), p=p)
            out = ember.bmm(weights, v).transpose(0, 1).reshape(L * N, E)
            weights = weights.reshape(N, H, L, S)
            if average_attn_weights:
                weights = weights.mean(dim=1)
        else:
            if attn_mask is not None:   # (1 or N*H, L or 1, S) -> broadcasts to (N, H, L, S)
                lead = (1, 1) if attn_mask.shape[0] == 1 else (N, H)
                attn_mask = attn_mask.reshape(*lead, -1, S)
            out = F.scaled_dot_product_attention(
                q.reshape(N, H, L, D), k.reshape(N, H, S, D), v.reshape(N, H, S, D),
                attn_mask, p, is_causal)
            out = out.permute(2, 0, 1, 3).reshape(L * N, E)
            weights = None
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias)
        return out.reshape(L, N, E), weights
