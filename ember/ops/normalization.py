"""Normalization: layer, batch, group, instance and RMS norm, Lp ``normalize``, local
response norm.

Layer, batch (training), group and instance norm share one fused op that normalizes over
some dims, applies the affine weight and bias, keeps the mean and 1/std as hidden outputs
for backward and, given running statistics, updates them in place (as PyTorch's
``native_batch_norm`` does). Its backward is written with Ember ops; under
``create_graph=True`` it recomputes the statistics from the input with Ember ops so that
second derivatives see their dependence on the input. The rest are compositions.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import ml_dtypes
import numpy as np

from ember.autograd.grad_mode import state as _grad_state
from ember.ops import _fast_math_kernels as _fk
from ember.ops._util import norm_dims
from ember.ops.creation import from_numpy
from ember.ops.elementwise import where
from ember.ops.math import sqrt
from ember.ops.padding import pad
from ember.ops.registry import Op, register
from ember.tensor import Tensor

__all__ = ["layer_norm", "group_norm", "rms_norm"]


class _Normalize(Op):
    """``(x - mean) * rstd * weight + bias`` with statistics over ``dims``.

    Inputs ``(x, weight, bias, running_mean, running_var)``; weight and bias are already
    shaped to broadcast against ``x``. Given running statistics, the batch statistics
    (averaged over any leading dim not reduced, for instance norm) are blended into them
    in place with ``momentum``, the variance unbiased as in PyTorch.
    """

    hidden = 2
    saves = (0, 1)

    mutates = (3, 4)     # updates the running statistics in place when given

    def forward(self, xp: Any, x: Any, weight: Any, bias: Any, running_mean: Any,
                running_var: Any, *, dims: tuple, eps: float, momentum: float) -> Any:
        n = math.prod(x.shape[d] for d in dims)
        if n == 0 or x.size == 0:
            stat_shape = tuple(1 if d in dims else s for d, s in enumerate(x.shape))
            out = xp.full(x.shape, xp.nan, x.dtype)
            return out, xp.zeros(stat_shape, x.dtype), xp.ones(stat_shape, x.dtype)
        mean = xp.mean(x, axis=dims, keepdims=True)
        out = x - mean
        var = xp.mean(out * out, axis=dims, keepdims=True)
        rstd = 1.0 / xp.sqrt(var + x.dtype.type(eps))
        out *= rstd
        if weight is not None:
            out *= weight
        if bias is not None:
            out += bias
        if running_mean is not None:
            _blend(running_mean, mean, momentum)
        if running_var is not None:
            _blend(running_var, var * (n / max(n - 1, 1)), momentum)
        return out, mean, rstd

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, weight = ctx.inputs[0], ctx.inputs[1]
        dims, eps = ctx.attrs["dims"], ctx.attrs["eps"]
        if _grad_state.enabled:               # create_graph: statistics as functions of x
            xc = x - x.mean(dims, keepdim=True)
            rstd = ((xc * xc).mean(dims, keepdim=True) + eps) ** -0.5
        else:
            xc = x - from_numpy(ctx.saved[0])
            rstd = from_numpy(ctx.saved[1])
        xhat = xc * rstd
        gx = None
        if ctx.edges[0]:
            gy = g if weight is None else g * weight
            gx = rstd * (gy - gy.mean(dims, keepdim=True)
                         - xhat * (gy * xhat).mean(dims, keepdim=True))
        gw = g * xhat if ctx.edges[1] else None
        gb = g if ctx.edges[2] else None
        return gx, gw, gb, None, None


def _blend(running: Any, batch: Any, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * batch``, in place."""
    batch = batch.reshape(-1, running.size).mean(axis=0).reshape(running.shape)
    running *= 1.0 - momentum
    running += momentum * batch


class NativeLayerNorm(_Normalize):
    """:class:`_Normalize` over trailing dims; for a large C-contiguous float32 input,
    with numba, one pass per row
    (:func:`ember.ops._fast_math_kernels.layer_norm32_rows_loop`)."""

    def forward(self, xp: Any, x: Any, weight: Any, bias: Any, running_mean: Any,
                running_var: Any, *, dims: tuple, eps: float, momentum: float) -> Any:
        fast = _layer_norm_fast(x, weight, bias, dims, eps)
        if fast is not None:
            return fast
        return super().forward(xp, x, weight, bias, running_mean, running_var, dims=dims,
                               eps=eps, momentum=momentum)


def _layer_norm_fast(x: Any, weight: Any, bias: Any, dims: tuple, eps: float) -> Any:
    """``(out, mean, rstd)`` as :meth:`_Normalize.forward` gives them, or None where the
    kernel does not apply (numba off, other dtypes or array types, strided arrays)."""
    if (x.__class__ is not np.ndarray or x.dtype != np.float32 or x.size < _fk.MIN_SIZE
            or not x.flags.c_contiguous or not dims
            or tuple(dims) != tuple(range(x.ndim - len(dims), x.ndim))):
        return None
    params = [np.zeros(0, np.float32) if p is None else p for p in (weight, bias)]
    if any(p.__class__ is not np.ndarray or p.dtype != np.float32 for p in params):
        return None
    rows = _fk.kernel(_fk.layer_norm32_rows_loop)
    if rows is None:
        return None
    n = math.prod(x.shape[d] for d in dims)
    if n == 0:
        return None
    w, b = (np.ascontiguousarray(p).reshape(-1) for p in params)
    out = np.empty_like(x)
    stat_shape = x.shape[:x.ndim - len(dims)] + (1,) * len(dims)
    mean, rstd = np.empty(stat_shape, np.float32), np.empty(stat_shape, np.float32)
    rows(x.reshape(-1, n), w, b, np.float32(eps), out.reshape(-1, n), mean.reshape(-1),
         rstd.reshape(-1))
    return out, mean, rstd


_native_layer_norm = register(NativeLayerNorm())
_native_batch_norm = register(type("NativeBatchNorm", (_Normalize,), {})())
_native_group_norm = register(type("NativeGroupNorm", (_Normalize,), {})())


# -- argument checks ----------------------------------------------------------------------

def _check_float(input: Tensor, name: str, *params: Tensor | None) -> None:
    if not input.is_floating_point():
        raise RuntimeError(f"{name}: expected a floating point input, got {input.dtype}")
    for p in params:
        if p is not None and p.dtype != input.dtype:
            raise RuntimeError(f"{name}: mixed dtype: expected parameters to have the input's "
                               f"dtype {input.dtype}, got {p.dtype}")


def _normalized_shape(input: Tensor, normalized_shape: Any, name: str) -> tuple:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k > input.ndim or tuple(input.shape)[input.ndim - k:] != shape:
        raise RuntimeError(f"{name}: Given normalized_shape={list(shape)}, expected input with "
                           f"shape [*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    return shape


def _check_param(p: Tensor | None, shape: tuple, what: str, name: str) -> None:
    if p is not None and tuple(p.shape) != shape:
        raise RuntimeError(f"{name}: Expected {what} to be of same shape as normalized_shape, "
                           f"but got {what} of shape {list(p.shape)} and normalized_shape = "
                           f"{list(shape)}")


def _check_channels(input: Tensor, name: str, **vectors: Tensor | None) -> int:
    if input.ndim < 2:
        raise RuntimeError(f"{name}: expected an input of shape (N, C, *) with at least 2 "
                           f"dims, got {list(input.shape)}")
    c = input.shape[1]
    for what, v in vectors.items():
        if v is not None and v.numel() != c:
            raise RuntimeError(f"{name}: {what} should contain {c} elements not {v.numel()}")
    return c


def _channel_view(v: Tensor | None, ndim: int) -> Tensor | None:
    """A per-channel vector shaped to broadcast against ``(N, C, *)``."""
    return None if v is None else v.reshape((-1,) + (1,) * (ndim - 2))


def _bump(*tensors: Tensor | None) -> None:
    for t in tensors:
        if t is not None:
            t._vc[0] += 1


# -- public functions ---------------------------------------------------------------------

def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dims to zero mean and unit
    (biased) variance, then scale by ``weight`` and shift by ``bias`` (elementwise).

    >>> layer_norm(ember.randn(2, 5), (5,)).mean(-1)      # ~0
    """
    shape = _normalized_shape(input, normalized_shape, "layer_norm")
    _check_param(weight, shape, "weight", "layer_norm")
    _check_param(bias, shape, "bias", "layer_norm")
    _check_float(input, "layer_norm", weight, bias)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    return _native_layer_norm(input, weight, bias, None, None, dims=dims, eps=float(eps),
                              momentum=0.0)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel of an ``(N, C, *)`` input.

    Training uses the batch statistics (biased variance) and, when running statistics are
    given, updates them in place: ``running = (1 - momentum) * running + momentum * batch``
    with the unbiased batch variance. Otherwise the running statistics are used.
    """
    _check_channels(input, "batch_norm", running_mean=running_mean, running_var=running_var,
                    weight=weight, bias=bias)
    _check_float(input, "batch_norm", weight, bias)
    if not isinstance(momentum, (int, float)) or isinstance(momentum, bool):
        raise TypeError(f"batch_norm(): argument 'momentum' must be float, not "
                        f"{type(momentum).__name__}")
    nd = input.ndim
    if training:
        if input.numel() // max(input.shape[1], 1) == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"input size {input.shape!r}")
        if input.numel() == 0:
            running_mean = running_var = None       # PyTorch leaves them untouched
        out = _native_batch_norm(input, _channel_view(weight, nd), _channel_view(bias, nd),
                                 running_mean, running_var, dims=(0,) + tuple(range(2, nd)),
                                 eps=float(eps), momentum=float(momentum))
        _bump(running_mean, running_var)
        return out
    if running_mean is None or running_var is None:
        raise RuntimeError(f"batch_norm: running_{'mean' if running_mean is None else 'var'} "
                           f"must be defined in evaluation mode")
    return _affine_stats(input, running_mean, running_var, weight, bias, eps)


def _affine_stats(input: Tensor, mean: Tensor, var: Tensor, weight: Tensor | None,
                  bias: Tensor | None, eps: float) -> Tensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` with per-channel statistics, folded
    into one scale and one shift per channel before touching the input."""
    scale = (var + eps) ** -0.5
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    nd = input.ndim
    return input * _channel_view(scale, nd).to(input.dtype) + \
        _channel_view(shift, nd).to(input.dtype)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel of each sample of an ``(N, C, *)`` input over its spatial
    dims; running statistics (if given) are updated with the batch average of the
    per-sample statistics, or used instead of them when ``use_input_stats`` is False."""
    _check_channels(input, "instance_norm", running_mean=running_mean,
                    running_var=running_var, weight=weight, bias=bias)
    _check_float(input, "instance_norm", weight, bias)
    nd = input.ndim
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError("instance_norm: Expected running_mean and running_var to be "
                               "defined when use_input_stats is false")
        return _affine_stats(input, running_mean, running_var, weight, bias, eps)
    if math.prod(input.shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input "
                         f"size {input.shape!r}")
    out = _native_batch_norm(input, _channel_view(weight, nd), _channel_view(bias, nd),
                             running_mean, running_var, dims=tuple(range(2, nd)),
                             eps=float(eps), momentum=float(momentum))
    _bump(running_mean, running_var)
    return out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize an ``(N, C, *)`` input over groups of ``C // num_groups`` channels (and
    the spatial dims), then apply a per-channel ``weight`` and ``bias``."""
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: Expected at least 2 dimensions for input tensor but "
                           f"received {input.ndim}")
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"group_norm: Expected number of channels in input to be divisible "
                           f"by num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    for what, v in (("weight", weight), ("bias", bias)):
        if v is not None and (v.ndim != 1 or v.numel() != c):
            raise RuntimeError(f"group_norm: Expected {what} to be a vector of size equal to "
                               f"the number of channels in input, but got {what} of shape "
                               f"{list(v.shape)} and input of shape {list(input.shape)}")
    _check_float(input, "group_norm", weight, bias)
    spatial = tuple(input.shape[2:])
    grouped = (n, num_groups, c // num_groups) + spatial
    pshape = (num_groups, c // num_groups) + (1,) * len(spatial)
    out = _native_group_norm(input.reshape(grouped),
                             None if weight is None else weight.reshape(pshape),
                             None if bias is None else bias.reshape(pshape), None, None,
                             dims=tuple(range(2, len(grouped))), eps=float(eps), momentum=0.0)
    return out.reshape(tuple(input.shape))


def rms_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``input / sqrt(mean(input**2) + eps) * weight`` over the trailing
    ``normalized_shape`` dims; ``eps=None`` uses the machine epsilon of the input dtype."""
    shape = _normalized_shape(input, normalized_shape, "rms_norm")
    _check_param(weight, shape, "weight", "rms_norm")
    _check_float(input, "rms_norm")
    if eps is None:
        eps = float(ml_dtypes.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * ((input * input).mean(dims, keepdim=True) + eps) ** -0.5
    return out if weight is None else out * weight


def lp_norm(input: Tensor, p: float, dim: Any, keepdim: bool = False) -> Tensor:
    """The ``p``-norm over ``dim`` with PyTorch's gradient: zero where the norm is zero."""
    dims = norm_dims(dim, input.ndim, "norm")
    if p == 0:
        return (input != 0).sum(dims, keepdim=keepdim).to(input.dtype)
    sgn = (input > 0).to(input.dtype) - (input < 0).to(input.dtype)
    a = input * sgn                          # |x| with derivative sign(x), 0 at 0
    if math.isinf(p) and any(input.shape[d] == 0 for d in dims):
        raise RuntimeError(f"norm: cannot compute the {p} norm over an empty dimension of "
                           f"shape {list(input.shape)}: the operation has no identity")
    if p == 1:
        return a.sum(dims, keepdim=keepdim)
    if p == math.inf:
        return a.amax(dims, keepdim=keepdim)
    if p == -math.inf:
        return a.amin(dims, keepdim=keepdim)
        return a.sum(dims, keepdim=keepdim)
    s = (input * input if p == 2 else a ** p).sum(dims, keepdim=keepdim)
    zero = s == 0
    safe = where(zero, 1.0, s)               # keeps the unused branch's gradient finite
    root = sqrt(safe) if p == 2 else safe ** (1.0 / p)
    return where(zero, 0.0, root)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Any = None) -> Tensor:
    """``input`` divided by its ``p``-norm over ``dim`` (at least ``eps``).

    >>> normalize(ember.tensor([[3.0, 4.0]]))    # tensor([[0.6000, 0.8000]])
    """
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    n = lp_norm(input, p, dim, keepdim=True)
    return input / where(n < eps, eps, n)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Divide each entry by ``(k + alpha * mean of squares over size neighbouring
    channels) ** beta`` (the channel window is zero-padded at the edges)."""
    nd = input.ndim
    if nd < 3:
        raise ValueError(f"local_response_norm: Expected 3D or higher dimensionality input "
                         f"(got {nd} dimensions)")
    if input.numel() == 0:
        return input
    c = input.shape[1]
    sq = pad(input * input, (0, 0) * (nd - 2) + (size // 2, (size - 1) // 2))
    window = sq[:, 0:c]
    for j in range(1, size):
        window = window + sq[:, j:j + c]
    return input / (window * (alpha / size) + k) ** beta

