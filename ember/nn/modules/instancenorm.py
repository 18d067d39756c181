"""InstanceNorm1d and InstanceNorm2d: normalize each channel of each sample over its
spatial dims.

They keep batch norm's state (``weight``/``bias`` when ``affine``, running statistics when
``track_running_stats``), with other defaults: no affine terms and no running statistics.
Running statistics, when kept, are updated in training and used in evaluation; a
``momentum`` of None leaves them unchanged (as in PyTorch, instance norm has no cumulative
average). Unbatched input (no N dim) is accepted.
"""
from __future__ import annotations

import warnings
from typing import Any

from ember.nn import functional as F
from ember.nn.modules.batchnorm import _BatchNorm
from ember.tensor import Tensor

__all__ = ["InstanceNorm1d", "InstanceNorm2d"]


class _InstanceNorm(_BatchNorm):
    """Shared forward; ``_ranks`` gives the (unbatched, batched) input ranks."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        unbatched, batched = self._ranks
        if input.ndim not in self._ranks:
            raise ValueError(f"{name}: expected {unbatched}D or {batched}D input (got "
                             f"{input.ndim}D input)")
        channel_dim = input.ndim - unbatched
        channels = input.shape[channel_dim]
        if channels != self.num_features:
            if self.affine:
                raise ValueError(f"{name}: expected input's size at dim={channel_dim} to "
                                 f"match num_features ({self.num_features}), but got: "
                                 f"{channels}.")
            warnings.warn(f"{name}: input's size at dim={channel_dim} does not match "
                          f"num_features. You can silence this warning by not passing in "
                          f"num_features, which is not used because affine=False",
                          stacklevel=2)
        x = input.unsqueeze(0) if input.ndim == unbatched else input
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              0.0 if self.momentum is None else self.momentum, self.eps)
        return out.squeeze(0) if input.ndim == unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of an (N, C, L) or (C, L) input over L.

    >>> ember.nn.InstanceNorm1d(3)(ember.randn(2, 3, 5)).shape
    ember.Size([2, 3, 5])
    """

    _ranks = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of an (N, C, H, W) or (C, H, W) input over H and W.

    >>> ember.nn.InstanceNorm2d(3, affine=True)(ember.randn(2, 3, 4, 4)).shape
    ember.Size([2, 3, 4, 4])
    """

    _ranks = (3, 4)
