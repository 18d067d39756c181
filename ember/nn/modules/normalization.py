"""LayerNorm, GroupNorm, RMSNorm and LocalResponseNorm: normalizations that use no batch
statistics, so they act the same in training and evaluation."""
from __future__ import annotations

import numbers
from typing import Any, Sequence

import ember
from ember.nn import functional as F
import ember.nn.init as init
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["LayerNorm", "GroupNorm", "RMSNorm", "LocalResponseNorm"]


def _shape(normalized_shape: int | Sequence[int]) -> tuple:
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(normalized_shape)


class _Affine(Module):
    """A normalization with an optional elementwise ``weight`` (init 1) and ``bias``
    (init 0)."""

    def _register_affine(self, shape: tuple, weight: bool, bias: bool | None, device: Any,
                         dtype: Any) -> None:
        """Register the parameters (None where unwanted; ``bias=None``: no bias at all)."""
        def make(wanted: bool) -> Parameter | None:
            return Parameter(ember.empty(shape, dtype=dtype, device=device)) if wanted else None
        self.register_parameter("weight", make(weight))
        if bias is not None:
            self.register_parameter("bias", make(weight and bias))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight 1, bias 0."""
        if self.weight is not None:
            init.ones_(self.weight)
        if getattr(self, "bias", None) is not None:
            init.zeros_(self.bias)


class LayerNorm(_Affine):
    """Normalize over the trailing ``normalized_shape`` dims (zero mean, unit biased
    variance), then apply an elementwise ``weight`` and ``bias`` of that shape.

    >>> ember.nn.LayerNorm(5)(ember.randn(2, 5)).shape
    ember.Size([2, 5])
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self._register_affine(self.normalized_shape, elementwise_affine, bias, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, " \
               f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"


class GroupNorm(_Affine):
    """Normalize an (N, C, *) input over groups of ``num_channels // num_groups`` channels,
    then apply a per-channel ``weight`` and ``bias``.

    >>> ember.nn.GroupNorm(2, 4)(ember.randn(3, 4, 5)).shape
    ember.Size([3, 4, 5])
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        self._register_affine((num_channels,), affine, bias, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, " \
               f"affine={self.affine}, bias={self.bias is not None}"


class RMSNorm(_Affine):
    """Divide by the root mean square over the trailing ``normalized_shape`` dims (plus
    ``eps``; None means the input dtype's machine epsilon), then scale by ``weight``.

    >>> ember.nn.RMSNorm(5)(ember.randn(2, 5)).shape
    ember.Size([2, 5])
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self._register_affine(self.normalized_shape, elementwise_affine, None, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, " \
               f"elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    """Divide each entry of an (N, C, *) input by ``(k + alpha/size * sum of squares over
    size neighbouring channels) ** beta``.

    >>> ember.nn.LocalResponseNorm(2)(ember.randn(1, 4, 3, 3)).shape
    ember.Size([1, 4, 3, 3])
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
