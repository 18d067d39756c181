"""Unary math ops: exp, log, sqrt, trigonometric and rounding functions, and friends.

Floating ops turn integer inputs into the default float dtype, as PyTorch does.
"""
from __future__ import annotations

from typing import Any

from ember.ops.registry import Op, register, tensor_method
from ember.tensor import Tensor

__all__ = ["exp", "log", "sqrt"]


class UnaryFloat(Op):
    """A unary op whose result is floating (integers promote to the default float)."""

    promote = "float"


class Exp(UnaryFloat):
    saves = ()
    saves_output = True

    def forward(self, xp: Any, x: Any) -> Any:
        return xp.exp(x)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return g * ctx.out


class Log(UnaryFloat):
    def forward(self, xp: Any, x: Any) -> Any:
        return xp.log(x)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return g / ctx.inputs[0]


class Sqrt(UnaryFloat):
    saves = ()
    saves_output = True

    def forward(self, xp: Any, x: Any) -> Any:
        return xp.sqrt(x)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return g / (2 * ctx.out)


exp = register(Exp())
log = register(Log())
sqrt = register(Sqrt())

for _name in __all__:
    tensor_method(_name)(globals()[_name])
