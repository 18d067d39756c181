"""``embedding`` (the fused op of ``ember.ops.embedding`` with PyTorch's signature and
``max_norm``) and ``one_hot``."""
from __future__ import annotations

import ember
from ember.ops.embedding import embedding as _embedding, one_hot as _one_hot
from ember.tensor import Tensor

__all__ = ["embedding", "one_hot"]


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """``weight[input]``: one row of ``weight`` ``(num_embeddings, dim)`` per index.

    ``padding_idx`` gets no gradient; ``max_norm`` first rescales (in place, without
    gradient) every looked-up row whose ``norm_type``-norm exceeds it, as PyTorch does.
    ``sparse`` gradients are not supported: the gradient is always dense.

    >>> embedding(ember.tensor([[0, 2]]), ember.eye(3)).shape
    ember.Size([1, 2, 3])
    """
    if input.dtype not in (ember.int64, ember.int32):
        raise RuntimeError(f"embedding: Expected tensor for argument #1 'indices' to have one "
                           f"of the following scalar types: Long, Int; but got "
                           f"{input.dtype.name} instead")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D, got shape {tuple(weight.shape)}")
    n = weight.shape[0]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise AssertionError(f"embedding: Padding_idx must be within num_embeddings "
                                 f"(got {padding_idx} for {n} embeddings)")
        padding_idx %= n
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    return _embedding(input, weight, padding_idx=padding_idx,
                      scale_grad_by_freq=bool(scale_grad_by_freq))


def _renorm_(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    """Scale rows of ``weight`` used by ``input`` to norm at most ``max_norm``, in place.
    A repeated index computes the same scale each time, so writing it twice is harmless."""
    with ember.no_grad():
        idx = input.reshape(-1)
        rows = weight[idx]
        norms = rows.norm(norm_type, dim=1, keepdim=True)
        scale = ember.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight[idx] = rows * scale


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor with a trailing dim of size ``num_classes`` (default: max + 1) that is
    1 at each value of ``tensor`` and 0 elsewhere.

    >>> one_hot(ember.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    if tensor.dtype != ember.int64:
        raise RuntimeError(f"one_hot is only applicable to index tensor of type LongTensor "
                           f"(got {tensor.dtype.name}).")
    if num_classes == -1:
        if not tensor.numel():
            raise RuntimeError("one_hot: Can not infer total number of classes from empty "
                               "tensor.")
        num_classes = max(int(tensor.max().item()) + 1, 0)
    return _one_hot(tensor, num_classes=int(num_classes))
