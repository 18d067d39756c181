"""numba kernels for float32 transformer ops: exact GELU (and erf/erfc), softmax and
log-softmax along the last axis, layer norm over the last axis.

NumPy's float32 ``exp`` is vectorized but is one more pass over memory, and a numba loop
that calls ``math.exp`` is not vectorized (no SVML here). So these kernels compute
``exp`` themselves (:func:`_exp_nonpos_loop`, within 2 ulp) on blocks that stay in L1,
with loops that LLVM vectorizes: each op is then one pass over its input. Exact GELU
needs no exp at all (:func:`gelu32_loop`, a rational erf). The results differ from the
NumPy code's by float32 rounding; ``tests/ops/test_fast_math.py``, ``test_softmax.py``
and ``test_normalization.py`` check them against PyTorch and against the NumPy code.

Sums along a row are taken in eight interleaved partial sums (:func:`_lane_sum_loop`):
numba keeps IEEE order, so a plain running sum would be one long serial chain.

Callers get kernels with :func:`kernel`, which returns None when numba is off; they then
run their NumPy code.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ember.backend import jit

__all__ = ["kernel", "MIN_SIZE"]

#: below this many elements the NumPy code is as quick as calling a compiled loop
MIN_SIZE = 4096
#: exp(y) for y below this is taken as 0 (the true value is below 8e-39, subnormal)
_EXP_LOW = -88.0

# exp(y) = 2^n exp(r), n = round(y / ln 2), r = y - n ln 2 in [-ln2/2, ln2/2]; ln 2 is split
# in two (the high part has 8 trailing zero bits, so n * high is exact). exp(r) is its
# Taylor polynomial to degree 7: truncation error about 5e-9 relative on that interval.
_LN2_HI = 0.693145751953125
_LN2_LO = 1.428606765330187e-06
_EXP_TAYLOR = tuple(1 / math.factorial(k) for k in range(8))


def _exp_nonpos_loop(y: Any, out: Any, p: Any, bits: Any, m: int) -> None:
    """``out[:m] = exp(y[:m])`` in float32 for ``y <= 0`` (NaN stays NaN, -inf and
    values below -88 give 0); ``out`` may be ``y``. ``p`` (float32) and ``bits`` (int32)
    are scratch of at least ``m`` values, apart from ``y`` and ``out`` so that both loops
    vectorize: exp(r) goes to ``p``, 2^n is built from its exponent bits in ``bits``."""
    scale = bits.view(np.float32)
    lo = np.float32(_EXP_LOW)
    for i in range(m):
        yi = y[i]
        if yi < lo:
            yi = lo
        n = np.floor(yi * np.float32(1 / math.log(2)) + np.float32(0.5))
        if not n >= np.float32(-127):       # NaN; -127 gives the bits of 0.0 below
            n = np.float32(-127)
        r = (yi - n * np.float32(_LN2_HI)) - n * np.float32(_LN2_LO)
        q = np.float32(_EXP_TAYLOR[7])
        q = q * r + np.float32(_EXP_TAYLOR[6])
        q = q * r + np.float32(_EXP_TAYLOR[5])
        q = q * r + np.float32(_EXP_TAYLOR[4])
        q = q * r + np.float32(_EXP_TAYLOR[3])
        q = q * r + np.float32(_EXP_TAYLOR[2])
        q = q * r + np.float32(1)
        p[i] = q * r + np.float32(1)
        bits[i] = (np.int32(n) + np.int32(127)) << 23
    for i in range(m):
        out[i] = p[i] * scale[i]


def _lane_sum_loop(a: Any, n: int) -> Any:
    """The float32 sum of ``a[:n]`` in eight interleaved partial sums (LLVM keeps them in
    one vector register), added pairwise at the end."""
    full = n - n % 8
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = np.float32(0)
    for i in range(0, full, 8):
        s0 += a[i]
        s1 += a[i + 1]
        s2 += a[i + 2]
        s3 += a[i + 3]
        s4 += a[i + 4]
        s5 += a[i + 5]
        s6 += a[i + 6]
        s7 += a[i + 7]
    s = ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))
    for i in range(full, n):
        s += a[i]
    return s


def chebyshev_block_loop(x: Any, start: int, m: int, c: Any, coef: Any, k: Any, z: Any,
                         t: Any, u2: Any, b1: Any, b2: Any) -> None:
    """erfc's series for the block ``x[start:start + m]``: ``z = min(|x * c|, 30)`` (NaN
    stays NaN), ``t = 4 / (4 + z)``, ``u2 = 4 t - 2``, and the Chebyshev series ``coef``
    in ``t`` by Clenshaw's recurrence up to degree 1, so that ``t h(t) = (u2 b1 / 2 - b2
    + coef[0]) t``. ``k`` holds 4, 2, 0.5, 30 and 0; the arithmetic stays in the arrays'
    dtype, with the element loop innermost (LLVM vectorizes it). Shared by the float32
    kernel below and the float64 passes of ``ember/ops/math.py``."""
    four, two, zero, cap = k[0], k[1], k[4], k[3]
    for i in range(m):
        zi = np.abs(x[start + i] * c)
        if zi > cap:                        # erfc(30) is 0 in float32; nan stays nan
            zi = cap
        z[i] = zi
        t[i] = four / (four + zi)
        u2[i] = four * t[i] - two
        b1[i] = zero
        b2[i] = zero
    for j in range(coef.shape[0] - 1, 0, -1):      # Clenshaw, highest degree first
        cj = coef[j]
        for i in range(m):
            b0 = u2[i] * b1[i] - b2[i] + cj
            b2[i] = b1[i]
            b1[i] = b0


# the compiled helpers, bound by kernel() under the names the kernels call
_HELPERS = {"_exp_nonpos": _exp_nonpos_loop, "_lane_sum": _lane_sum_loop,
            "_chebyshev_block": chebyshev_block_loop}
_exp_nonpos: Any = None
_lane_sum: Any = None
_chebyshev_block: Any = None


def kernel(source: Callable) -> Callable | None:
    """``source`` compiled by numba with this module's block helpers and FMA contraction
    (:func:`ember.backend.jit.kernel`; softmax ~20 % faster), or None when numba is off."""
    return jit.kernel(source, _HELPERS, contract=True)


# -- erfc and exact GELU -------------------------------------------------------------------
#: what :func:`erfc32_loop` writes
ERFC_NONNEG, ERFC, GELU_SLOPE = range(3)


def erfc32_loop(x: Any, c: Any, coef: Any, k: Any, mode: int, g: Any, pdf_scale: Any,
                out: Any) -> None:
    """One pass over float32 ``x``: with ``z = x * c`` and ``e = exp(-z*z)``, ``out`` is
    (``mode``) ``erfc(|z|)``, ``erfc(z)`` or ``g * (0.5 erfc(z) + x * e * pdf_scale)``
    (exact GELU's slope times ``g`` for ``c = -1/sqrt 2``). erfc(|z|) = t h(t) e,
    t = 4 / (4 + |z|), h the Chebyshev series ``coef`` of ``ember/ops/math.py``; ``k``
    holds 4, 2, 0.5, 30 and 0. In blocks that stay in L1, the element loop innermost so
    that LLVM vectorizes it."""
    two, half, zero = k[1], k[2], k[4]
    block = 512
    z = np.empty(block, np.float32)
    t = np.empty(block, np.float32)
    u2 = np.empty(block, np.float32)
    b1 = np.empty(block, np.float32)
    b2 = np.empty(block, np.float32)
    e = np.empty(block, np.float32)
    p = np.empty(block, np.float32)
    bits = np.empty(block, np.int32)
    for start in range(0, x.shape[0], block):
        m = min(block, x.shape[0] - start)
        _chebyshev_block(x, start, m, c, coef, k, z, t, u2, b1, b2)
        for i in range(m):
            e[i] = -(z[i] * z[i])
        _exp_nonpos(e, e, p, bits, m)
        c0 = coef[0]
        for i in range(m):
            xi = x[start + i]
            r = (u2[i] * b1[i] * half - b2[i] + c0) * t[i] * e[i]
            if mode != ERFC_NONNEG and xi * c < zero:
                r = two - r
            if mode == GELU_SLOPE:
                r = g[start + i] * (r * half + xi * (e[i] * pdf_scale))
            out[start + i] = r


# erf(z) / z = P(z^2) / Q(z^2) on [0, 4], relative error below 2.5e-8 (0.42 float32 ulp) in
# exact arithmetic; erf(z) rounds to 1 in float32 beyond 3.9. Fitted for Ember: weighted
# least squares on 4000 Chebyshev nodes against math.erf, reweighted by the error
# (Lawson's iteration towards the minimax fit).
_ERF_P = (1.1283791394761846, 0.1935368712795517, 0.05310045832775514,
          0.0038829350427144757, 0.00028454750018907723, 1.9867282154417687e-06)
_ERF_Q = (1.0, 0.5048501445897905, 0.11534642996973711, 0.015206441021399172,
          0.0011854546060035545, 3.7418641580959366e-05)
_ERF_EDGE = 4.0
_SQRT_HALF = math.sqrt(0.5)


def gelu32_loop(x: Any, out: Any) -> None:
    """Exact GELU ``0.5 x (1 + erf(x / sqrt 2))`` of float32 ``x`` into ``out``, with
    the rational erf above evaluated in float64 and rounded once (about 0.5 ulp; absolute
    error below 2e-8 |x| in the negative tail, where PyTorch's float32 form has ~6e-8 |x|).
    No exp, no table: one vectorized loop."""
    for i in range(x.shape[0]):
        xi = np.float64(x[i])
        z = xi * _SQRT_HALF
        if z > _ERF_EDGE:
            z = _ERF_EDGE
        if z < -_ERF_EDGE:
            z = -_ERF_EDGE
        w = z * z
        num = ((((_ERF_P[5] * w + _ERF_P[4]) * w + _ERF_P[3]) * w + _ERF_P[2]) * w
               + _ERF_P[1]) * w + _ERF_P[0]
        den = ((((_ERF_Q[5] * w + _ERF_Q[4]) * w + _ERF_Q[3]) * w + _ERF_Q[2]) * w
               + _ERF_Q[1]) * w + _ERF_Q[0]
        erf = z * num / den
        if erf > 1.0:               # the fit may pass 1 by 2.5e-8 near the edge
            erf = 1.0
        if erf < -1.0:
            erf = -1.0
        if z == _ERF_EDGE:
            erf = 1.0
        if z == -_ERF_EDGE:
            erf = -1.0
        out[i] = np.float32(0.5 * xi * (1.0 + erf))


# -- softmax and log-softmax along the last axis -------------------------------------------

def softmax32_rows_loop(x: Any, n: int, log: bool, out: Any) -> None:
    """Softmax (``log``: log-softmax) of each row of ``n`` values of the flat float32
    array ``x`` into ``out``: the row maximum subtracted, exp, the sum, the division (or
    ``- log sum``). exp runs over several rows at once (loops of a few values each would
    cost more in loop overhead than in arithmetic)."""
    rows = x.shape[0] // n
    per = max(1, 2048 // n)                 # rows per chunk
    p = np.empty(per * n, np.float32)
    bits = np.empty(per * n, np.int32)
    tmp = np.empty(per * n if log else 0, np.float32)
    for first in range(0, rows, per):
        last = min(rows, first + per)
        lo, hi = first * n, last * n
        for row in range(first, last):
            xr = x[row * n:(row + 1) * n]
            top = np.float32(-np.inf)
            for i in range(n):      # LLVM vectorizes this max (not a sum: no reordering)
                top = max(top, xr[i])
            o = out[row * n:(row + 1) * n]
            for i in range(n):
                o[i] = xr[i] - top
        e = tmp[:hi - lo] if log else out[lo:hi]    # log: keep x - max in the output
        _exp_nonpos(out[lo:hi], e, p, bits, hi - lo)
        for row in range(first, last):
            total = _lane_sum(e[(row - first) * n:], n)
            o = out[row * n:(row + 1) * n]
            if log:
                ls = np.float32(np.log(total))
                for i in range(n):
                    o[i] -= ls
            else:
                inv = np.float32(1) / total
                for i in range(n):
                    o[i] *= inv


# -- layer norm over the last axis ---------------------------------------------------------

def layer_norm32_rows_loop(x: Any, w: Any, b: Any, eps: Any, out: Any, mean: Any,
                           rstd: Any) -> None:
    """Layer norm of each row of the float32 2-d array ``x`` into ``out``: ``(x - mean)
    * rstd``, then ``* w`` and ``+ b`` where those are not empty; the row means and
    ``1 / sqrt(var + eps)`` (biased variance) into ``mean`` and ``rstd``."""
    n = x.shape[1]
    nf = np.float32(n)
    sq = np.empty(n, np.float32)
    scale, shift = w.shape[0] > 0, b.shape[0] > 0
    for row in range(x.shape[0]):
        xr = x[row]
        o = out[row]
        mu = _lane_sum(xr, n) / nf
        for i in range(n):
            d = xr[i] - mu
            o[i] = d
            sq[i] = d * d
        rs = np.float32(1) / np.sqrt(_lane_sum(sq, n) / nf + eps)
        for i in range(n):
            v = o[i] * rs
            if scale:
                v *= w[i]
            if shift:
                v += b[i]
            o[i] = v
        mean[row] = mu
        rstd[row] = rs
