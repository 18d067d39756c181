"""Distances and similarities between vectors: cosine similarity, pairwise, pdist, cdist."""
from __future__ import annotations

import numpy as np

from ember.ops.creation import from_numpy
from ember.ops.elementwise import where
from ember.ops.normalization import lp_norm
from ember.tensor import Tensor

# cdist is torch.cdist (not in torch.nn.functional): ember.cdist once exported at top level
__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def _check_float(name: str, *xs: Tensor) -> None:
    if not any(x.is_floating_point() for x in xs):
        raise RuntimeError(f"{name}: expected common dtype to be floating point, yet common "
                           f"dtype is {xs[0].dtype}")


def _broadcast(x1: Tensor, x2: Tensor, name: str) -> tuple:
    s1, s2 = tuple(x1.shape), tuple(x2.shape)
    n = max(len(s1), len(s2))
    p1, p2 = (1,) * (n - len(s1)) + s1, (1,) * (n - len(s2)) + s2
    shape = []
    for i, (a, b) in enumerate(zip(p1, p2)):
        if a != b and a != 1 and b != 1:
            raise RuntimeError(f"{name}: The size of tensor a ({a}) must match the size of "
                               f"tensor b ({b}) at non-singleton dimension {i} (shapes "
                               f"{list(s1)} and {list(s2)})")
        shape.append(b if a == 1 else a)
    return x1.expand(tuple(shape)), x2.expand(tuple(shape))


def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    """The 2-norm over ``dim`` raised to at least ``eps``; as in PyTorch, the gradient flows
    as if it were not clamped (the clamp is a constant correction)."""
    n = lp_norm(x, 2, dim, keepdim=True)
    lift = where(n < eps, eps - n.detach(), 0.0).detach()
    return n + lift


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (they broadcast);
    each norm is clamped to at least ``eps`` separately.

    >>> cosine_similarity(ember.tensor([[1.0, 0.0]]), ember.tensor([[1.0, 1.0]]))  # 0.7071
    """
    _check_float("cosine_similarity", x1, x2)
    x1, x2 = _broadcast(x1, x2, "cosine_similarity")
    a = x1 / _clamped_norm(x1, dim, eps)
    b = x2 / _clamped_norm(x2, dim, eps)
    return (a * b).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``p``-norm of ``x1 - x2 + eps`` over the last dim (inputs broadcast).

    >>> pairwise_distance(ember.zeros(2, 3), ember.ones(2, 3))   # two values of ~1.732
    """
    if x1.ndim == 0 or x2.ndim == 0:
        raise RuntimeError(f"pairwise_distance: expected inputs with at least 1 dim, got "
                           f"shapes {list(x1.shape)} and {list(x2.shape)}")
    _check_float("pairwise_distance", x1, x2)
    return lp_norm(x1 - x2 + eps, p, -1, keepdim=keepdim)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """``p``-norm distance between each row of ``x1`` ``(*, P, M)`` and each row of ``x2``
    ``(*, R, M)``: a ``(*, P, R)`` tensor (batch dims broadcast)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, X2 "
                           f"got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    _check_float("cdist", x1, x2)
    return lp_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """``p``-norm distances between all pairs of rows ``i < j`` of an ``(N, M)`` input,
    in row-major order of the upper triangle: ``N * (N - 1) / 2`` values."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError(f"pdist only supports non-negative p values, got {p}")
    _check_float("pdist", input)
    i, j = np.triu_indices(input.shape[0], 1)
    return lp_norm(input[from_numpy(i)] - input[from_numpy(j)], p, -1)
