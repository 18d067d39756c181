"""One-pass 2x2 / stride-2 max pooling compiled by numba (the ``fast`` extra).

The NumPy max pool walks the input once per kernel offset, and its backward walks it
again per offset to find where each maximum sits (``max_pool2d_argmax``), then once more
to route the gradient (``window_scatter``). For the common 2x2 window with stride 2, no
padding and no dilation, :func:`max_pool` visits each window once and yields the maximum
and its kernel offset number ``i * 2 + j`` together, and :func:`scatter` writes each
window's gradient at that offset into zeros in one pass. The rules are the NumPy ones
(and PyTorch's): the first maximum in row-major window order wins, a NaN wins over any
number and a later NaN over an earlier one.

The window is unrolled: a loop over kernel offsets with a NaN test in it compiles to
branches, several times slower than NumPy on random data; here a window's NaN test is
one sum, and only windows with a NaN (or infinities of both signs) take the branch.

Each function returns None, and the caller runs its NumPy code, when numba is missing or
switched off (``ember.backend.jit``), when the window is not 2x2 / stride 2 without
padding or dilation inside the input, or when an array is not a C-contiguous
float32/float64 NumPy array (CuPy arrays, strided views, integer or half inputs).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember.backend import jit

__all__ = ["applies", "max_pool", "scatter"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _max_pool_loop(x: Any, y: Any, which: Any) -> None:
    """``x`` (P, H, W) -> ``y`` (P, Ho, Wo) maxima of 2x2 / stride-2 windows and
    ``which`` their offset numbers."""
    for c in range(y.shape[0]):
        for oh in range(y.shape[1]):
            top = x[c, 2 * oh]
            bottom = x[c, 2 * oh + 1]
            yr = y[c, oh]
            wr = which[c, oh]
            for ow in range(y.shape[2]):
                v0 = top[2 * ow]
                v1 = top[2 * ow + 1]
                v2 = bottom[2 * ow]
                v3 = bottom[2 * ow + 1]
                best = v0
                arg = 0
                t = v1 > best
                best = v1 if t else best
                arg = 1 if t else arg
                t = v2 > best
                best = v2 if t else best
                arg = 2 if t else arg
                t = v3 > best
                best = v3 if t else best
                arg = 3 if t else arg
                total = v0 + v1 + v2 + v3
                if total != total:              # a NaN, or inf and -inf: the last NaN wins
                    if v0 != v0:
                        best, arg = v0, 0
                    if v1 != v1:
                        best, arg = v1, 1
                    if v2 != v2:
                        best, arg = v2, 2
                    if v3 != v3:
                        best, arg = v3, 3
                yr[ow] = best
                wr[ow] = arg


def _scatter_loop(g: Any, which: Any, out: Any) -> None:
    """Write ``g`` (P, Ho, Wo) into the zeros ``out`` (P, H, W) at each 2x2 / stride-2
    window's offset ``which``."""
    for c in range(g.shape[0]):
        for oh in range(g.shape[1]):
            gr = g[c, oh]
            wr = which[c, oh]
            for ow in range(g.shape[2]):
                a = wr[ow] & 3                  # (never out of the window, whatever it holds)
                out[c, 2 * oh + (a >> 1), 2 * ow + (a & 1)] = gr[ow]


def applies(xp: Any, dtype: Any, size: tuple, k: tuple, s: tuple, p: tuple, d: tuple,
            out: tuple) -> bool:
    """The kernels cover this pool of a ``size`` plane (a 2x2 / stride-2 window without
    padding or dilation, no ceil-mode overhang) and numba is on."""
    return (xp is np and dtype in _FLOATS and k == (2, 2) and s == (2, 2)
            and p == (0, 0) and d == (1, 1) and 2 * out[0] <= size[0]
            and 2 * out[1] <= size[1] and jit.enabled())


def _planes(a: Any) -> Any:
    return a.reshape((a.shape[0] * a.shape[1],) + a.shape[2:])


def max_pool(x: Any, out: tuple, index_dtype: Any) -> tuple | None:
    """``(y, which)`` for an (N, C, H, W) input pooled to ``out`` (a 2x2 / stride-2 pool
    whose windows lie inside the input), or None where the kernel does not apply."""
    if x.__class__ is not np.ndarray or not x.flags.c_contiguous or x.dtype not in _FLOATS:
        return None
    loop = jit.kernel(_max_pool_loop)
    if loop is None:
        return None
    y = np.empty(x.shape[:2] + tuple(out), dtype=x.dtype)
    which = np.empty(y.shape, dtype=index_dtype)
    loop(_planes(x), _planes(y), _planes(which))
    return y, which


def scatter(g: Any, which: Any, size: tuple) -> Any | None:
    """The (N, C, *size) gradient of a 2x2 / stride-2 max pool: ``g`` at each window's
    offset ``which``, zeros elsewhere; or None where the kernel does not apply."""
    if g.__class__ is not np.ndarray or which.__class__ is not np.ndarray or \
            g.dtype not in _FLOATS or not (g.flags.c_contiguous and which.flags.c_contiguous):
        return None
    loop = jit.kernel(_scatter_loop)
    if loop is None:
        return None
    res = np.zeros(g.shape[:2] + tuple(size), dtype=g.dtype)
    loop(_planes(g), _planes(which), _planes(res))
    return res
