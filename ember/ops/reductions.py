"""Reductions: ops that collapse dimensions (sum, mean, var, max, prod, norm, all...) and
the scans cumsum / cumprod.

Every backward is written with Ember ops, so gradients of gradients work. Gradients of
``max()``/``amax`` are split evenly among tied maxima; ``max(dim)`` sends the gradient to
the returned index, as in PyTorch.
"""
from __future__ import annotations

import builtins
import math
from collections import namedtuple
from typing import Any

from ember.backend.dtypes import bool_, to_dtype
from ember.ops._util import norm_dim, norm_dims
from ember.ops.elementwise import where
from ember.ops.inplace import inplace_method
from ember.ops.math import exp
from ember.ops.registry import Op, apply, register, tensor_method
from ember.ops.shape import _expand
from ember.tensor import Tensor, trace_observers

__all__ = ["sum", "mean", "sum_to_size", "nansum", "nanmean", "var", "std", "var_mean",
           "std_mean", "max", "min", "amax", "amin", "aminmax", "argmax", "argmin", "prod",
           "logsumexp", "cumsum", "cumprod", "norm", "all", "any", "count_nonzero"]

_RETURN_TYPES: dict = {}


def return_type(name: str, fields: tuple = ("values", "indices")) -> type:
    """The named tuple type PyTorch returns from ``name`` (``torch.return_types.max``)."""
    if name not in _RETURN_TYPES:
        cls = namedtuple(name, fields)
        cls.__module__ = "ember.return_types"
        cls.__repr__ = _return_repr
        _RETURN_TYPES[name] = cls
    return _RETURN_TYPES[name]


def _return_repr(self: tuple) -> str:
    items = ", ".join(f"{k}={v!r}" for k, v in zip(self._fields, self))
    return f"ember.return_types.{type(self).__name__}({items})"


# -- helpers ----------------------------------------------------------------------------------

def _dims(dim: Any, ndim: int, op: str) -> tuple:
    """Reduced dims: None and an empty sequence mean all dims, as in PyTorch's reductions."""
    if dim is None or (isinstance(dim, (tuple, list)) and not dim):
        return _ALL_DIMS[ndim] if ndim < len(_ALL_DIMS) else tuple(range(ndim))
    if dim.__class__ is int and -ndim <= dim < ndim:      # fast path: one valid dim
        return (dim % ndim,)
    return norm_dims(dim, ndim, op)


_ALL_DIMS = tuple(tuple(range(n)) for n in range(8))


def _one_dim(dim: int, ndim: int, op: str) -> tuple:
    """A single int ``dim`` as a reduced-dims tuple (empty for a 0-d input)."""
    d = norm_dim(dim, ndim, op)
    return (d,) if ndim else ()


def _count(shape: tuple, dims: tuple) -> int:
    return math.prod(shape[d] for d in dims)


def _keep(t: Tensor, in_shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """A reduced tensor reshaped to keep the reduced dims as size 1 (broadcasts to input)."""
    if keepdim or not dims:
        return t
    shape = list(in_shape)
    for d in dims:
        shape[d] = 1
    return t.reshape(tuple(shape))


def _restore(g: Tensor, in_shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back over the reduced dims."""
    if g._data.ndim == 0 and in_shape:       # full reduction: one expand, no reshape
        return _expand(g, shape=in_shape)
    return _keep(g, in_shape, dims, keepdim).expand(in_shape)


def _nonzero_denominator(t: Tensor) -> Tensor:
    """``t`` with zeros replaced by one, so that masked-out divisions stay finite (and so
    do their second derivatives)."""
    return where(t == 0, 1, t)


def _require_float(x: Tensor, message: str) -> None:
    if not x.dtype.is_floating_point:
        raise RuntimeError(message.format(dtype=x.dtype))


def _sign(x: Tensor) -> Tensor:
    """sign(x) as a constant (no gradient) of x's dtype."""
    return (x > 0).to(x.dtype) - (x < 0).to(x.dtype)


def _abs(x: Tensor) -> Tensor:
    """|x| with gradient sign(x) (0 at 0), built from ops this module already has."""
    return x * _sign(x)


def _isnan(x: Tensor) -> Tensor:
    return x != x


def _check_nonempty(x: Tensor, dims: tuple, all_dims: bool, op: str,
                    error: type = RuntimeError) -> None:
    """Reductions without an identity (max, argmax...) refuse empty slices, like PyTorch."""
    if all_dims:
        if x.numel() == 0:
            raise error(f"{op}(): Expected reduction dim to be specified for input.numel() == "
                        f"0. Specify the reduction dim with the 'dim' argument.")
        return
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")


def _int_result(x: Any, dtype: Any) -> Any:
    """Result dtype of sum-like ops: ints and bools accumulate in int64 unless told."""
    if dtype is not None:
        return dtype.np
    return "int64" if x.dtype.kind in "bui" else None


# -- sum, mean, nansum, nanmean --------------------------------------------------------------

class Sum(Op):
    saves = ()

    def forward(self, xp: Any, x: Any, *, dims: tuple, keepdim: bool, dtype: Any) -> Any:
        if dtype is None and x.ndim > 2 and x.dtype.char in "fd" and x.size and \
                dims == (0,) + tuple(range(2, x.ndim)):
            # per-channel sums of NC... (conv bias gradients): NumPy's reduction over
            # (0, 2, 3) is 2-4x slower than summing the batch first, then each plane
            per_channel = xp.sum(x, axis=0).reshape(x.shape[1], -1).sum(axis=1)
            return per_channel.reshape((1, -1) + (1,) * (x.ndim - 2)) if keepdim \
                else per_channel
        # the method skips NumPy's Python wrapper around xp.sum (~2 us a call)
        return x.sum(axis=dims, keepdims=keepdim, dtype=_int_result(x, dtype))

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        a = ctx.attrs
        return _restore(g, ctx.edges[0][3], a["dims"], a["keepdim"])


class Mean(Op):
    saves = ()

    def check(self, x: Tensor, *, dims: tuple, keepdim: bool, dtype: Any) -> None:
        if not (dtype or x.dtype).is_floating_point:
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be "
                               f"either a floating point or complex dtype. Got: {x.dtype}")

    def forward(self, xp: Any, x: Any, *, dims: tuple, keepdim: bool, dtype: Any) -> Any:
        if dtype is not None:
            x = x.astype(dtype.np)
        # sum / n gives NaN for an empty reduction, as PyTorch does
        return xp.sum(x, axis=dims, keepdims=keepdim) / x.dtype.type(_count(x.shape, dims))

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        a = ctx.attrs
        shape = ctx.edges[0][3]
        n = builtins.max(_count(shape, a["dims"]), 1)
        return _restore(g / n, shape, a["dims"], a["keepdim"])


class Nansum(Sum):
    """Sum treating NaN as zero; the gradient is masked by multiplication, as in PyTorch
    (so an infinite upstream gradient still turns NaN at NaN positions)."""

    saves = None

    def forward(self, xp: Any, x: Any, *, dims: tuple, keepdim: bool, dtype: Any) -> Any:
        return xp.nansum(x, axis=dims, keepdims=keepdim, dtype=_int_result(x, dtype))

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        x = ctx.inputs[0]
        return super().backward(ctx, g) * (~_isnan(x)).to(g.dtype)


_sum = register(Sum())
_nansum = register(Nansum())
_mean = register(Mean())


@tensor_method()
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Sum over ``dim`` (an int, a tuple, or None for all); bool/int inputs give int64.

    >>> ember.tensor([[1, 2], [3, 4]]).sum(0)
    tensor([4, 6])
    """
    return apply(_sum, (input,), {"dims": _dims(dim, input.ndim, "sum"),
                                  "keepdim": bool(keepdim),
                                  "dtype": None if dtype is None else to_dtype(dtype)})


@tensor_method()
def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Mean over ``dim``; an empty reduction gives NaN and integer inputs raise, as in
    PyTorch."""
    return _mean(input, dims=_dims(dim, input.ndim, "mean"), keepdim=bool(keepdim),
                 dtype=None if dtype is None else to_dtype(dtype))


@tensor_method()
def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *,
           dtype: Any = None) -> Tensor:
    """Sum treating NaN as zero (NaN positions get zero gradient)."""
    return _nansum(input, dims=_dims(dim, input.ndim, "nansum"), keepdim=bool(keepdim),
                   dtype=None if dtype is None else to_dtype(dtype))


@tensor_method()
def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *,
            dtype: Any = None) -> Tensor:
    """Mean of the non-NaN elements (NaN where all are NaN)."""
    _require_float(input, "nanmean(): expected input to have floating point or complex "
                          "dtype but got {dtype}")
    if dtype is not None:
        input = input.to(dtype)
    return nansum(input, dim, keepdim) / sum(~_isnan(input), dim, keepdim)


@tensor_method()
def sum_to_size(input: Tensor, *size: Any) -> Tensor:
    """Sum ``input`` down to ``size``, which it must broadcast from (used by autograd to
    undo broadcasting)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = tuple(input.shape)
    lead = len(shape) - len(size)
    if lead < 0 or builtins.any(s != 1 and s != shape[lead + i] for i, s in enumerate(size)):
        raise RuntimeError(f"sum_to_size: size {list(size)} is not expandable to size "
                           f"{list(shape)}")
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                      if s == 1 and shape[lead + i] != 1)
    if not dims:
        return input
    out = _sum(input, dims=dims, keepdim=True, dtype=None)
    return out.reshape(size) if lead else out


# -- var, std ---------------------------------------------------------------------------------

class Var(Op):
    """Variance with ``correction`` (Bessel's correction is 1); NaN/inf when the count
    does not exceed the correction, as in PyTorch."""

    def check(self, x: Tensor, **attrs: Any) -> None:
        _require_float(x, f"{self.name}: std and var only support floating point and complex "
                          f"dtypes, got {{dtype}}")

    def forward(self, xp: Any, x: Any, *, dims: tuple, correction: float, keepdim: bool) -> Any:
        n = _count(x.shape, dims)
        d = x - xp.sum(x, axis=dims, keepdims=True) / x.dtype.type(n)
        ss = xp.sum(d * d, axis=dims, keepdims=keepdim)
        return ss / x.dtype.type(builtins.max(n - correction, 0))

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return self.grad(ctx, g)

    @staticmethod
    def grad(ctx: Any, g: Tensor) -> Tensor:
        """d var / d x applied to ``g`` (shared with std)."""
        a = ctx.attrs
        x = ctx.inputs[0]
        dims = a["dims"]
        dof = _count(tuple(x.shape), dims) - a["correction"]
        scale = 2.0 / dof if dof > 0 else math.inf
        centered = x - mean(x, dims, keepdim=True)
        return _keep(g, tuple(x.shape), dims, a["keepdim"]) * scale * centered


class Std(Var):
    saves_output = True

    def forward(self, xp: Any, x: Any, **attrs: Any) -> Any:
        return xp.sqrt(super().forward(xp, x, **attrs))

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        out = ctx.out
        # zero where std is 0 (PyTorch's choice), without 0/0 in the second derivative
        return self.grad(ctx, where(out == 0, 0, g / (2 * _nonzero_denominator(out))))


_var = register(Var())
_std = register(Std())


def _var_args(input: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any,
              op: str) -> dict:
    """Normalize both var signatures: ``(dim, unbiased, keepdim)`` and ``(dim, *,
    correction, keepdim)``; ``var(x, False)`` means unbiased=False."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{op}: cannot specify both unbiased and correction")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dict(dims=_dims(dim, input.ndim, op), correction=correction, keepdim=bool(keepdim))


@tensor_method()
def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    """Variance over ``dim`` with ``correction`` (default 1; ``unbiased=False`` means 0).

    >>> ember.tensor([1.0, 2.0, 3.0]).var()
    tensor(1.)
    """
    return _var(input, **_var_args(input, dim, unbiased, keepdim, correction, "var"))


@tensor_method()
def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    """Standard deviation over ``dim``; its gradient is 0 where it is 0, as in PyTorch."""
    return _std(input, **_var_args(input, dim, unbiased, keepdim, correction, "std"))


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    """``(var, mean)`` over ``dim``."""
    a = _var_args(input, dim, unbiased, keepdim, correction, "var_mean")
    return _var(input, **a), _mean(input, dims=a["dims"], keepdim=a["keepdim"], dtype=None)


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    """``(std, mean)`` over ``dim``."""
    a = _var_args(input, dim, unbiased, keepdim, correction, "std_mean")
    return _std(input, **a), _mean(input, dims=a["dims"], keepdim=a["keepdim"], dtype=None)


# -- max, min, argmax, argmin -----------------------------------------------------------------

class Amax(Op):
    """Maximum over ``dims``; the gradient is split evenly among the tied maxima."""

    saves_output = True
    fn = "max"

    def forward(self, xp: Any, x: Any, *, dims: tuple, keepdim: bool) -> Any:
        return getattr(xp, self.fn)(x, axis=dims, keepdims=keepdim)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        x = ctx.inputs[0]
        shape, dims, keepdim = tuple(x.shape), ctx.attrs["dims"], ctx.attrs["keepdim"]
        mask = (x == _keep(ctx.out, shape, dims, keepdim)).to(g.dtype)
        return _keep(g, shape, dims, keepdim) / mask.sum(dims, keepdim=True) * mask


class Amin(Amax):
    fn = "min"


class Argmax(Op):
    """Index of the first maximum along ``dim`` (of the flattened input for None)."""

    differentiable = False
    fn = "argmax"

    def forward(self, xp: Any, x: Any, *, dim: Any, keepdim: bool) -> Any:
        if dim is None or x.ndim == 0:
            i = getattr(xp, self.fn)(x)
            return xp.full((1,) * x.ndim if keepdim else (), i, dtype="int64")
        return getattr(xp, self.fn)(x, axis=dim, keepdims=keepdim).astype("int64")


class Argmin(Argmax):
    fn = "argmin"


class TakeAlong(Op):
    """``out[..., j, ...] = x[..., idx[..., j, ...], ...]`` along ``dim`` (sort, max...)."""

    saves = (1,)

    def forward(self, xp: Any, x: Any, idx: Any, *, dim: int) -> Any:
        return x.copy() if x.ndim == 0 else xp.take_along_axis(x, idx, axis=dim)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        idx = ctx.inputs[1]
        return _put_along(g, idx, dim=ctx.attrs["dim"], shape=ctx.edges[0][3]), None


class PutAlong(Op):
    """Zeros of ``shape`` with ``g`` written at ``idx`` along ``dim`` (indices distinct
    within each slice): the adjoint of :class:`TakeAlong`."""

    saves = (1,)

    def forward(self, xp: Any, g: Any, idx: Any, *, dim: int, shape: tuple) -> Any:
        if not shape:
            return g.copy()
        out = xp.zeros(shape, dtype=g.dtype)
        xp.put_along_axis(out, idx, g, axis=dim)
        return out

    def backward(self, ctx: Any, gg: Tensor) -> tuple:
        return _take_along(gg, ctx.inputs[1], dim=ctx.attrs["dim"]), None


_amax = register(Amax())
_amin = register(Amin())
_argmax = register(Argmax())
_argmin = register(Argmin())
_take_along = register(TakeAlong())
_put_along = register(PutAlong())


def take_along(input: Tensor, idx: Tensor, dim: int, keepdim: bool = True) -> Tensor:
    """Values of ``input`` at int64 ``idx`` along ``dim`` (``idx`` has input's rank);
    differentiable. With ``keepdim=False`` the (size-1) ``dim`` is squeezed."""
    out = _take_along(input, idx, dim=dim)
    return out if keepdim or input.ndim == 0 else out.squeeze(dim)


def _extreme(input: Tensor, dim: Any, keepdim: bool, op: str, reduce: Op,
             arg: Op) -> Any:
    """max/min: the value over all elements, ``(values, indices)`` along ``dim``, or the
    elementwise maximum/minimum with a tensor ``dim``."""
    if isinstance(dim, Tensor):
        from ember.ops import math as m     # owned by the math module, imported late
        return getattr(m, "maximum" if op == "max" else "minimum")(input, dim)
    if dim is None:
        _check_nonempty(input, (), True, op)
        return reduce(input, dims=tuple(range(input.ndim)), keepdim=False)
    d = norm_dim(dim, input.ndim, op)
    _check_nonempty(input, _one_dim(d, input.ndim, op), False, op)
    idx = arg(input, dim=d, keepdim=True)
    out = (take_along(input, idx, d, keepdim), idx if keepdim or not input.ndim
           else idx.squeeze(d))
    return return_type(op)(*out)


@tensor_method()
def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``max(x)``: the largest element (gradient split among ties); ``max(x, dim)``:
    ``(values, indices)``; ``max(x, other)``: the elementwise maximum.

    >>> ember.tensor([[1., 5.], [4., 2.]]).max(1)
    ember.return_types.max(values=tensor([5., 4.]), indices=tensor([1, 0]))
    """
    return _extreme(input, dim, keepdim, "max", _amax, _argmax)


@tensor_method()
def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """Like :func:`max`, for the smallest element."""
    return _extreme(input, dim, keepdim, "min", _amin, _argmin)


def _amax_like(input: Tensor, dim: Any, keepdim: bool, op: str, reduce: Op) -> Tensor:
    all_dims = dim is None or (isinstance(dim, (tuple, list)) and not dim)
    dims = _dims(dim, input.ndim, op)
    _check_nonempty(input, dims, all_dims, op)
    return reduce(input, dims=dims, keepdim=bool(keepdim))


@tensor_method()
def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (an int or tuple; ``()`` means all dims); the gradient is
    split evenly among ties."""
    return _amax_like(input, dim, keepdim, "amax", _amax)


@tensor_method()
def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim``; the gradient is split evenly among ties."""
    return _amax_like(input, dim, keepdim, "amin", _amin)


@tensor_method()
def aminmax(input: Tensor, *, dim: Any = None, keepdim: bool = False) -> Any:
    """``(min, max)`` over ``dim`` (all elements for None)."""
    op = "aminmax"
    dims = tuple(range(input.ndim)) if dim is None else _one_dim(dim, input.ndim, op)
    _check_nonempty(input, dims, dim is None, op)
    return return_type(op, ("min", "max"))(_amin(input, dims=dims, keepdim=bool(keepdim)),
                                           _amax(input, dims=dims, keepdim=bool(keepdim)))


def _arg_extreme(input: Tensor, dim: Any, keepdim: bool, op: str, arg: Op) -> Tensor:
    if input.dtype == bool_:
        raise RuntimeError(f"{op}(): does not support bool input")
    if dim is None:
        _check_nonempty(input, (), True, op, IndexError)
        return arg(input, dim=None, keepdim=bool(keepdim))
    d = norm_dim(dim, input.ndim, op)
    _check_nonempty(input, _one_dim(d, input.ndim, op), False, op)
    return arg(input, dim=d, keepdim=bool(keepdim))


@tensor_method()
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the first maximum along ``dim``, or in the flattened input.

    >>> ember.tensor([1., 7., 7.]).argmax()
    tensor(1)
    """
    return _arg_extreme(input, dim, keepdim, "argmax", _argmax)


@tensor_method()
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the first minimum along ``dim``, or in the flattened input."""
    return _arg_extreme(input, dim, keepdim, "argmin", _argmin)


# -- prod, logsumexp ---------------------------------------------------------------------------

class Prod(Op):
    """Product over ``dims``; the gradient is exact (also its second derivative) when the
    input holds zeros."""

    saves_output = True

    def forward(self, xp: Any, x: Any, *, dims: tuple, keepdim: bool, dtype: Any) -> Any:
        return xp.prod(x, axis=dims, keepdims=keepdim, dtype=_int_result(x, dtype))

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        x = ctx.inputs[0]
        shape, dims, keepdim = tuple(x.shape), ctx.attrs["dims"], ctx.attrs["keepdim"]
        g = _keep(g, shape, dims, keepdim)
        if not _may_hold_zeros(x):
            return g * _keep(ctx.out, shape, dims, keepdim) / x
        return g * _product_of_others(x, dims)


def _may_hold_zeros(x: Tensor) -> bool:
    """Whether the zero-safe gradient formulas are needed: ``x`` holds a zero, or a graph
    is being traced (its later inputs may hold zeros, and a graph cannot branch)."""
    return bool(trace_observers) or bool((x._data == 0).any())


def _product_of_others(x: Tensor, dims: tuple) -> Tensor:
    """For each element, the product of the other elements of its slice, written so that
    its first derivative is also exact with zeros present.

    With q the product of the nonzero elements and z the zero positions of a slice, the
    product of the others is ``q / x_i * prod(x_j for zeros j != i)``. The last factor is 1
    or 0 in value, but where it is a single zero element ``x_a`` it is written as ``x_a``
    (through a masked sum) so that its derivative is 1.
    """
    z = x == 0
    nz = z.to(x.dtype).sum(dims, keepdim=True)
    safe = where(z, 1, x)
    q = _prod(safe, dims=dims, keepdim=True, dtype=None)
    zsum = where(z, x, 0).sum(dims, keepdim=True)           # == 0, d/dx_a == 1
    other_zeros = where(z, where(nz == 1, 1, where(nz == 2, zsum - x, 0)),
                        where(nz == 0, 1, where(nz == 1, zsum, 0)))
    return q / safe * other_zeros


class Logsumexp(Op):
    """log(sum(exp(x))) over ``dims``, computed stably by shifting by the maximum."""

    promote = "float"
    saves_output = True

    def forward(self, xp: Any, x: Any, *, dims: tuple, keepdim: bool) -> Any:
        if x.size == 0:
            return xp.log(xp.sum(xp.exp(x), axis=dims, keepdims=keepdim))
        m = xp.max(x, axis=dims, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        s = xp.sum(xp.exp(x - m), axis=dims, keepdims=keepdim)
        return xp.log(s) + (m if keepdim else xp.squeeze(m, axis=dims))

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        x = ctx.inputs[0]
        shape, dims, keepdim = tuple(x.shape), ctx.attrs["dims"], ctx.attrs["keepdim"]
        return _keep(g, shape, dims, keepdim) * exp(x - _keep(ctx.out, shape, dims, keepdim))


_prod = register(Prod())
_logsumexp = register(Logsumexp())


@tensor_method()
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:
    """Product of all elements, or along ``dim``; bool/int inputs give int64.

    >>> ember.tensor([[1., 2.], [3., 4.]]).prod(1)
    tensor([ 2., 12.])
    """
    dims = tuple(range(input.ndim)) if dim is None else _one_dim(dim, input.ndim, "prod")
    return _prod(input, dims=dims, keepdim=bool(keepdim),
                 dtype=None if dtype is None else to_dtype(dtype))


@tensor_method()
def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input), dim))`` without overflow; integer inputs give floats."""
    return _logsumexp(input, dims=_dims(dim, input.ndim, "logsumexp"), keepdim=bool(keepdim))


# -- cumsum, cumprod --------------------------------------------------------------------------

def _scan(xp: Any, fn: str, x: Any, dim: int, reverse: bool, dtype: Any) -> Any:
    a = x.reshape(x.shape or (1,))
    if reverse:
        a = xp.flip(a, axis=dim)
    out = getattr(xp, fn)(a, axis=dim, dtype=_int_result(x, dtype))
    return (xp.flip(out, axis=dim) if reverse else out).reshape(x.shape)


class Cumsum(Op):
    """Running sum along ``dim`` (from the end when ``reverse``)."""

    saves = ()

    def forward(self, xp: Any, x: Any, *, dim: int, reverse: bool = False,
                dtype: Any = None) -> Any:
        return _scan(xp, "cumsum", x, dim, reverse, dtype)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return _cumsum(g, dim=ctx.attrs["dim"], reverse=not ctx.attrs.get("reverse", False))


class Cumprod(Op):
    """Running product along ``dim``; the gradient and its derivative are exact also with
    zeros in the input."""

    saves_output = True

    def forward(self, xp: Any, x: Any, *, dim: int, dtype: Any = None) -> Any:
        return _scan(xp, "cumprod", x, dim, False, dtype)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        x, dim = ctx.inputs[0], ctx.attrs["dim"]
        if not _may_hold_zeros(x):
            return _cumsum(g * ctx.out, dim=dim, reverse=True) / x
        # With k the first zero of a slice and late_i = sum_{j>=i} g_j prod_{l<=j, l!=k} x_l:
        # before k the usual formula holds, at k the gradient is late_k, and after k it is
        # x_k * late_i / x_i (0 in value, written so that its derivative in x_k is right);
        # at a second zero, late_i / x_i is the product skipping both zeros instead.
        zero = x == 0
        seen = _cumsum(zero, dim=dim)
        first, second = (seen == 1) & zero, (seen == 2) & zero
        safe = where(zero, 1, x)

        def tail(skip: Tensor) -> Tensor:
            return _cumsum(g * _cumprod(where(skip, 1, x), dim=dim), dim=dim, reverse=True)

        late = tail(first)
        x_k = where(first, x, 0).sum(dim, keepdim=True)
        after = x_k * where(second, tail(first | second), late / safe)
        early = _cumsum(g * ctx.out, dim=dim, reverse=True) / safe
        return where(seen == 0, early, where(first, late, after))


_cumsum = register(Cumsum())
_cumprod = register(Cumprod())


@tensor_method()
def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sum along ``dim``; bool/int inputs give int64.

    >>> ember.tensor([1, 2, 3]).cumsum(0)
    tensor([1, 3, 6])
    """
    return _cumsum(input, dim=norm_dim(dim, input.ndim, "cumsum"),
                   dtype=None if dtype is None else to_dtype(dtype))


@tensor_method()
def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running product along ``dim``; bool/int inputs give int64."""
    return _cumprod(input, dim=norm_dim(dim, input.ndim, "cumprod"),
                    dtype=None if dtype is None else to_dtype(dtype))


inplace_method(cumsum, "cumsum_")
inplace_method(cumprod, "cumprod_")


# -- norms ------------------------------------------------------------------------------------

class VectorNorm(Op):
    """``sum(|x|^p)^(1/p)`` over ``dims`` for finite ``p`` (p=0 counts nonzeros).

    The gradient follows PyTorch: 0 where the norm is 0 (p >= 1) or where x is 0 (p < 1).
    """

    saves_output = True

    def forward(self, xp: Any, x: Any, *, dims: tuple, keepdim: bool, p: float) -> Any:
        if p == 0:
            return xp.sum(x != 0, axis=dims, keepdims=keepdim).astype(x.dtype)
        if p == 2:
            return xp.sqrt(xp.sum(x * x, axis=dims, keepdims=keepdim))
        a = xp.abs(x)
        if p == 1:
            return xp.sum(a, axis=dims, keepdims=keepdim)
        return xp.sum(a ** p, axis=dims, keepdims=keepdim) ** (1 / p)

    def backward(self, ctx: Any, g: Tensor) -> Any:
        p = ctx.attrs["p"]
        if p == 0:
            return None
        x = ctx.inputs[0]
        shape, dims, keepdim = tuple(x.shape), ctx.attrs["dims"], ctx.attrs["keepdim"]
        g = _keep(g, shape, dims, keepdim)
        if p == 1:
            return g * _sign(x)
        n = _nonzero_denominator(_keep(ctx.out, shape, dims, keepdim))
        if p == 2:
            return g * x / n
        if p >= 2:
            d = x * _abs(x) ** (p - 2)
        elif p >= 1:
            d = _sign(x) * _abs(x) ** (p - 1)
        else:
            d = _sign(x) * where(x == 0, 1, _abs(x)) ** (p - 1)
        return g * d / n ** (p - 1)


_vector_norm = register(VectorNorm())


@tensor_method()
def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False,
         dtype: Any = None) -> Tensor:
    """``torch.norm``: the Frobenius norm (``p='fro'``) or a vector p-norm over ``dim``
    (all elements for None); ``p`` may be any number, ``inf`` or ``-inf``.

    >>> ember.tensor([3., 4.]).norm()
    tensor(5.)
    """
    if isinstance(p, str):
        if p == "nuc":
            raise NotImplementedError("norm: the nuclear norm (p='nuc') is not implemented")
        if p != "fro":
            raise RuntimeError(f"norm: invalid p={p!r}; expected 'fro', 'nuc' or a number")
        if not (dim is None or isinstance(dim, int) or len(dim) <= 2):
            raise RuntimeError(f"norm: the Frobenius norm takes at most 2 dims, got dim={dim}")
        p = 2
    elif p is None:
        p = 2
    if dtype is not None:
        input = input.to(dtype)
    _require_float(input, "linalg.vector_norm: Expected a floating point or complex tensor as "
                          "input. Got {dtype}")
    dims = _dims(dim, input.ndim, "norm")
    if input.numel() == 0 and (p < 0 or math.isinf(p)):
        raise RuntimeError(f"linalg.vector_norm cannot compute the {p} norm on an empty "
                           f"tensor because the operation does not have an identity")
    if math.isinf(p):
        return (_amax if p > 0 else _amin)(_abs(input), dims=dims, keepdim=bool(keepdim))
    return _vector_norm(input, dims=dims, keepdim=bool(keepdim), p=float(p))


# -- all, any, count_nonzero ------------------------------------------------------------------

class All(Op):
    """Logical and over ``dims``; bool result (uint8 for uint8 inputs, as in PyTorch)."""

    differentiable = False
    fn = "all"

    def forward(self, xp: Any, x: Any, *, dims: tuple, keepdim: bool) -> Any:
        out = getattr(xp, self.fn)(x, axis=dims, keepdims=keepdim)
        return out.astype(x.dtype) if x.dtype == "uint8" else out


class Any_(All):
    name = "any"
    fn = "any"


class CountNonzero(Op):
    differentiable = False

    def forward(self, xp: Any, x: Any, *, dims: tuple) -> Any:
        return xp.sum(x != 0, axis=dims, dtype="int64")


_all = register(All())
_any = register(Any_())
_count_nonzero = register(CountNonzero())


@tensor_method()
def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where every element over ``dim`` is nonzero (an empty reduction is True)."""
    dims = tuple(range(input.ndim)) if dim is None else norm_dims(dim, input.ndim, "all")
    return _all(input, dims=dims, keepdim=bool(keepdim))


@tensor_method()
def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where some element over ``dim`` is nonzero (an empty reduction is False)."""
    dims = tuple(range(input.ndim)) if dim is None else norm_dims(dim, input.ndim, "any")
    return _any(input, dims=dims, keepdim=bool(keepdim))


@tensor_method()
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """Number (int64) of nonzero elements over ``dim`` (all dims for None)."""
    return _count_nonzero(input, dims=_dims(dim, input.ndim, "count_nonzero"))
