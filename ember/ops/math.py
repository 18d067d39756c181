"""Pointwise math: exponentials, logarithms, trigonometry, special functions, rounding,
clamping, min/max, floating-point predicates and a few fused multiply-add forms.

Result dtypes follow PyTorch: "floating" functions (exp, sin, sigmoid, erf...) turn integer
and bool inputs into the default float dtype; abs, sign, rounding, clamp and min/max keep
integer dtypes. Gradients at kinks match PyTorch (``abs'(0) = 0``, clamp passes the
gradient on its inclusive bounds, maximum/minimum split it evenly at ties).
"""
from __future__ import annotations

import functools
import math as _m
from typing import Any, Callable

import numpy as np

from ember.backend import jit
from ember.backend.dtypes import result_type
from ember.ops import _fast_math_kernels as _fk
from ember.ops.creation import zeros_like
from ember.ops.elementwise import where
from ember.ops.inplace import inplace_method
from ember.ops.registry import Op, register, tensor_method
from ember.tensor import Tensor

__all__ = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
           "square", "reciprocal", "abs", "absolute", "sign", "sgn",
           "sin", "cos", "tan", "asin", "acos", "atan", "arcsin", "arccos", "arctan",
           "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "arcsinh", "arccosh",
           "arctanh", "atan2", "arctan2", "sigmoid", "erf", "erfc", "erfinv",
           "floor", "ceil", "round", "trunc", "fix", "frac",
           "clamp", "clip", "clamp_min", "clamp_max", "maximum", "minimum", "fmax", "fmin",
           "isnan", "isinf", "isfinite", "isposinf", "isneginf", "nan_to_num",
           "lerp", "addcmul", "addcdiv", "hypot", "logaddexp", "logaddexp2", "xlogy"]

_ALL = "biufV"          # NumPy dtype kinds; bfloat16 (ml_dtypes) has kind "V"
_NUMERIC = "iufV"
_FLOATING = "fV"
_LN2, _LN10 = _m.log(2.0), _m.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / _m.sqrt(_m.pi)
#: below this many elements the NumPy passes are as quick as calling a compiled loop
_FAST_MIN_SIZE = 4096


# -- erf and friends in pure NumPy --------------------------------------------------------
# erfc(z) = t * h(t) * exp(-z*z) for z >= 0, with t = 4 / (4 + z) in (0, 1]. h is smooth
# on [0, 1] (h(0) = 1 / (4 sqrt(pi)), h(1) = 1), so a short Chebyshev series in u = 2t - 1
# gives it to double precision. The coefficients were computed with mpmath at 40 digits
# (Chebyshev interpolation of erfcx(z) / t at 80 nodes); the first 12 suffice in float32.
_ERFC_CHEB = (
    0.40802446954913146, 0.37635823567636745, 0.14758035457222363, 0.049571317930027586,
    0.014227107557117175, 0.003443493262717524, 0.000682254183283808, 0.00010340451975756189,
    9.72854595199015e-06, -1.1988713758412045e-07, -2.1747767703449563e-07,
    -3.0291767735991394e-08, 9.47991756520455e-10, 8.633411694990956e-10,
    6.872156425953403e-11, -1.7034898438296277e-11, -3.3921306868290887e-12,
    2.6158087668540244e-13, 1.212767580310864e-13, -2.114689543244809e-15,
    -4.117340933404178e-15, -6.328712721700708e-17, 1.4393110983449846e-16)
# erf(x) = x * sum_n c_n x^(2n), c_n = 2/sqrt(pi) (-1)^n / (n! (2n+1)), used for |x| < 0.5
# where 1 - erfc(x) would lose relative precision.
_ERF_TAYLOR = tuple(_TWO_OVER_SQRT_PI * (-1) ** n / (_m.factorial(n) * (2 * n + 1))
                    for n in range(12))


def _erfc_terms_loop(x: Any, c: Any, coef: Any, k: Any, h: Any, e1: Any, e2: Any) -> None:
    """The part of :func:`_erfc_nonneg` before its ``exp``, for ``z = |x * c|``, as one
    numba pass: ``h = t * h(t)`` and the exponent ``-z*z`` into ``e1`` (or, when ``e2``
    is not empty, its exact part into ``e1`` and the rest into ``e2``). ``k`` holds 4, 2,
    0.5, 30 and 0 in x's dtype, so the arithmetic stays in that dtype, step for step as
    in the NumPy code. Works in blocks that stay in L1, with the element loop innermost
    (so that LLVM vectorizes it)."""
    split = e2.shape[0] > 0
    block = 512
    z = np.empty(block, x.dtype)
    t = np.empty(block, x.dtype)
    u2 = np.empty(block, x.dtype)
    b1 = np.empty(block, x.dtype)
    b2 = np.empty(block, x.dtype)
    for start in range(0, x.shape[0], block):
        m = min(block, x.shape[0] - start)
        _chebyshev_block(x, start, m, c, coef, k, z, t, u2, b1, b2)
        for i in range(m):
            zi = z[i]
            if split:
                zh = np.float64(np.float32(zi))
                e1[start + i] = -(zh * zh)
                e2[start + i] = (zh - zi) * (zh + zi)
            else:
                e1[start + i] = -(zi * zi)
        c0 = coef[0]
        for i in range(m):
            h[start + i] = (u2[i] * b1[i] * k[2] - b2[i] + c0) * t[i]


_TERMS_HELPERS = {"_chebyshev_block": _fk.chebyshev_block_loop}   # bound by jit.kernel
_chebyshev_block: Any = None


def _erfc_finish_loop(x: Any, c: Any, h: Any, e: Any, k: Any, gelu: bool, out: Any) -> None:
    """``out = erfc(x * c)`` from the terms and ``e = exp(...)``; with ``gelu``, times
    ``x * 0.5`` (GELU's ``0.5 * x * erfc(-x / sqrt 2)``). The NumPy code's order."""
    two, half = k[1], k[2]
    for i in range(x.shape[0]):
        ei = h[i] * e[i]
        r = two - ei if x[i] * c < 0 else ei
        out[i] = r * x[i] * half if gelu else r


def _gelu_slope_loop(x: Any, c: Any, h: Any, e: Any, k: Any, pdf_scale: Any, g: Any,
                     out: Any) -> None:
    """``out = g * (0.5 * erfc(x * c) + x * pdf(x))`` from the terms of ``erfc(x * c)``
    (``c = -1/sqrt 2``) and ``e = exp(-(x * c)**2)``, which is ``pdf(x) / pdf_scale``."""
    two, half = k[1], k[2]
    for i in range(x.shape[0]):
        ei = h[i] * e[i]
        r = two - ei if x[i] * c < 0 else ei
        out[i] = g[i] * (r * half + x[i] * (e[i] * pdf_scale))


def gelu_slope_fast(g: Any, x: Any, c: float, pdf_scale: float) -> Any:
    """``g * gelu'(x)`` for exact GELU with numba (float32: one pass; float64: erfc's
    terms, NumPy's ``exp``, one finishing pass), or None where it cannot run (see
    :func:`_erfc_fast`)."""
    if g.__class__ is not np.ndarray or g.shape != x.shape or g.dtype != x.dtype:
        return None
    if x.dtype == np.float32:
        return _erfc32(x, c, _fk.GELU_SLOPE, g, pdf_scale)
    parts = _erfc_parts(x, c)
    if parts is None:
        return None
    flat, scale, h, e = parts
    jit.kernel(_gelu_slope_loop)(flat, scale, h, e, _ERFC_CONSTS[x.dtype][1],
                                 x.dtype.type(pdf_scale),
                                 np.ascontiguousarray(g).reshape(-1), h)
    return h.reshape(x.shape)


def gelu_exact_fast(x: Any) -> Any:
    """Exact GELU ``x * Phi(x)`` with numba: float32 in one pass of a rational erf
    (:func:`ember.ops._fast_math_kernels.gelu32_loop`), float64 as
    ``erfc(-x / sqrt 2) * x * 0.5`` (see :func:`_erfc_fast`); None where it cannot run."""
    if x.dtype != np.float32:
        return _erfc_fast(x, -_m.sqrt(0.5), True)
    return _pass32(_fk.gelu32_loop, x)


def _pass32(loop: Any, x: Any, *args: Any) -> Any:
    """``loop(flat x, *args, out)`` for a float32 NumPy array ``x`` of at least
    :data:`_FAST_MIN_SIZE` elements, with numba; None otherwise."""
    if x.__class__ is not np.ndarray or x.size < _FAST_MIN_SIZE:
        return None
    k = _fk.kernel(loop)
    if k is None:
        return None
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    k(flat, *args, out)
    return out.reshape(x.shape)


def _erfc32(x: Any, c: float, mode: int, g: Any = None, pdf_scale: float = 0.0) -> Any:
    """For a float32 NumPy array of at least :data:`_FAST_MIN_SIZE` elements, with
    numba: :func:`ember.ops._fast_math_kernels.erfc32_loop`'s one pass (``mode`` says what
    it writes); None otherwise."""
    g = _NO_G if g is None else np.ascontiguousarray(g).reshape(-1)
    return _pass32(_fk.erfc32_loop, x, np.float32(c), *_ERFC_CONSTS[np.dtype(np.float32)],
                   mode, g, np.float32(pdf_scale))


_NO_G = np.empty(0, np.float32)          # erfc32_loop's "no upstream gradient"


_ERFC_CONSTS = {np.dtype(d): (np.array(_ERFC_CHEB[:n], d), np.array((4, 2, 0.5, 30, 0), d))
                for d, n in ((np.float32, 12), (np.float64, len(_ERFC_CHEB)))}


def _erfc_parts(x: Any, c: float) -> tuple | None:
    """For a float64 (or float32) NumPy array ``x`` of at least :data:`_FAST_MIN_SIZE`
    elements, with numba: ``(x flat, c in x's dtype, t h(t), exp(-z*z))`` for
    ``z = |x * c|`` (erfc_nonneg(z) is their product); None otherwise."""
    consts = _ERFC_CONSTS.get(x.dtype)
    if consts is None or x.__class__ is not np.ndarray or x.size < _FAST_MIN_SIZE:
        return None
    terms = jit.kernel(_erfc_terms_loop, _TERMS_HELPERS)
    if terms is None:
        return None
    flat = np.ascontiguousarray(x).reshape(-1)
    scale = x.dtype.type(c)
    h, e1 = np.empty_like(flat), np.empty_like(flat)
    e2 = np.empty_like(flat) if x.dtype.itemsize >= 8 else flat[:0]
    terms(flat, scale, *consts, h, e1, e2)
    np.exp(e1, out=e1)
    if e2.size:
        np.exp(e2, out=e2)
        e1 *= e2
    return flat, scale, h, e1


def _erfc_fast(x: Any, c: float, finish: bool | None) -> Any:
    """With numba (see :func:`_erfc_parts`; float32 in one pass, :func:`_erfc32`):
    ``erfc_nonneg(|x * c|)`` (``finish`` None), ``erfc(x * c)`` (False) or, for float64,
    ``erfc(x * c) * x * 0.5`` (True); None where it cannot run (the caller runs NumPy)."""
    if x.dtype == np.float32:
        mode = _fk.ERFC_NONNEG if finish is None else _fk.ERFC
        return None if finish else _erfc32(x, c, mode)
    parts = _erfc_parts(x, c)
    if parts is None:
        return None
    flat, scale, h, e = parts
    if finish is None:
        h *= e
    else:
        jit.kernel(_erfc_finish_loop)(flat, scale, h, e, _ERFC_CONSTS[x.dtype][1], finish, h)
    return h.reshape(x.shape)


def _erfc_nonneg(xp: Any, z: Any) -> Any:
    """erfc(z) for z >= 0 (nan and inf allowed), in z's dtype."""
    fast = _erfc_fast(z, 1.0, None)
    if fast is not None:
        return fast
    coef = _ERFC_CHEB if z.dtype.itemsize >= 8 else _ERFC_CHEB[:12]
    z = xp.minimum(z, 30.0)     # erfc(30) underflows to 0 anyway; keeps inf out (nan stays)
    t = 4 / (4 + z)
    u2 = 4 * t - 2
    b1 = xp.zeros_like(z)
    b2 = xp.zeros_like(z)
    for c in coef[:0:-1]:                   # Clenshaw recurrence, highest degree first
        b0 = u2 * b1
        b0 -= b2
        b0 += c
        b1, b2 = b0, b1
    h = u2 * b1
    h *= 0.5
    h -= b2
    h += coef[0]
    h *= t
    if z.dtype.itemsize >= 8:   # exp(-z*z) with z*z split into an exact part and a small rest
        zh = z.astype("float32").astype(z.dtype)
        h *= xp.exp(-(zh * zh)) * xp.exp((zh - z) * (zh + z))
    else:
        h *= xp.exp(-(z * z))
    return h


def _erf_small(xp: Any, x: Any) -> Any:
    coef = _ERF_TAYLOR if x.dtype.itemsize >= 8 else _ERF_TAYLOR[:7]
    x2 = x * x
    acc = xp.full_like(x, coef[-1])
    for c in coef[-2::-1]:
        acc *= x2
        acc += c
    return acc * x


def _flat(fn: Callable) -> Callable:
    """Run ``fn`` on a 1-d view (NumPy turns 0-d results into scalars, which the masked
    updates below cannot write to)."""
    @functools.wraps(fn)
    def run(xp: Any, x: Any) -> Any:
        return fn(xp, x.reshape(-1)).reshape(x.shape)
    return run


@_flat
def erf_array(xp: Any, x: Any) -> Any:
    """erf of a float32/float64 array."""
    z = xp.abs(x)
    out = 1 - _erfc_nonneg(xp, z)
    out = xp.copysign(out, x)
    small = z < 0.5
    if small.any():
        out[small] = _erf_small(xp, x[small])
    return out


@_flat
def erfc_array(xp: Any, x: Any) -> Any:
    """erfc of a float32/float64 array."""
    fast = _erfc_fast(x, 1.0, False)
    if fast is not None:
        return fast
    e = _erfc_nonneg(xp, xp.abs(x))
    return xp.where(x < 0, 2 - e, e)


@_flat
def erfinv_array(xp: Any, y: Any, steps: int = 2) -> Any:
    """Inverse of erf on [-1, 1], in float64: Winitzki's closed-form estimate (relative
    error < 2e-3), then Halley steps (each triples the correct digits) on erf(x) - |y|,
    written as (1 - |y|) - erfc(x) for |y| >= 0.5 so that the tails stay exact."""
    a = xp.abs(y.astype("float64"))
    w = xp.log((1 - a) * (1 + a))
    p = 2 / (_m.pi * 0.147) + w / 2
    x = xp.sqrt(xp.sqrt(p * p - w / 0.147) - p)
    low = a < 0.5
    for part, residual in ((low, lambda x, a: _erf_small(xp, x) - a),
                           (~low, lambda x, a: (1 - a) - _erfc_nonneg(xp, x))):
        xs, az = x[part], a[part]
        for _ in range(steps):
            f = residual(xs, az)
            xs = xs - f / (_TWO_OVER_SQRT_PI * xp.exp(-(xs * xs)) + xs * f)
        x[part] = xs
    x[a == 1] = xp.inf
    return xp.copysign(x, y).astype(y.dtype)


class _Pointwise(Op):
    """Base of this file's ops: inputs whose computation dtype (the promoted one, for
    ops that promote) has a kind outside ``accepts`` are refused with PyTorch's error type."""

    accepts = _ALL

    def check(self, *args: Any, **attrs: Any) -> None:
        accepts = self.accepts
        for a in args:              # fast path: every input's own kind is accepted, so the
            if isinstance(a, Tensor):   # promoted one (the highest of them) is too
                if a._data.dtype.kind not in accepts:
                    break
            elif a is not None and not (isinstance(a, float) and "f" in accepts):
                break
        else:
            return
        if self.promote is None:
            dtypes = [a.dtype for a in args if isinstance(a, Tensor)]
        else:
            dtypes = [result_type(*(a for a in args if a is not None))]
        for d in dtypes:
            if d.np.kind not in self.accepts:
                raise NotImplementedError(f"{self.name}: not implemented for {d.name} "
                                          f"tensors")


class _Unary(_Pointwise):
    fn: Callable = None         # (xp, x, **attrs) -> array
    grad: Callable = None       # (g, x, y, **attrs) -> Tensor; None: zero gradient

    def forward(self, xp: Any, x: Any, **attrs: Any) -> Any:
        return self.fn(xp, x, **attrs)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        if self.grad is None:
            return zeros_like(g)
        return self.grad(g, ctx.inputs[0], ctx.out if self.saves_output else None,
                         **ctx.attrs)


def _unary(name: str, fn: Callable, grad: Callable | None = None, *, uses: str = "x",
           promote: str | None = "float", accepts: str = _ALL) -> Op:
    """Register a one-input op. ``grad(g, x, y)`` reads the input ``x`` when ``uses`` is
    ``"x"`` and the output ``y`` when it is ``"y"`` (only that one is kept for backward)."""
    cls = type(name.title().replace("_", ""), (_Unary,), dict(
        name=name, fn=staticmethod(fn), grad=grad and staticmethod(grad), promote=promote,
        accepts=accepts, saves=(0,) if grad and uses == "x" else (),
        saves_output=bool(grad) and uses == "y"))
    return register(cls())


def _low_precision(fn: Callable) -> Callable:
    """Run ``fn`` in float32 for float16/bfloat16 arrays (cast back afterwards)."""
    def run(xp: Any, x: Any) -> Any:
        if x.dtype.itemsize < 4:
            return fn(xp, x.astype("float32")).astype(x.dtype)
        return fn(xp, x)
    return run


def _keep_int(fn: Callable) -> Callable:
    """Rounding functions return integer inputs unchanged (as a new array)."""
    def run(xp: Any, x: Any, **attrs: Any) -> Any:
        return x.copy() if x.dtype.kind in "iu" else fn(xp, x, **attrs)
    return run


def _sign(xp: Any, x: Any) -> Any:
    if x.dtype.kind == "b":
        return x.copy()
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)   # sign(nan) = 0, as torch


def _round(xp: Any, x: Any, *, decimals: int = 0) -> Any:
    if decimals == 0:
        return xp.round(x)
    if decimals > 0:
        scale = x.dtype.type(10.0 ** decimals)
        return xp.round(x * scale) / scale
    scale = x.dtype.type(10.0 ** -decimals)
    return xp.round(x / scale) * scale


def _sigmoid(xp: Any, x: Any) -> Any:
    return 1 / (1 + xp.exp(-x))     # exp overflowing to inf gives exactly 0


# -- unary ops ---------------------------------------------------------------------------
exp = _unary("exp", lambda xp, x: xp.exp(x), lambda g, x, y: g * y, uses="y")
exp2 = _unary("exp2", lambda xp, x: xp.exp2(x), lambda g, x, y: g * y * _LN2, uses="y")
expm1 = _unary("expm1", lambda xp, x: xp.expm1(x), lambda g, x, y: g * (y + 1), uses="y")
log = _unary("log", lambda xp, x: xp.log(x), lambda g, x, y: g / x)
log2 = _unary("log2", lambda xp, x: xp.log2(x), lambda g, x, y: g / (x * _LN2))
log10 = _unary("log10", lambda xp, x: xp.log10(x), lambda g, x, y: g / (x * _LN10))
log1p = _unary("log1p", lambda xp, x: xp.log1p(x), lambda g, x, y: g / (x + 1))
sqrt = _unary("sqrt", lambda xp, x: xp.sqrt(x), lambda g, x, y: g / (2 * y), uses="y")
rsqrt = _unary("rsqrt", lambda xp, x: 1 / xp.sqrt(x), lambda g, x, y: g * y * y * y * -0.5,
               uses="y")
reciprocal = _unary("reciprocal", lambda xp, x: xp.reciprocal(x), lambda g, x, y: -g * y * y,
                    uses="y")
sin = _unary("sin", lambda xp, x: xp.sin(x), lambda g, x, y: g * cos(x))
cos = _unary("cos", lambda xp, x: xp.cos(x), lambda g, x, y: -g * sin(x))
tan = _unary("tan", lambda xp, x: xp.tan(x), lambda g, x, y: g * (y * y + 1), uses="y")
asin = _unary("asin", lambda xp, x: xp.arcsin(x), lambda g, x, y: g * rsqrt(1 - x * x))
acos = _unary("acos", lambda xp, x: xp.arccos(x), lambda g, x, y: -g * rsqrt(1 - x * x))
atan = _unary("atan", lambda xp, x: xp.arctan(x), lambda g, x, y: g / (x * x + 1))
sinh = _unary("sinh", lambda xp, x: xp.sinh(x), lambda g, x, y: g * cosh(x))
cosh = _unary("cosh", lambda xp, x: xp.cosh(x), lambda g, x, y: g * sinh(x))
tanh = _unary("tanh", lambda xp, x: xp.tanh(x), lambda g, x, y: g * (1 - y * y), uses="y")
asinh = _unary("asinh", lambda xp, x: xp.arcsinh(x), lambda g, x, y: g * rsqrt(x * x + 1))
acosh = _unary("acosh", lambda xp, x: xp.arccosh(x), lambda g, x, y: g * rsqrt(x * x - 1))
atanh = _unary("atanh", lambda xp, x: xp.arctanh(x), lambda g, x, y: g / (1 - x * x))
sigmoid = _unary("sigmoid", _sigmoid, lambda g, x, y: g * y * (1 - y), uses="y")
erf = _unary("erf", _low_precision(erf_array),
             lambda g, x, y: g * exp(-x * x) * _TWO_OVER_SQRT_PI)
erfc = _unary("erfc", _low_precision(erfc_array),
              lambda g, x, y: g * exp(-x * x) * -_TWO_OVER_SQRT_PI)
erfinv = _unary("erfinv", erfinv_array,
                lambda g, x, y: g * exp(y * y) * (_m.sqrt(_m.pi) / 2), uses="y")
frac = _unary("frac", lambda xp, x: x - xp.trunc(x), lambda g, x, y: g, uses="",
              promote=None, accepts=_FLOATING)
abs = _unary("abs", lambda xp, x: xp.abs(x), lambda g, x, y: g * sign(x), promote=None,
             accepts=_NUMERIC)
sign = _unary("sign", _sign, promote=None)
floor = _unary("floor", _keep_int(lambda xp, x: xp.floor(x)), promote=None, accepts=_NUMERIC)
ceil = _unary("ceil", _keep_int(lambda xp, x: xp.ceil(x)), promote=None, accepts=_NUMERIC)
trunc = _unary("trunc", _keep_int(lambda xp, x: xp.trunc(x)), promote=None, accepts=_NUMERIC)
_round_op = _unary("round", _keep_int(_round), promote=None, accepts=_NUMERIC)
_nan_to_num = _unary("nan_to_num", lambda xp, x, **kw: xp.nan_to_num(x, **kw),
                     lambda g, x, y, **kw: where(isfinite(x), g, 0.0), promote=None)

absolute, sgn, fix = abs, sign, trunc
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even, to ``decimals`` decimal places (negative: left of the point).

    >>> ember.round(ember.tensor([1.25, -0.5]), decimals=1)
    tensor([ 1.2000, -0.0000])
    """
    if decimals != 0 and isinstance(input, Tensor) and not input.is_floating_point():
        raise NotImplementedError(f"round: decimals={decimals} is not implemented for "
                                  f"{input.dtype.name} tensors")
    return _round_op(input, decimals=int(decimals))


def square(input: Tensor) -> Tensor:
    """``input * input`` (bool becomes int64, like ``input ** 2`` in PyTorch)."""
    return input ** 2


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """Replace NaN by ``nan`` and infinities by ``posinf`` / ``neginf`` (default: the
    dtype's largest / lowest finite value). The gradient is zero where input is not finite."""
    return _nan_to_num(input, nan=nan, posinf=posinf, neginf=neginf)


# -- predicates (bool results, no gradient) -----------------------------------------------
class _Predicate(_Pointwise):
    differentiable = False
    fn = ""
    for_exact = False           # the answer for integer and bool inputs

    def forward(self, xp: Any, x: Any) -> Any:
        if x.dtype.kind in "fV":
            return getattr(xp, self.fn)(x.astype("float32") if x.dtype.kind == "V" else x)
        return xp.full(x.shape, self.for_exact)


def _predicate(name: str, exact: bool = False) -> Op:
    return register(type(name.title(), (_Predicate,), dict(name=name, fn=name,
                                                             for_exact=exact))())


isnan = _predicate("isnan")
isinf = _predicate("isinf")
isfinite = _predicate("isfinite", True)
isposinf = _predicate("isposinf")
isneginf = _predicate("isneginf")


# -- clamp ---------------------------------------------------------------------------------
class Clamp(_Pointwise):
    """``clamp(x, lo, hi)``; either bound may be None, a number or a tensor."""

    promote = "same"
    accepts = _ALL

    def check(self, x: Any, lo: Any, hi: Any) -> None:
        if lo is None and hi is None:
            raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
        if lo is not None and hi is not None and isinstance(lo, Tensor) != isinstance(hi,
                                                                                      Tensor):
            raise TypeError(f"clamp: min and max must both be tensors or both be numbers, "
                            f"got {type(lo).__name__} and {type(hi).__name__}")

    def forward(self, xp: Any, x: Any, lo: Any, hi: Any) -> Any:
        if lo is not None:
            x = xp.maximum(x, lo)
        return x if hi is None else xp.minimum(x, hi)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, lo, hi = ctx.inputs
        if lo is None:
            keep, g_lo, g_hi = x <= hi, None, x > hi
        elif hi is None:
            keep, g_lo, g_hi = x >= lo, x < lo, None
        else:   # the gradient goes to the bound that decides the result, as in PyTorch
            keep = (x >= lo) & (x <= hi)
            g_lo = (x < lo) & (lo < hi)
            g_hi = (x > hi) | (hi < lo)
        return (where(keep, g, 0.0) if ctx.edges[0] else None,
                where(g_lo, g, 0.0) if ctx.edges[1] else None,
                where(g_hi, g, 0.0) if ctx.edges[2] else None)


_clamp = register(Clamp())


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit ``input`` to ``[min, max]`` (numbers or tensors; either may be None but not
    both). The gradient passes where ``min <= input <= max``.

    >>> ember.clamp(ember.tensor([-2.0, 0.5, 3.0]), min=0, max=1)
    tensor([0.0000, 0.5000, 1.0000])
    """
    return _clamp(input, min, max)


def clamp_min(input: Tensor, min: Any) -> Tensor:
    """``clamp(input, min=min)``."""
    return _clamp(input, min, None)


def clamp_max(input: Tensor, max: Any) -> Tensor:
    """``clamp(input, max=max)``."""
    return _clamp(input, None, max)


clip = clamp


# -- binary ops ----------------------------------------------------------------------------
class _Binary(_Pointwise):
    """Two inputs; ``tensors_only`` ops refuse Python numbers like PyTorch does."""

    promote = "same"
    tensors_only = True
    fn: Callable = None         # (xp, x, y) -> array
    grad: Callable = None       # (g, x, y, out) -> (gx, gy)

    def check(self, x: Any, y: Any) -> None:
        if self.tensors_only:
            for pos, a in ((1, x), (2, y)):
                if not isinstance(a, Tensor):
                    raise TypeError(f"{self.name}(): argument '{('input', 'other')[pos - 1]}' "
                                    f"(position {pos}) must be Tensor, not "
                                    f"{type(a).__name__}")
        super().check(x, y)

    def forward(self, xp: Any, x: Any, y: Any) -> Any:
        return self.fn(xp, x, y)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, y = ctx.inputs
        gx, gy = self.grad(g, x, y, ctx.out if self.saves_output else None)
        return (gx if ctx.edges[0] else None), (gy if ctx.edges[1] else None)


def _binary(name: str, fn: Callable, grad: Callable, *, promote: str = "same",
            accepts: str = _ALL, uses_out: bool = False, tensors_only: bool = True) -> Op:
    cls = type(name.title().replace("_", ""), (_Binary,), dict(
        name=name, fn=staticmethod(fn), grad=staticmethod(grad), promote=promote,
        accepts=accepts, saves_output=uses_out, tensors_only=tensors_only))
    return register(cls())


def _max_grad(g: Tensor, x: Tensor, y: Tensor, out: Any) -> tuple:
    half = where(x == y, g / 2, g)      # ties share the gradient evenly
    return where(x < y, 0.0, half), where(x > y, 0.0, half)


def _min_grad(g: Tensor, x: Tensor, y: Tensor, out: Any) -> tuple:
    half = where(x == y, g / 2, g)
    return where(x > y, 0.0, half), where(x < y, 0.0, half)


def _fmax_grad(g: Tensor, x: Tensor, y: Tensor, out: Any) -> tuple:
    take_x = (x >= y) | isnan(y)
    return where(take_x, g, 0.0), where(take_x, 0.0, g)


def _fmin_grad(g: Tensor, x: Tensor, y: Tensor, out: Any) -> tuple:
    take_x = (x <= y) | isnan(y)
    return where(take_x, g, 0.0), where(take_x, 0.0, g)


def _atan2_grad(g: Tensor, x: Tensor, y: Tensor, out: Any) -> tuple:
    r = g / (x * x + y * y)
    return r * y, -r * x


def _xlogy(xp: Any, x: Any, y: Any) -> Any:
    out = x * xp.log(y)
    return xp.where((x == 0) & ~xp.isnan(y), x.dtype.type(0), out)


def _xlogy_grad(g: Tensor, x: Tensor, y: Tensor, out: Any) -> tuple:
    return where((x == 0) & (y <= 0), 0.0, g * log(y)), g * x / y


def _logaddexp_grad(base: float) -> Callable:
    def grad(g: Tensor, x: Tensor, y: Tensor, out: Any) -> tuple:
        d = (x - y) * base
        return g * sigmoid(d), g * sigmoid(-d)
    return grad


maximum = _binary("maximum", lambda xp, x, y: xp.maximum(x, y), _max_grad)
minimum = _binary("minimum", lambda xp, x, y: xp.minimum(x, y), _min_grad)
fmax = _binary("fmax", lambda xp, x, y: xp.fmax(x, y), _fmax_grad)
fmin = _binary("fmin", lambda xp, x, y: xp.fmin(x, y), _fmin_grad)
atan2 = _binary("atan2", lambda xp, x, y: xp.arctan2(x, y), _atan2_grad, promote="float")
hypot = _binary("hypot", lambda xp, x, y: xp.hypot(x, y),
                lambda g, x, y, out: (g * x / out, g * y / out), accepts=_FLOATING,
                uses_out=True)
logaddexp = _binary("logaddexp", lambda xp, x, y: xp.logaddexp(x, y), _logaddexp_grad(1.0),
                    accepts=_FLOATING)
logaddexp2 = _binary("logaddexp2", lambda xp, x, y: xp.logaddexp2(x, y),
                     _logaddexp_grad(_LN2), accepts=_FLOATING)
xlogy = _binary("xlogy", _xlogy, _xlogy_grad, promote="float", tensors_only=False)
arctan2 = atan2


# -- lerp, addcmul, addcdiv ----------------------------------------------------------------
class Lerp(_Pointwise):
    """``start + weight * (end - start)``, computed from the nearer end for accuracy."""

    promote = "same"
    accepts = _FLOATING

    def check(self, start: Any, end: Any, weight: Any) -> None:
        if not isinstance(end, Tensor):
            raise TypeError(f"lerp(): argument 'end' must be Tensor, not {type(end).__name__}")
        if not start.is_floating_point():
            raise NotImplementedError(f"lerp: not implemented for {start.dtype.name} tensors")
        for what, t in (("end", end), ("weight", weight)):
            if isinstance(t, Tensor) and t.dtype != start.dtype and (t.ndim or what == "end"):
                raise RuntimeError(f"lerp: expected dtype {start.dtype.name} for `{what}` "
                                   f"but got dtype {t.dtype.name}")

    def forward(self, xp: Any, start: Any, end: Any, weight: Any) -> Any:
        diff = end - start
        return xp.where(xp.abs(weight) < 0.5, start + weight * diff,
                        end - diff * (1 - weight))

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        start, end, weight = ctx.inputs
        return (g * (1 - weight) if ctx.edges[0] else None,
                g * weight if ctx.edges[1] else None,
                g * (end - start) if ctx.edges[2] else None)


lerp = register(Lerp())


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    prod = tensor1 * tensor2
    if not prod.is_floating_point() and not input.is_floating_point():
        value = int(value)          # integer results truncate ``value``, as PyTorch does
    return input + (prod if value == 1 else prod * value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 / tensor2`` (integer ``tensor1`` and ``tensor2`` are
    refused, as in PyTorch)."""
    if not tensor1.is_floating_point() and not tensor2.is_floating_point():
        raise RuntimeError("addcdiv: Integer division with addcdiv is no longer supported, "
                           "and in a future release addcdiv will perform a true division of "
                           "tensor1 and tensor2. Use addcmul(input, tensor1, 1 / tensor2) "
                           "or floor division instead.")
    quot = tensor1 / tensor2
    return input + (quot if value == 1 else quot * value)


# -- tensor methods and in-place variants --------------------------------------------------
_NO_INPLACE = {"isnan", "isinf", "isfinite", "isposinf", "isneginf", "maximum", "minimum",
               "fmax", "fmin", "logaddexp", "logaddexp2"}

for _name in __all__:
    tensor_method(_name)(globals()[_name])
    if _name not in _NO_INPLACE:
        inplace_method(globals()[_name], _name + "_")
Tensor.__abs__ = Tensor.abs
