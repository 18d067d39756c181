"""Flatten a model's parameters into one vector and back (for optimizers and tools that
work on a flat vector, e.g. line searches, evolutionary strategies)."""
from __future__ import annotations

from typing import Any, Iterable

import ember
from ember.tensor import Tensor
from ember._typename import typename

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _same_device(param: Tensor, device: Any) -> Any:
    """``param``'s device, refusing one that differs from ``device`` (the first seen)."""
    if device is not None and param.device != device:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")
    return param.device


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All ``parameters`` flattened and concatenated into one 1-D tensor (differentiable).

    >>> vec = parameters_to_vector(model.parameters())
    """
    device = None
    flat = []
    for p in parameters:
        device = _same_device(p, device)
        flat.append(p.view(-1))
    return ember.cat(flat)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each parameter's data the next slice of ``vec``, in order (they share memory
    with ``vec`` afterwards, as in PyTorch).

    >>> vector_to_parameters(parameters_to_vector(model.parameters()) * 0, model.parameters())
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected ember.Tensor, but got: {typename(vec)}")
    device = None
    start = 0
    for p in parameters:
        device = _same_device(p, device)
        n = p.numel()
        p.data = vec[start:start + n].view_as(p).data
        start += n

