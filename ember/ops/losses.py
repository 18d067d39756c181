"""Fused loss ops, used by ``ember.nn.functional`` where composing smaller ops would be
slower or less exact:

* ``cross_entropy``: log-softmax and negative log-likelihood of class indices in one
  forward, and the closed-form gradient ``(softmax(x) - onehot(t)) * g / n`` as one op
  (``cross_entropy_backward``) whose own gradient is composed of Ember ops, so every
  order of derivative works. Covers the common case: no class weights, no label
  smoothing, any ``ignore_index`` and reduction.
* ``binary_cross_entropy``: its clamped logs need PyTorch's closed-form gradient to stay
  finite at 0 and 1.
"""
from __future__ import annotations

from typing import Any

from ember.ops import _loss_kernels
from ember.ops.creation import arange
from ember.ops.elementwise import where
from ember.ops.registry import Op, register
from ember.ops.softmax import _softmax, log_softmax_array, require_float, softmax_array
from ember.tensor import Tensor

__all__: list = []


def class_dim(x: Any) -> int:
    """The class dim of logits: 1 for ``(N, C, ...)``, 0 for a single ``(C,)`` sample."""
    return 1 if x.ndim > 1 else 0


def check_class_targets(t: Any, name: str, c: int, ignore_index: int) -> None:
    """Raise PyTorch's IndexError if a class index (in array ``t``) other than
    ``ignore_index`` is outside ``[0, c)``."""
    if t.size and (t.min() < 0 or t.max() >= c):
        bad = t[(t != ignore_index) & ((t < 0) | (t >= c))]
        if bad.size:
            raise IndexError(f"{name}: Target {bad.flat[0]} is out of bounds (expected a class "
                             f"index in [0, {c - 1}] or ignore_index={ignore_index}).")


def _rows(xp: Any, x: Any, t: Any, ignore_index: int) -> tuple:
    """Logits as a ``(rows, C)`` matrix, with the flat targets, a mask of the positions
    not ignored, and the targets clamped to valid indices (0 where ignored)."""
    cdim = class_dim(x)
    if x.ndim != 2:
        x = xp.moveaxis(x, cdim, -1).reshape(-1, x.shape[cdim])
    t = t.reshape(-1)
    valid = t != ignore_index
    return x, valid, xp.where(valid, t, 0)


def _from_rows(xp: Any, a: Any, shape: tuple) -> Any:
    """Undo :func:`_rows` for an array of the logits' size."""
    if len(shape) == 2:
        return a
    cdim = 1 if len(shape) > 1 else 0
    lead = shape[:cdim] + shape[cdim + 1:]
    return xp.moveaxis(a.reshape(lead + shape[cdim:cdim + 1]), -1, cdim)


class CrossEntropy(Op):
    """``-log_softmax(x)[target]`` per position, 0 where ``target == ignore_index``;
    ``'mean'`` divides the sum by the number of positions not ignored (NaN if none)."""

    saves = (0, 1)

    def check(self, x: Tensor, t: Tensor, *, ignore_index: int, reduction: str) -> None:
        require_float(self.name, x)

    def forward(self, xp: Any, x: Any, t: Any, *, ignore_index: int, reduction: str) -> Any:
        fast = _loss_kernels.forward(x, t, ignore_index) if x.ndim == 2 else None
        if fast is not None and fast[3] < 0:
            loss, count, total, _ = fast
            if reduction == "none":
                return loss
            total = x.dtype.type(total)
            return total if reduction == "sum" else total / x.dtype.type(count)
        check_class_targets(t, self.name, x.shape[class_dim(x)], ignore_index)
        x2, valid, safe = _rows(xp, x, t, ignore_index)
        logp = log_softmax_array(xp, x2, 1)
        loss = xp.where(valid, -logp[xp.arange(len(safe)), safe], 0)
        if reduction == "none":
            return loss.reshape(t.shape)
        total = loss.sum()
        return total if reduction == "sum" else total / x.dtype.type(valid.sum())

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, t = ctx.inputs
        return _cross_entropy_backward(g, x, t, **ctx.attrs), None


class CrossEntropyBackward(Op):
    """The logits' gradient of :class:`CrossEntropy` for upstream ``g``:
    ``(softmax(x) - onehot(t)) * g / n`` at each position (0 where ignored; ``n`` the
    count of positions not ignored for ``'mean'``, else 1)."""

    def forward(self, xp: Any, g: Any, x: Any, t: Any, *, ignore_index: int,
                reduction: str) -> Any:
        if x.ndim == 2:
            fast = _loss_kernels.backward(g, x, t, ignore_index, reduction == "mean")
            if fast is not None:
                return fast
        x2, valid, safe = _rows(xp, x, t, ignore_index)
        p = softmax_array(xp, x2, 1)
        p[xp.arange(len(safe)), safe] -= 1
        scale = g.reshape(-1) * valid               # g: 0-d, or one per position ('none')
        if reduction == "mean":
            scale = scale / x.dtype.type(max(valid.sum(), 1))
        p *= scale[:, None]
        return _from_rows(xp, p, x.shape)

    def backward(self, ctx: Any, gg: Tensor) -> tuple:
        g, x, t = ctx.inputs
        cdim = class_dim(x)
        valid = t != ctx.attrs["ignore_index"]
        w = valid.to(x.dtype)
        if ctx.attrs["reduction"] == "mean":
            w = w / w.sum().clamp_min(1)
        y = _softmax(x, dim=cdim)
        dg = dx = None
        if ctx.edges[0]:
            shape = [1] * x.ndim
            shape[cdim] = x.shape[cdim]
            onehot = where(valid, t, 0).unsqueeze(cdim) == arange(x.shape[cdim]).reshape(shape)
            dg = (gg * (y - onehot.to(x.dtype))).sum(cdim) * w
        if ctx.edges[1]:
            h = gg * (g * w).unsqueeze(cdim)
            dx = y * (h - (h * y).sum(cdim, keepdim=True))
        return dg, dx, None


cross_entropy = register(CrossEntropy())
_cross_entropy_backward = register(CrossEntropyBackward())


class BinaryCrossEntropy(Op):
    """Elementwise ``-(t log x + (1 - t) log(1 - x))`` with each log clamped at -100; the
    input gradient is PyTorch's ``(x - t) / max(x (1 - x), 1e-12)``, finite at 0 and 1."""

    EPS = 1e-12

    def check(self, x: Tensor, t: Tensor) -> None:
        if x.dtype != t.dtype:
            raise RuntimeError(f"binary_cross_entropy: Found dtype {t.dtype.name} for the "
                               f"target but expected {x.dtype.name} (the input's)")

    def forward(self, xp: Any, x: Any, t: Any) -> Any:
        for what, a in (("input", x), ("target", t)):
            if a.size and ((a < 0) | (a > 1)).any():
                raise RuntimeError(f"binary_cross_entropy: all elements of {what} should be "
                                   f"between 0 and 1")
        lx = _clamped_log(xp, xp.log, x, x > 0)
        l1x = _clamped_log(xp, xp.log1p, -x, x < 1)
        return -(t * lx + (1 - t) * l1x)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, t = ctx.inputs
        gx = gt = None
        if ctx.edges[0]:
            p = x * (1 - x)
            gx = g * (x - t) / where(p > self.EPS, p, self.EPS)
        if ctx.edges[1]:
            gt = g * ((1 - x).log() - x.log())      # -logit(x), unclamped as in PyTorch
        return gx, gt


def _clamped_log(xp: Any, log: Any, v: Any, ok: Any) -> Any:
    """``max(log(v), -100)``, and -100 where not ``ok`` (log of 0), without warnings."""
    return xp.where(ok, xp.maximum(log(xp.where(ok, v, 1)), -100), -100)


binary_cross_entropy = register(BinaryCrossEntropy())
