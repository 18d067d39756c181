"""Linear maps: ``linear`` (a fused op in ``ember.ops.linalg``) and ``bilinear``."""
from __future__ import annotations

from ember.ops.linalg import einsum, linear as _linear
from ember.tensor import Tensor

__all__ = ["linear", "bilinear"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` with ``weight`` of shape ``(out_features, in_features)``.

    >>> linear(ember.ones(4, 3), ember.ones(2, 3)).shape
    ember.Size([4, 2])
    """
    return _linear(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """``out[..., o] = input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]``."""
    s1, s2, sw = tuple(input1.shape), tuple(input2.shape), tuple(weight.shape)
    if len(sw) != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out, in1, in2), got shape {sw}")
    if input1.ndim == 0 or s1[:-1] != s2[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got shapes {s1} "
                           f"and {s2}")
    for k, (name, s) in enumerate((("input1", s1), ("input2", s2))):
        if s[-1] != sw[k + 1]:
            raise RuntimeError(f"bilinear(): {name} size does not match weight size: got "
                               f"{s[-1]} but expected {sw[k + 1]} (weight shape {sw})")
    if bias is not None and tuple(bias.shape) != sw[:1]:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{tuple(bias.shape)} but expected {sw[:1]}")
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias
