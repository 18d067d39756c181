"""``ember.nn.init``: fill a weight tensor in place from the distributions PyTorch uses.

Every function writes into ``tensor`` under ``no_grad`` (so it works on a Parameter that
requires grad, bumping its version like any in-place op), keeps its dtype, returns it, and
draws from ``generator`` (an ``ember.Generator``) or the default one. The formulas (fans,
gains, bounds) are PyTorch's; the values differ because the random streams differ.

>>> w = ember.empty(3, 5)
>>> ember.nn.init.kaiming_uniform_(w, a=math.sqrt(5))      # what Linear does
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import ember
from ember.autograd.grad_mode import no_grad
from ember.backend import array_module
from ember.tensor import Tensor, _make

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_",
           "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
           "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
           "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"]

_LINEAR_GAIN_ONE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                    "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: Any = None) -> float:
    """The factor that keeps activations' variance stable through ``nonlinearity``.

    ``param`` is leaky_relu's negative slope (default 0.01).

    >>> calculate_gain("relu")
    1.4142135623730951
    """
    if nonlinearity in _LINEAR_GAIN_ONE:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _check_dims(tensor: Tensor, ok: bool, message: str, who: str) -> None:
    """Raise ValueError(``message``) (PyTorch's words) plus the function and shape."""
    if not ok:
        raise ValueError(f"{message} ({who} got a tensor of shape {list(tensor.shape)})")


def _check_float(tensor: Tensor, who: str) -> None:
    """Random fills need a floating tensor (PyTorch raises NotImplementedError too)."""
    if not tensor.is_floating_point():
        raise NotImplementedError(f"{who}: not implemented for dtype {tensor.dtype.name}; "
                                  f"random initialization needs a floating point tensor")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight laid out ``(out, in, *kernel)``."""
    _check_dims(tensor, tensor.dim() >= 2, "Fan in and fan out can not be computed for "
                "tensor with fewer than 2 dimensions", "_calculate_fan_in_and_fan_out")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    """The fan that ``mode`` ('fan_in' or 'fan_out', any case) names."""
    mode = mode.lower()
    valid = ["fan_in", "fan_out"]
    if mode not in valid:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: ember.Generator | None = None) -> Tensor:
    """Fill with samples from U(a, b)."""
    _check_float(tensor, "uniform_")
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: ember.Generator | None = None) -> Tensor:
    """Fill with samples from N(mean, std^2)."""
    _check_float(tensor, "normal_")
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: ember.Generator | None = None) -> Tensor:
    """Fill with samples from N(mean, std^2) restricted to [a, b].

    Samples by inverting the normal CDF on [cdf(a), cdf(b)] in float64, so every draw lands
    in [a, b] with no rejection loop. Exact up to float64 rounding unless the interval lies
    more than ~7 std from ``mean`` (where PyTorch warns too): there the CDF cannot resolve
    it and the values crowd towards the bound nearest the mean.
    """
    _check_float(tensor, "trunc_normal_")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    # x = mean + std sqrt(2) erfinv(u) with u uniform on [erf(alpha), erf(beta)], alpha and
    # beta the bounds in std units / sqrt(2); u stays inside (-1, 1) where erfinv is finite
    edge = 1.0 - 2.0 ** -53
    scale = std * math.sqrt(2.0)
    lo = max(math.erf((a - mean) / scale), -edge)
    hi = min(math.erf((b - mean) / scale), edge)
    with no_grad():
        u = ember.empty(tuple(tensor.shape), dtype=ember.float64)
        u.uniform_(lo, hi, generator=generator)
        x = ember.erfinv(u).mul_(scale).add_(mean)
        return tensor.copy_(x).clamp_(a, b)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix (ones on the main diagonal)."""
    _check_dims(tensor, tensor.dim() == 2, "Only tensors with 2 dimensions are supported",
                "eye_")
    with no_grad():
        return tensor.copy_(ember.eye(*tensor.shape, dtype=tensor.dtype))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3/4/5-D conv weight so that the conv passes its inputs through unchanged
    (per group: output channel ``d`` copies input channel ``d`` at the kernel centre)."""
    _check_dims(tensor, tensor.dim() in (3, 4, 5),
                "Only tensors with 3, 4, or 5 dimensions are supported", "dirac_")
    out_per_group = tensor.shape[0] // groups
    if tensor.shape[0] % groups != 0:
        raise ValueError(f"dim 0 must be divisible by groups (dirac_ got shape "
                         f"{list(tensor.shape)} and groups={groups})")
    n = min(out_per_group, tensor.shape[1])
    outs = [g * out_per_group + d for g in range(groups) for d in range(n)]
    ins = [d for _ in range(groups) for d in range(n)]
    centre = tuple(s // 2 for s in tensor.shape[2:])
    with no_grad():
        tensor.zero_()
        if outs:
            tensor[(ember.tensor(outs), ember.tensor(ins)) + centre] = 1
    return tensor


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: ember.Generator | None = None) -> Tensor:
    """Glorot uniform: U(-b, b) with ``b = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: ember.Generator | None = None) -> Tensor:
    """Glorot normal: N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    """He et al.'s std ``gain / sqrt(fan)``, or None (with torch's warning) for an empty
    tensor, which is left alone."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: ember.Generator | None = None) -> Tensor:
    """He uniform: U(-b, b) with ``b = sqrt(3) * gain / sqrt(fan)``; ``a`` is leaky_relu's
    negative slope."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: ember.Generator | None = None) -> Tensor:
    """He normal: N(0, std^2) with ``std = gain / sqrt(fan)``."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0,
                generator: ember.Generator | None = None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix times ``gain``, drawn uniformly (Haar).

    The tensor is viewed as ``(shape[0], rest)``; its rows (or columns, whichever are
    fewer) come out orthonormal.
    """
    _check_dims(tensor, tensor.dim() >= 2, "Only tensors with 2 or more dimensions are "
                "supported", "orthogonal_")
    _check_float(tensor, "orthogonal_")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    with no_grad():
        flat = ember.empty(max(rows, cols), min(rows, cols), dtype=ember.float64)
        flat.normal_(0.0, 1.0, generator=generator)
        xp = array_module(flat._data)
        q, r = xp.linalg.qr(flat._data)
        # multiplying each column by sign(R_ii) makes the factorization unique, so that Q is
        # Haar-distributed rather than biased by the QR routine's sign convention
        q = _make(q * xp.sign(xp.diagonal(r)))
        if rows < cols:
            q = q.t()
        return tensor.copy_(q.reshape(tuple(tensor.shape))).mul_(gain)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01,
            generator: ember.Generator | None = None) -> Tensor:
    """Fill a 2-D tensor from N(0, std^2), then zero ``ceil(sparsity * rows)`` random
    entries in every column."""
    _check_dims(tensor, tensor.dim() == 2, "Only tensors with 2 dimensions are supported",
                "sparse_")
    _check_float(tensor, "sparse_")
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    with no_grad():
        tensor.normal_(0.0, std, generator=generator)
        if num_zeros:
            picks = ember.rand(rows, cols, generator=generator).argsort(dim=0)[:num_zeros]
            tensor.scatter_(0, picks, 0.0)
    return tensor


def _deprecated(fill: Any) -> Any:
    """PyTorch's old name without the trailing underscore: warns, then calls ``fill``."""
    old, new = fill.__name__[:-1], fill.__name__

    def alias(*args: Any, **kwargs: Any) -> Tensor:
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new}`.",
                      FutureWarning, stacklevel=2)
        return fill(*args, **kwargs)
    alias.__name__ = old
    alias.__doc__ = f"Deprecated alias of :func:`{new}`."
    return alias


uniform, normal, constant, eye, dirac, xavier_uniform, xavier_normal, kaiming_uniform, \
    kaiming_normal, orthogonal, sparse = map(_deprecated, (
        uniform_, normal_, constant_, eye_, dirac_, xavier_uniform_, xavier_normal_,
        kaiming_uniform_, kaiming_normal_, orthogonal_, sparse_))
