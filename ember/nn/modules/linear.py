"""Identity, Linear, Bilinear and LazyLinear (a Linear that learns ``in_features`` from
its first input).

>>> fc = ember.nn.Linear(3, 2)
>>> fc(ember.ones(4, 3)).shape
ember.Size([4, 2])
"""
from __future__ import annotations

import math
from typing import Any

import ember
from ember.nn import functional as F
import ember.nn.init as init
from ember.nn.modules._bias import register_bias, uniform_bias
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter, UninitializedParameter, is_lazy
from ember.tensor import Tensor

__all__ = ["Identity", "Linear", "Bilinear", "LazyLinear"]


def _weight(layer: str, shape: dict[str, int], device: Any, dtype: Any) -> Parameter:
    """A Parameter of the given named sizes, refusing negative ones with the layer's name."""
    for name, n in shape.items():
        if n < 0:
            raise RuntimeError(f"{layer}: Trying to create tensor with negative dimension {n} "
                               f"({name}={n})")
    return Parameter(ember.empty(*shape.values(), device=device, dtype=dtype))


class Identity(Module):
    """Returns its input unchanged; accepts and ignores any constructor arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """``y = x @ weight.T + bias`` with ``weight`` ``(out_features, in_features)`` from
    kaiming_uniform_(a=sqrt(5)) and ``bias`` ``(out_features,)`` from
    U(-1/sqrt(in_features), 1/sqrt(in_features)), as in PyTorch.

    >>> ember.nn.Linear(3, 2, bias=False)
    Linear(in_features=3, out_features=2, bias=False)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _weight(type(self).__name__, {"out_features": out_features,
                                                    "in_features": in_features}, device, dtype)
        register_bias(self, out_features, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw ``weight`` and ``bias`` from their initial distributions."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        uniform_bias(self.bias, self.weight.shape[1])

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """``y[..., o] = x1[..., i] weight[o, i, j] x2[..., j] + bias[o]``; weight and bias
    from U(-1/sqrt(in1_features), 1/sqrt(in1_features))."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = _weight("Bilinear", {"out_features": out_features,
                                           "in1_features": in1_features,
                                           "in2_features": in2_features}, device, dtype)
        register_bias(self, out_features, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw ``weight`` and ``bias`` from U(-1/sqrt(in1), 1/sqrt(in1))."""
        if self.in1_features <= 0:
            raise ValueError(f"Bilinear: in1_features must be > 0, but got "
                             f"(in1_features={self.in1_features})")
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(Linear):
    """A Linear whose ``in_features`` is taken from the last dim of its first input; then
    its parameters are created and initialized and it becomes a plain :class:`Linear`.
    Loading a state_dict before that gives the parameters their saved shapes.

    >>> fc = ember.nn.LazyLinear(2)
    >>> fc(ember.ones(4, 3)).shape, type(fc).__name__, fc.in_features
    (ember.Size([4, 2]), 'Linear', 3)
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters)

    def has_uninitialized_params(self) -> bool:
        """True while some parameter has no shape yet."""
        return any(is_lazy(p) for p in self._parameters.values())

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor) -> None:
        """Create ``weight`` ``(out_features, input.shape[-1])`` and ``bias`` and draw them
        as Linear does (a no-op when they already have shapes, e.g. from load_state_dict)."""
        if self.has_uninitialized_params():
            with ember.no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:
            if input.shape[-1] != self.weight.shape[-1]:
                raise RuntimeError(f"LazyLinear: the in_features inferred from the input "
                                   f"({input.shape[-1]}) is not equal to in_features from "
                                   f"the loaded weight ({self.weight.shape[-1]})")
            self.in_features = input.shape[-1]

    @staticmethod
    def _infer_parameters(module: "LazyLinear", args: tuple) -> None:
        module.initialize_parameters(*args)
        module._initialize_hook.remove()
        del module._initialize_hook
        module.__class__ = module.cls_to_become

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        """Like Module's, but a parameter without a shape is saved as itself."""
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars or is_lazy(p) else p.detach()
