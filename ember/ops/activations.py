"""Activation functions, under their ``torch.nn.functional`` names and signatures.

Each takes ``inplace=False`` where PyTorch's does; ``inplace=True`` writes the result into
``input`` (through the in-place machinery, so autograd still works) and returns ``input``.
Backwards are written to stay finite for large ``|x|`` (softplus, logsigmoid, mish use
sigmoid, which saturates cleanly, never ``exp(x) / (1 + exp(x))``).
"""
from __future__ import annotations

import math as _m
from typing import Any, Callable

import numpy as np

from ember.ops.elementwise import where
from ember.ops.inplace import inplace
from ember.ops.math import (_FLOATING, _NUMERIC, _Pointwise, _low_precision, _sigmoid,
                            erfc_array, exp, gelu_exact_fast, gelu_slope_fast, sigmoid,
                            tanh)
from ember.ops.registry import Op, apply, register, tensor_method
from ember.tensor import Tensor

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu",
           "selu_", "celu", "celu_", "gelu", "silu", "mish", "softplus", "hardswish",
           "hardsigmoid", "hardtanh", "hardtanh_", "logsigmoid", "softsign", "tanhshrink",
           "threshold", "threshold_", "prelu", "hardshrink", "softshrink", "sigmoid", "tanh"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = _m.sqrt(2 / _m.pi)
_INV_SQRT_2PI = 1 / _m.sqrt(2 * _m.pi)
_GELU_KAPPA = 0.044715


def _run(fn: Callable, input: Tensor, inplace_: bool, name: str, **attrs: Any) -> Tensor:
    """``fn(input, **attrs)``, or its in-place form writing into ``input``."""
    if inplace_:
        return inplace(input, fn, name=name, **attrs)
    return fn(input, **attrs)


def _as(dtype: Any, value: float, op: str) -> Any:
    """``value`` as a scalar of the array dtype ``dtype``, refusing out-of-range values."""
    try:
        return dtype.type(value)
    except OverflowError:
        raise RuntimeError(f"{op}: value {value} cannot be converted to type {dtype} "
                           f"without overflow") from None


def _log1pexp(xp: Any, x: Any) -> Any:
    """``log(1 + exp(x))`` without overflow (faster than ``logaddexp(0, x)`` in NumPy)."""
    out = xp.exp(-xp.abs(x))
    out = xp.log1p(out)
    out += xp.maximum(x, 0)
    return out


class _Activation(_Pointwise):
    """A one-input op on floating tensors whose backward reads the input."""

    accepts = _FLOATING
    saves = (0,)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return self.grad(g, ctx.inputs[0], **ctx.attrs)


_ZEROS: dict = {}


def _zero(x: Any, value: Any) -> Any:
    """For a NumPy array ``x`` and an int ``value`` of 0: a read-only 0-d zero of ``x``'s
    dtype (cached), which NumPy ufuncs take about twice as fast as a Python or NumPy
    scalar; else None."""
    if value.__class__ is not int or value != 0 or x.__class__ is not np.ndarray:
        return None
    zero = _ZEROS.get(x.dtype)
    if zero is None:
        zero = _ZEROS[x.dtype] = np.zeros((), x.dtype)
        zero.flags.writeable = False
    return zero


class Threshold(_Activation):
    """``value`` where ``x <= threshold``, else ``x`` (NaN passes through)."""

    accepts = _NUMERIC

    def forward(self, xp: Any, x: Any, *, threshold: float, value: float) -> Any:
        if threshold == value:
            zero = _zero(x, value)              # relu
            if zero is not None:
                return np.maximum(x, zero)
            return xp.maximum(x, _as(x.dtype, threshold, self.name))
        return xp.where(x <= threshold, _as(x.dtype, value, self.name), x)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return apply(_threshold_backward, (g, ctx.inputs[0]),
                     {"threshold": ctx.attrs["threshold"]})


class ThresholdBackward(Op):
    """``g`` where ``x > threshold``, else 0 (NaN in ``x`` lets ``g`` through): the
    gradient of threshold and relu as one op. Its own gradient w.r.t. ``g`` is itself."""

    name = "threshold_backward"
    saves = (1,)

    def forward(self, xp: Any, g: Any, x: Any, *, threshold: float) -> Any:
        # ~9x faster than where(x <= threshold, 0, g) in NumPy; differs only where g is
        # inf/NaN at a masked position (NaN instead of 0)
        zero = _zero(x, threshold)
        return g * ~(x <= (threshold if zero is None else zero))

    def backward(self, ctx: Any, gg: Tensor) -> tuple:
        return _threshold_backward(gg, ctx.inputs[1], **ctx.attrs), None


class Hardtanh(_Activation):
    """``x`` clipped to ``[min_val, max_val]``; the gradient is zero on the bounds."""

    accepts = _NUMERIC

    def forward(self, xp: Any, x: Any, *, min_val: float, max_val: float) -> Any:
        lo, hi = _as(x.dtype, min_val, self.name), _as(x.dtype, max_val, self.name)
        return xp.minimum(xp.maximum(x, lo), hi)

    def grad(self, g: Tensor, x: Tensor, *, min_val: float, max_val: float) -> Tensor:
        return where((x <= min_val) | (x >= max_val), 0.0, g)


class LeakyRelu(_Activation):
    def forward(self, xp: Any, x: Any, *, negative_slope: float) -> Any:
        return xp.where(x > 0, x, x * x.dtype.type(negative_slope))

    def grad(self, g: Tensor, x: Tensor, *, negative_slope: float) -> Tensor:
        return where(x > 0, g, g * negative_slope)


class Elu(_Activation):
    """``scale * x`` for ``x > 0``, else ``scale * alpha * (exp(x * input_scale) - 1)``:
    ELU, SELU and CELU are this op with different constants."""

    def forward(self, xp: Any, x: Any, *, alpha: float, scale: float,
                input_scale: float) -> Any:
        neg = xp.expm1(x * x.dtype.type(input_scale))
        neg *= x.dtype.type(alpha * scale)
        return xp.where(x <= 0, neg, x * x.dtype.type(scale))

    def grad(self, g: Tensor, x: Tensor, *, alpha: float, scale: float,
             input_scale: float) -> Tensor:
        return where(x <= 0, g * exp(x * input_scale) * (alpha * scale * input_scale),
                     g * scale)


class Gelu(_Activation):
    """``x * Phi(x)``, Phi the standard normal CDF (``approximate='tanh'``: its tanh
    approximation)."""

    def check(self, x: Any, *, approximate: str) -> None:
        if approximate not in ("none", "tanh"):
            raise RuntimeError(f"gelu: approximate argument must be either none or tanh, "
                               f"got {approximate!r}")
        super().check(x)

    def forward(self, xp: Any, x: Any, *, approximate: str) -> Any:
        if approximate == "tanh":
            inner = xp.tanh((x + x * x * x * _GELU_KAPPA) * _SQRT_2_OVER_PI)
            inner += 1
            return inner * x * 0.5
        # 0.5 * x * erfc(-x / sqrt 2) == 0.5 * x * (1 + erf(x / sqrt 2)), accurate for x < 0
        fast = gelu_exact_fast(x)           # numba: float32 one pass, float64 two passes
        if fast is not None:
            return fast
        return _low_precision(erfc_array)(xp, x * -_m.sqrt(0.5)) * x * 0.5

    def grad(self, g: Tensor, x: Tensor, *, approximate: str) -> Tensor:
        return _gelu_backward(g, x, approximate=approximate)


def _gelu_slope(xp: Any, x: Any, approximate: str) -> Any:
    """GELU's derivative at the array ``x`` (each step the op PyTorch's formula names)."""
    if approximate == "tanh":
        x2 = x * x
        t = xp.tanh((x + x2 * x * _GELU_KAPPA) * _SQRT_2_OVER_PI)
        dinner = (x2 * (3 * _GELU_KAPPA) + 1) * _SQRT_2_OVER_PI
        # (1 - t)(1 + t), not 1 - t*t: exactly 0 where t rounds to -1 or 1, as in PyTorch
        return (t + 1) * 0.5 + x * 0.5 * ((1 - t) * (1 + t)) * dinner
    cdf = _low_precision(erfc_array)(xp, x * -_m.sqrt(0.5)) * 0.5
    pdf = xp.exp(x * x * -0.5) * _INV_SQRT_2PI
    return cdf + x * pdf


def _gelu_curvature(x: Tensor, approximate: str) -> Tensor:
    """GELU's second derivative at ``x``, with Ember ops (so it has derivatives too)."""
    if approximate == "tanh":
        x2 = x * x
        t = tanh((x + x2 * x * _GELU_KAPPA) * _SQRT_2_OVER_PI)
        du = (x2 * (3 * _GELU_KAPPA) + 1) * _SQRT_2_OVER_PI          # d inner / dx
        ddu = x * (6 * _GELU_KAPPA * _SQRT_2_OVER_PI)                  # d2 inner / dx2
        sech2 = (1 - t) * (1 + t)
        return sech2 * du + x * 0.5 * sech2 * (ddu - 2 * t * du * du)
    return exp(x * x * -0.5) * _INV_SQRT_2PI * (2 - x * x)


class GeluBackward(Op):
    """``g * gelu'(x)`` as one op (instead of about a dozen). Its gradient in ``g`` is
    itself; in ``x`` it is ``g * gelu''(x)``, written with Ember ops."""

    name = "gelu_backward"

    def forward(self, xp: Any, g: Any, x: Any, *, approximate: str) -> Any:
        if approximate != "tanh":
            fast = gelu_slope_fast(g, x, -_m.sqrt(0.5), _INV_SQRT_2PI)   # numba passes
            if fast is not None:
                return fast
        return g * _gelu_slope(xp, x, approximate)

    def backward(self, ctx: Any, gg: Tensor) -> tuple:
        g, x = ctx.inputs
        a = ctx.attrs["approximate"]
        dg = _gelu_backward(gg, x, approximate=a) if ctx.edges[0] else None
        dx = gg * g * _gelu_curvature(x, a) if ctx.edges[1] else None
        return dg, dx


class Silu(_Activation):
    def forward(self, xp: Any, x: Any) -> Any:
        return x * _sigmoid(xp, x)

    def grad(self, g: Tensor, x: Tensor) -> Tensor:
        s = sigmoid(x)
        return g * s * (1 + x * (1 - s))


class Softplus(_Activation):
    """``log(1 + exp(beta * x)) / beta``, and ``x`` where ``beta * x > threshold``."""

    def forward(self, xp: Any, x: Any, *, beta: float, threshold: float) -> Any:
        bx = x * x.dtype.type(beta)
        soft = _log1pexp(xp, bx) / x.dtype.type(beta)
        return xp.where(bx > threshold, x, soft)

    def grad(self, g: Tensor, x: Tensor, *, beta: float, threshold: float) -> Tensor:
        bx = x * beta
        return where(bx > threshold, g, g * sigmoid(bx))


class Mish(_Activation):
    def forward(self, xp: Any, x: Any) -> Any:
        return x * xp.tanh(_log1pexp(xp, x))

    def grad(self, g: Tensor, x: Tensor) -> Tensor:
        t = tanh(_softplus(x, beta=1.0, threshold=20.0))
        return g * (t + x * sigmoid(x) * (1 - t * t))


class Hardswish(_Activation):
    def forward(self, xp: Any, x: Any) -> Any:
        return x * xp.clip(x + 3, 0, 6) / 6

    def grad(self, g: Tensor, x: Tensor) -> Tensor:
        return where(x <= -3, 0.0, where(x < 3, g * (x / 3 + 0.5), g))


class Hardsigmoid(_Activation):
    def forward(self, xp: Any, x: Any) -> Any:
        return xp.clip(x + 3, 0, 6) / 6

    def grad(self, g: Tensor, x: Tensor) -> Tensor:
        return where((x > -3) & (x < 3), g / 6, 0.0)


class Logsigmoid(_Activation):
    def forward(self, xp: Any, x: Any) -> Any:
        return -_log1pexp(xp, -x)

    def grad(self, g: Tensor, x: Tensor) -> Tensor:
        return g * sigmoid(-x)


_threshold = register(Threshold())
_threshold_backward = register(ThresholdBackward())
_relu = register(type("Relu", (Threshold,), {"name": "relu"})())   # ReluBackward0, as torch
_hardtanh = register(Hardtanh())
_leaky_relu = register(LeakyRelu())
_elu = register(Elu())
_gelu = register(Gelu())
_gelu_backward = register(GeluBackward())
_silu = register(Silu())
_softplus = register(Softplus())
_mish = register(Mish())
_hardswish = register(Hardswish())
_hardsigmoid = register(Hardsigmoid())
_logsigmoid = register(Logsigmoid())


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``value`` where ``input <= threshold``, else ``input``.

    >>> F.threshold(ember.tensor([-1.0, 0.5, 2.0]), 1.0, 9.0)
    tensor([9., 9., 2.])
    """
    return _run(_threshold, input, inplace, "threshold_", threshold=threshold, value=value)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)``; the gradient at 0 is 0."""
    if isinstance(input, Tensor) and input._data.dtype.kind == "b":
        raise RuntimeError("relu: Boolean inputs not supported for relu")
    if not inplace:
        return apply(_relu, (input,), {"threshold": 0, "value": 0})
    return _run(_relu, input, True, "relu_", threshold=0, value=0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """``input`` clipped to ``[min_val, max_val]``."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got "
                         f"min_val={min_val}, max_val={max_val}")
    if isinstance(input, Tensor) and not input.is_floating_point():
        min_val, max_val = int(min_val), int(max_val)
    return _run(_hardtanh, input, inplace, "hardtanh_", min_val=min_val, max_val=max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(input, 0), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``negative_slope * input``."""
    return _run(_leaky_relu, input, inplace, "leaky_relu_", negative_slope=negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``alpha * (exp(input) - 1)``."""
    return _run(_elu, input, inplace, "elu_", alpha=alpha, scale=1.0, input_scale=1.0)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Scaled ELU with the self-normalizing constants of Klambauer et al. (2017)."""
    return _run(_elu, input, inplace, "selu_", alpha=_SELU_ALPHA, scale=_SELU_SCALE,
                input_scale=1.0)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``alpha * (exp(input / alpha) - 1)``."""
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError: alpha cannot be 0 for CELU")
    return _run(_elu, input, inplace, "celu_", alpha=alpha, scale=1.0, input_scale=1 / alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``input * Phi(input)``; ``approximate='tanh'`` uses the tanh approximation."""
    return _gelu(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``input * sigmoid(input)`` (swish)."""
    return _run(_silu, input, inplace, "silu_")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``input * tanh(softplus(input))``."""
    return _run(_mish, input, inplace, "mish_")


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * input)) / beta``, linear where ``beta * input > threshold``."""
    return _softplus(input, beta=beta, threshold=threshold)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``input * relu6(input + 3) / 6``."""
    return _run(_hardswish, input, inplace, "hardswish_")


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(input + 3) / 6``."""
    return _run(_hardsigmoid, input, inplace, "hardsigmoid_")


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(input))``, computed without overflow."""
    return _logsigmoid(input)


def softsign(input: Tensor) -> Tensor:
    """``input / (1 + |input|)``."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """``input - tanh(input)``."""
    return input - tanh(input)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """0 where ``-lambd <= input <= lambd``, else ``input``."""
    _floating_only(input, "hardshrink")
    return where((input >= -lambd) & (input <= lambd), 0.0, input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``input`` moved ``lambd`` toward 0, and 0 inside ``[-lambd, lambd]``."""
    _floating_only(input, "softshrink")
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be greater or equal to 0, but found to "
                           f"be {lambd}.")
    return where(input > lambd, input - lambd,
                 where(input < -lambd, input + lambd, input * 0))   # NaN stays NaN


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``input`` where positive, else ``weight * input``; ``weight`` has one element or one
    per channel (dim 1)."""
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(f"prelu: Mismatch of parameter numbers and input channel size. "
                           f"Found parameter numbers = {weight.numel()} and channel size = "
                           f"{channels}.")
    if weight.dtype != input.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got {input.dtype.name} and "
                           f"{weight.dtype.name}")
    if weight.numel() == 1:
        w = weight.reshape(())
    else:
        w = weight.reshape((1, channels) + (1,) * (input.ndim - 2))
    return where(input > 0, input, w * input)


def _floating_only(input: Tensor, name: str) -> None:
    if not input.is_floating_point():
        raise NotImplementedError(f"{name}: not implemented for {input.dtype.name} tensors")


def _inplace_fn(fn: Callable, name: str) -> Callable:
    def run(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return fn(input, *args, inplace=True, **kwargs)
    run.__name__ = name
    run.__doc__ = f"In-place version of :func:`{fn.__name__}`."
    return run


relu_ = _inplace_fn(relu, "relu_")
leaky_relu_ = _inplace_fn(leaky_relu, "leaky_relu_")
elu_ = _inplace_fn(elu, "elu_")
selu_ = _inplace_fn(selu, "selu_")
celu_ = _inplace_fn(celu, "celu_")
hardtanh_ = _inplace_fn(hardtanh, "hardtanh_")
threshold_ = _inplace_fn(threshold, "threshold_")

for _name in ("relu", "relu_", "prelu", "hardshrink"):
    tensor_method(_name)(globals()[_name])
