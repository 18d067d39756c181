"""Cross-entropy of class indices as one numba pass over each row of logits (the ``fast``
extra).

The NumPy forward of :class:`ember.ops.losses.CrossEntropy` makes about fifteen array
calls (target range check, max, subtract, exp, sum, log, gather, mask, sum, count), and
its backward about ten; on a classifier's small ``(batch, classes)`` logits those calls,
not the arithmetic, are the cost (~55 us each way for ``(64, 10)`` at one thread). Here
each direction is one loop: per row the maximum, the sum of exponentials (accumulated in
float64), then the loss, or the gradient ``(softmax - onehot) * scale``.

Used only for C-contiguous float32/float64 NumPy logits of at most
:data:`MAX_ELEMENTS` values: numba's ``exp`` is scalar (no vector math library here), so
on large logits (a language model's vocabulary) NumPy's vectorized ``exp`` is faster and
the NumPy code runs. The functions return None whenever they do not apply (numba missing
or off, other dtypes or arrays); the caller then runs its NumPy code. Results agree with it
to a few units in the last place (the float64 sums are, if anything, closer).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.backend import jit

__all__ = ["MAX_ELEMENTS", "forward", "backward"]

MAX_ELEMENTS = 1 << 16
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_INT64 = np.dtype(np.int64)


def _row_max_loop(x: Any, r: int) -> Any:
    """Row ``r``'s maximum; NaN if the row holds one (as ``np.max``)."""
    m = x[r, 0]
    for j in range(1, x.shape[1]):
        if x[r, j] > m or x[r, j] != x[r, j]:
            m = x[r, j]
    return m


_HELPERS = {"_row_max": _row_max_loop}     # bound by jit.kernel to the compiled helper
_row_max: Any = None


def _forward_loop(x: Any, t: Any, ignore_index: int, loss: Any) -> tuple:
    """``loss[r] = -((x[r, t[r]] - max) - log(sum(exp(x[r] - max))))``, 0 where
    ``t[r] == ignore_index``. Returns (positions not ignored, float64 sum of the losses,
    the first row whose target is out of range or -1)."""
    n, c = x.shape
    count = 0
    total = 0.0
    for r in range(n):
        k = t[r]
        if k == ignore_index:
            loss[r] = 0
            continue
        if k < 0 or k >= c:
            return count, total, r
        m = _row_max(x, r)
        s = 0.0
        for j in range(c):
            s += math.exp(x[r, j] - m)
        loss[r] = -((x[r, k] - m) - math.log(s))
        total += loss[r]
        count += 1
    return count, total, -1


def _backward_loop(x: Any, t: Any, ignore_index: int, g: Any, mean: bool, out: Any) -> None:
    """``out[r] = (softmax(x[r]) - onehot(t[r])) * scale`` with ``scale`` the upstream
    gradient (``g[0]``, or ``g[r]`` when ``g`` holds one value per row) times 0 where
    ignored, divided by the count of positions not ignored (at least 1) when ``mean``."""
    n, c = x.shape
    count = 0
    for r in range(n):
        if t[r] != ignore_index:
            count += 1
    for r in range(n):
        k = t[r]
        scale = g[r] if g.shape[0] != 1 else g[0]
        if k == ignore_index:
            scale = scale * 0               # NaN/inf upstream stays NaN, as in NumPy
        if mean:
            scale = scale / max(count, 1)
        m = _row_max(x, r)
        s = 0.0
        for j in range(c):
            e = math.exp(x[r, j] - m)
            out[r, j] = e
            s += e
        for j in range(c):
            out[r, j] = out[r, j] / s
        if k != ignore_index:
            out[r, k] -= 1
        for j in range(c):
            out[r, j] *= scale


def _applies(x: Any, t: Any) -> bool:
    return (x.__class__ is np.ndarray and t.__class__ is np.ndarray and x.ndim == 2
            and x.dtype in _FLOATS and t.dtype == _INT64 and 0 < x.size <= MAX_ELEMENTS
            and x.flags.c_contiguous and t.flags.c_contiguous and jit.enabled())


def forward(x: Any, t: Any, ignore_index: int) -> tuple | None:
    """``(loss per row, positions not ignored, sum of the losses as float64, first row
    with an out-of-range target or -1)`` for ``(rows, C)`` logits ``x`` and flat int64
    targets ``t``; None when the kernel does not apply."""
    if not _applies(x, t):
        return None
    loss = np.empty(x.shape[0], x.dtype)
    count, total, bad = jit.kernel(_forward_loop, _HELPERS)(x, t, ignore_index, loss)
    return loss, count, total, bad


def backward(g: Any, x: Any, t: Any, ignore_index: int, mean: bool) -> Any:
    """The ``(rows, C)`` gradient of the logits for upstream ``g`` (0-d, or one value per
    row); None when the kernel does not apply."""
    if not (_applies(x, t) and g.__class__ is np.ndarray and g.dtype == x.dtype):
        return None
    out = np.empty_like(x)
    jit.kernel(_backward_loop, _HELPERS)(x, t, ignore_index, g.reshape(-1), mean, out)
    return out
