"""Embedding: a lookup table of ``num_embeddings`` learned vectors.

>>> emb = ember.nn.Embedding(10, 3, padding_idx=0)
>>> emb(ember.tensor([[0, 4]])).shape
ember.Size([1, 2, 3])
"""
from __future__ import annotations

from typing import Any

import ember
from ember.nn import functional as F
import ember.nn.init as init
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["Embedding"]


class Embedding(Module):
    """``weight[input]`` with ``weight`` of shape ``(num_embeddings, embedding_dim)``, drawn
    from N(0, 1). Row ``padding_idx`` (negative counts from the end) starts at zero and gets
    no gradient; ``max_norm`` renormalizes looked-up rows in place, as ``F.embedding`` does.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: int | None = None, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Tensor | None = None, _freeze: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError(f"Embedding: Padding_idx must be within num_embeddings "
                                     f"(got padding_idx={padding_idx} for "
                                     f"num_embeddings={num_embeddings})")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        if _weight is None:
            for name, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
                if n < 0:
                    raise RuntimeError(f"Embedding: Trying to create tensor with negative "
                                       f"dimension {n} ({name})")
            self.weight = Parameter(ember.empty(num_embeddings, embedding_dim, device=device,
                                                dtype=dtype), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if list(_weight.shape) != [num_embeddings, embedding_dim]:
                raise AssertionError(f"Embedding: Shape of weight does not match "
                                     f"num_embeddings and embedding_dim: got "
                                     f"{tuple(_weight.shape)}, expected "
                                     f"{(num_embeddings, embedding_dim)}")
            self.weight = Parameter(_weight, requires_grad=not _freeze)
        self.sparse = sparse

    def reset_parameters(self) -> None:
        """Redraw the table from N(0, 1) and zero the padding row."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with ember.no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> "Embedding":
        """An Embedding whose table is ``embeddings`` (2-d, shared, not copied); frozen
        (no gradient) unless ``freeze=False``. The padding row is left as given.

        >>> ember.nn.Embedding.from_pretrained(ember.eye(3))(ember.tensor([1]))
        tensor([[0., 1., 0.]])
        """
        if embeddings.ndim != 2:
            raise AssertionError(f"Embedding.from_pretrained: Embeddings parameter is expected "
                                 f"to be 2-dimensional, got shape {tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(num_embeddings=rows, embedding_dim=cols, _weight=embeddings,
                   _freeze=freeze, padding_idx=padding_idx, max_norm=max_norm,
                   norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)
