"""Single-pass optimizer updates compiled by numba (the ``fast`` extra).

The NumPy rules of Adam/AdamW and SGD walk a parameter's memory once per array call:
Adam makes 13 passes per update, which is a third of an MLP training step. With numba
installed, :func:`adam` and :func:`sgd` run the whole per-element update in one loop
(the same formulas, in the same order as PyTorch's single-tensor implementation). They
return False, and the caller runs its NumPy rule, when numba is missing, when the
environment sets ``EMBER_NUMBA=0``, or when an array is not a C-contiguous float32/float64
NumPy array of the parameter's dtype (CuPy arrays, views with strides, float16).

numba is imported, and each kernel compiled (about a second per dtype, cached on disk
afterwards), on the first update that can use it (``ember.backend.jit``), so
``import ember`` never pays for it. The scalars reach the loop in the array's precision,
so a float32 update computes in float32 as PyTorch's does; results agree with PyTorch
and with the NumPy rules to a few units in the last place.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember.backend import jit

__all__ = ["adam", "sgd"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_NONE = {dt: np.empty(0, dt) for dt in _FLOATS}     # stands for an absent state array


def _flat(arrays: tuple) -> tuple | None:
    """The arrays as 1-d views when every one (None aside) is a C-contiguous NumPy array
    of the first one's float dtype and shape; otherwise None."""
    first = arrays[0]
    dt, shape = first.dtype, first.shape
    if dt not in _FLOATS:
        return None
    out = []
    for a in arrays:
        if a is None:
            out.append(_NONE[dt])
        elif a.__class__ is not np.ndarray or a.dtype != dt or a.shape != shape or \
                not a.flags.c_contiguous:
            return None
        else:
            out.append(a if a.ndim == 1 else a.reshape(-1))
    return tuple(out)


def _adam_loop(p: Any, g: Any, m: Any, v: Any, vmax: Any, hp: Any) -> None:
    """``hp``: sign (-1 to maximize), beta2, 1 - beta1, 1 - beta2, the L2 coefficient,
    AdamW's ``1 - lr * weight_decay`` (exactly 1 for Adam), the step size, the square root
    of the second bias correction, eps. ``vmax`` is empty without amsgrad."""
    sign, b2, w1, w2, wd, decay, step_size, bc2_sqrt, eps = \
        hp[0], hp[1], hp[2], hp[3], hp[4], hp[5], hp[6], hp[7], hp[8]
    amsgrad = vmax.shape[0] > 0
    if not amsgrad and wd == 0:
        for i in range(p.shape[0]):             # the common case: branch-free, vectorized
            gi = sign * g[i]
            mi = m[i] + w1 * (gi - m[i])
            vi = v[i] * b2 + w2 * gi * gi
            m[i] = mi
            v[i] = vi
            p[i] = p[i] * decay - step_size * (mi / (np.sqrt(vi) / bc2_sqrt + eps))
        return
    for i in range(p.shape[0]):
        gi = sign * g[i]
        pi = p[i] * decay
        if wd != 0:
            gi = gi + wd * pi                   # L2 penalty (0 when decoupled)
        mi = m[i] + w1 * (gi - m[i])
        vi = v[i] * b2 + w2 * gi * gi
        m[i] = mi
        v[i] = vi
        if amsgrad:
            top = vmax[i]
            if top != top or top > vi:          # np.maximum: NaN wins
                vi = top
            vmax[i] = vi
        p[i] = pi - step_size * (mi / (np.sqrt(vi) / bc2_sqrt + eps))


def adam(param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any, max_exp_avg_sq: Any,
         t: float, *, lr: float, beta1: float, beta2: float, eps: float,
         weight_decay: float, maximize: bool, decoupled_weight_decay: bool) -> bool:
    """One Adam/AdamW update at step ``t`` (already advanced) in a single loop; False
    when the arrays do not qualify (nothing is written then)."""
    run = jit.kernel(_adam_loop)
    flat = run and _flat((param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq))
    if not flat or not param.size:
        return False
    decoupled = decoupled_weight_decay and weight_decay != 0
    # the scalars in the array's precision, as PyTorch's float32 math has them
    hp = np.array((-1.0 if maximize else 1.0, beta2, 1.0 - beta1, 1.0 - beta2,
                   0.0 if decoupled_weight_decay else weight_decay,
                   1.0 - lr * weight_decay if decoupled else 1.0, lr / (1.0 - beta1 ** t),
                   (1.0 - beta2 ** t) ** 0.5, eps), dtype=param.dtype)
    run(*flat, hp)
    return True


def _sgd_loop(p: Any, g: Any, buf: Any, hp: Any, fresh: bool, nesterov: bool) -> None:
    """``hp``: lr, momentum, 1 - dampening, the L2 coefficient, sign (-1 to maximize).
    ``buf`` is empty without momentum; ``fresh``: the buffer starts at the gradient."""
    lr, momentum, keep, wd, sign = hp[0], hp[1], hp[2], hp[3], hp[4]
    has_buf = buf.shape[0] > 0
    if has_buf and not fresh and not nesterov and wd == 0:
        for i in range(p.shape[0]):             # the common case: branch-free, vectorized
            b = buf[i] * momentum + keep * (sign * g[i])
            buf[i] = b
            p[i] = p[i] - lr * b
        return
    for i in range(p.shape[0]):
        gi = sign * g[i]
        if wd != 0:
            gi = gi + wd * p[i]
        if has_buf:
            if fresh:
                buf[i] = gi
            else:
                buf[i] = buf[i] * momentum + keep * gi
            gi = gi + momentum * buf[i] if nesterov else buf[i]
        p[i] = p[i] - lr * gi


def sgd(param: Any, grad: Any, buf: Any, *, lr: float, momentum: float, dampening: float,
        nesterov: bool, weight_decay: float, maximize: bool, fresh: bool) -> bool:
    """One SGD update (momentum buffer ``buf`` or None) in a single loop; False when the
    arrays do not qualify (nothing is written then)."""
    run = jit.kernel(_sgd_loop)
    flat = run and _flat((param, grad, buf))
    if not flat or not param.size:
        return False
    hp = np.array((lr, momentum, 1.0 - dampening, weight_decay, -1.0 if maximize else 1.0),
                  dtype=param.dtype)
    run(*flat, hp, bool(fresh), bool(nesterov))
    return True
