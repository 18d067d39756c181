"""BatchNorm1d and BatchNorm2d.

Training normalizes with the batch statistics and, when ``track_running_stats``, blends
them into the ``running_mean``/``running_var`` buffers (the variance unbiased) and counts
the step in ``num_batches_tracked``; ``momentum=None`` makes that blend a cumulative
average. Evaluation uses the running statistics when there are any.
"""
from __future__ import annotations

from typing import Any

import ember
from ember.nn import functional as F
import ember.nn.init as init
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    """Shared state and forward of the batch-norm layers; subclasses give the input ranks
    they accept."""

    _ranks: tuple

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        vector = dict(dtype=dtype, device=device)
        self.register_parameter(
            "weight", Parameter(ember.empty(num_features, **vector)) if affine else None)
        self.register_parameter(
            "bias", Parameter(ember.empty(num_features, **vector)) if affine and bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", ember.zeros(num_features, **vector))
            self.register_buffer("running_var", ember.ones(num_features, **vector))
            self.register_buffer("num_batches_tracked",
                                 ember.tensor(0, dtype=ember.long, device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches counted."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Reset the running statistics; weight 1 and bias 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self._ranks:
            ranks = " or ".join(f"{r}D" for r in self._ranks)
            raise ValueError(f"{type(self).__name__}: expected {ranks} input (got "
                             f"{input.ndim}D input)")
        momentum = self.momentum
        factor = 0.0 if momentum is None else momentum
        mean, var = self.running_mean, self.running_var
        if self.training:
            if self.track_running_stats:
                count = self.num_batches_tracked
                if count is not None:
                    count.add_(1)
                    if momentum is None:
                        factor = 1.0 / float(count)
            else:
                mean = var = None       # not tracking: any buffers are left alone
            use_batch_stats = True
        else:
            use_batch_stats = mean is None and var is None
        return F.batch_norm(input, mean, var, self.weight, self.bias, use_batch_stats, factor,
                            self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, " \
               f"affine={self.affine}, bias={self.bias is not None}, " \
               f"track_running_stats={self.track_running_stats}"


class BatchNorm1d(_BatchNorm):
    """Batch normalization of an (N, C) or (N, C, L) input over all but the channel dim.

    >>> bn = ember.nn.BatchNorm1d(4)
    >>> bn(ember.randn(8, 4)).shape, bn.num_batches_tracked.item()
    (ember.Size([8, 4]), 1)
    """

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of an (N, C, H, W) input per channel.

    >>> ember.nn.BatchNorm2d(3)(ember.randn(2, 3, 4, 4)).shape
    ember.Size([2, 3, 4, 4])
    """

    _ranks = (4,)
