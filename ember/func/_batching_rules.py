"""Batching rules of the generic op families: elementwise and broadcasting ops,
reductions over ``dims``, ops along one ``dim``, and shape ops. Importing this module
also imports the other rule modules, so that the table in ``_batching`` is complete.

Physical tensors carry the batch dim first; per-example dims are shifted by one.
"""
from __future__ import annotations

import math
from typing import Any

from ember.func._batching import Call, rule
from ember.ops.registry import _promoted_dtype
from ember.tensor import Tensor

__all__ = ["promoted", "ELEMENTWISE"]

#: ops that apply elementwise, broadcasting their tensor inputs (and attributes that do
#: not name dims)
ELEMENTWISE = (
    "cast", "clone", "to_device", "add", "sub", "mul", "div", "div_rounded", "remainder",
    "fmod", "neg", "pow", "where", "eq", "ne", "lt", "le", "gt", "ge", "bitwise_and",
    "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
    "logical_and", "logical_or", "logical_xor", "logical_not", "exp", "exp2", "expm1", "log",
    "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tan", "asin",
    "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sigmoid", "erf",
    "erfc", "erfinv", "frac", "abs", "sign", "floor", "ceil", "trunc", "round", "nan_to_num",
    "isnan", "isinf", "isfinite", "isposinf", "isneginf", "clamp", "maximum", "minimum",
    "fmax", "fmin", "atan2", "hypot", "logaddexp", "logaddexp2", "xlogy", "lerp",
    "threshold", "threshold_backward", "gelu_backward", "relu", "hardtanh", "leaky_relu", "elu", "gelu",
    "silu", "softplus", "mish", "hardswish", "hardsigmoid", "logsigmoid",
    "binary_cross_entropy", "fused_lstm_cell", "fused_gru_cell", "fused_lstm_cell_backward",
    "fused_gru_cell_backward")


def promoted(c: Call, args: list) -> list:
    """``args`` cast to the dtype the op promotes its per-example inputs to, where the
    physical ones would promote differently (a batched 0-d tensor is 1-d physically)."""
    first = c.op.promote_from
    dts = {a._data.dtype for a in args[first:] if isinstance(a, Tensor)}
    if c.op.promote is None or len(dts) < 2:
        return args
    dt = _promoted_dtype(c.op, c.logical)
    return [a.to(dt) if i >= first and isinstance(a, Tensor) and a._data.dtype != dt.np
            else a for i, a in enumerate(args)]


@rule(*ELEMENTWISE)
def _elementwise(c: Call) -> Any:
    rank = max(n for n in c.ndim if n is not None)
    return c.run(*promoted(c, [c.lifted(i, rank) for i in range(len(c.args))]))


# -- reductions over dims, ops along one dim ---------------------------------------------------

@rule("sum", "nansum", "mean", "var", "std", "amax", "amin", "prod", "logsumexp",
      "vector_norm", "all", "any", "count_nonzero")
def _reduce(c: Call) -> Any:
    return c.run(c.args[0], dims=tuple(d + 1 for d in c.attrs["dims"]))


def _on_dim(c: Call, *tensors: Tensor, **changes: Any) -> Any:
    """Run ``c``'s op along its ``dim`` attribute shifted past the batch dim; a 0-d
    example is handled as a 1-element vector."""
    n = c.size
    if c.ndim[0] == 0:
        out = c.run(*(t.reshape(n, 1) for t in tensors), dim=1, **changes)
        return out.reshape((n,))
    return c.run(*tensors, dim=c.attrs["dim"] + 1, **changes)


@rule("softmax", "log_softmax", "cumsum", "cumprod", "argsort", "kth_index", "median_index")
def _along(c: Call) -> Any:
    return _on_dim(c, c.args[0])


@rule("argmax", "argmin")
def _arg_extreme(c: Call) -> Any:
    x, n, nd = c.args[0], c.size, c.ndim[0]
    if c.attrs["dim"] is not None and nd:
        return c.run(x, dim=c.attrs["dim"] + 1)
    flat = x.reshape(n, math.prod(x.shape[1:]))
    out = c.run(flat, dim=1, keepdim=False)
    return out.reshape((n,) + (1,) * nd) if c.attrs["keepdim"] else out


@rule("take_along", "gather")
def _take_along(c: Call) -> Any:
    return _on_dim(c, c.full(0), c.full(1))


@rule("put_along", "gather_backward")
def _put_along(c: Call) -> Any:
    shape = c.attrs["shape"]
    if c.ndim[0] == 0:
        return _on_dim(c, c.full(0), c.full(1), shape=(c.size, 1))
    return _on_dim(c, c.full(0), c.full(1), shape=(c.size,) + tuple(shape))


# -- shape ops -------------------------------------------------------------------------------

@rule("reshape")
def _reshape(c: Call) -> Any:
    shape = (c.size,) + tuple(c.attrs["shape"])
    if c.attrs.get("strict"):
        try:
            return c.run(c.args[0], shape=shape)
        except RuntimeError:    # the batch dim may sit where a view is impossible
            pass
    return c.run(c.args[0], shape=shape, strict=False)


@rule("expand")
def _expand(c: Call) -> Any:
    shape = tuple(c.attrs["shape"])
    return c.run(c.lifted(0, len(shape)), shape=(c.size,) + shape)


@rule("permute")
def _permute(c: Call) -> Any:
    return c.run(c.args[0], dims=(0,) + tuple(d + 1 for d in c.attrs["dims"]))


@rule("repeat")
def _repeat(c: Call) -> Any:
    reps = tuple(c.attrs["reps"])
    return c.run(c.lifted(0, len(reps)), reps=(1,) + reps)


@rule("flip")
def _flip(c: Call) -> Any:
    return c.run(c.args[0], dims=tuple(d + 1 for d in c.attrs["dims"]))


@rule("roll")
def _roll(c: Call) -> Any:
    return c.run(c.args[0], dims=tuple(d + 1 for d in c.attrs["dims"]))


@rule("diagonal")
def _diagonal(c: Call) -> Any:
    return c.run(c.args[0], dim1=c.attrs["dim1"] + 1, dim2=c.attrs["dim2"] + 1)


@rule("diag_scatter")
def _diag_scatter(c: Call) -> Any:
    a = c.attrs
    return c.run(c.args[0], shape=(c.size,) + tuple(a["shape"]), dim1=a["dim1"] + 1,
                 dim2=a["dim2"] + 1)


@rule("triu", "tril")
def _triangle(c: Call) -> Any:
    return c.run(c.args[0])


@rule("constant_pad_nd")
def _constant_pad(c: Call) -> Any:
    return c.run(c.args[0], pads=((0, 0),) + tuple(c.attrs["pads"]))


@rule("pad_gather", "pad_scatter")
def _pad_index(c: Call) -> Any:
    a = c.attrs
    return c.run(c.args[0], index=(None,) + tuple(a["index"]),
                 in_shape=(c.size,) + tuple(a["in_shape"]))


@rule("axis_take", "axis_take_adjoint")
def _axis_take(c: Call) -> Any:
    return c.run(c.args[0], axis=c.attrs["axis"] + 1)


# -- joining ------------------------------------------------------------------------------------

@rule("cat")
def _cat(c: Call) -> Any:
    # PyTorch's legacy rule leaves 1-d empty tensors out of cat: keep doing so per example
    keep = [i for i, n in enumerate(c.ndim) if not (n == 1 and c.logical[i].shape[0] == 0)]
    parts = promoted(c, [c.full(i) for i in range(len(c.args))])
    return c.run(*[parts[i] for i in keep or range(len(parts))], dim=c.attrs["dim"] + 1)


@rule("stack")
def _stack(c: Call) -> Any:
    return c.run(*promoted(c, [c.full(i) for i in range(len(c.args))]),
                 dim=c.attrs["dim"] + 1)


@rule("split", "unbind")
def _split(c: Call) -> Any:
    return c.run(c.args[0], dim=c.attrs["dim"] + 1)


from ember.func import _batching_rules_index, _batching_rules_nn  # noqa: E402,F401
