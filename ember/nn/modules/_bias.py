"""The bias parameter that Linear, Bilinear and the convolutions share: present or
registered as None, and PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in)) initialization."""
from __future__ import annotations

import math
from typing import Any

import ember
import ember.nn.init as init
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.tensor import Tensor


def register_bias(module: Module, size: int, bias: bool, device: Any, dtype: Any) -> None:
    """``module.bias``: an uninitialized Parameter of ``size`` entries, or None."""
    if bias:
        module.bias = Parameter(ember.empty(size, device=device, dtype=dtype))
    else:
        module.register_parameter("bias", None)


def uniform_bias(bias: Tensor | None, fan_in: int) -> None:
    """Fill ``bias`` from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (zeros when ``fan_in`` is 0)."""
    if bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)
