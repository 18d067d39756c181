"""Distance layers: CosineSimilarity and PairwiseDistance between two batches of vectors."""
from __future__ import annotations

from ember.nn import functional as F
from ember.nn.modules.module import Module
from ember.tensor import Tensor

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class CosineSimilarity(Module):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (inputs broadcast; each
    norm is clamped to at least ``eps``).

    >>> ember.nn.CosineSimilarity()(ember.randn(4, 3), ember.randn(4, 3)).shape
    ember.Size([4])
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``p``-norm of ``x1 - x2 + eps`` over the last dim (inputs broadcast); the norm
    order is kept as ``self.norm``, as in PyTorch.

    >>> ember.nn.PairwiseDistance()(ember.zeros(4, 3), ember.ones(4, 3)).shape
    ember.Size([4])
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
