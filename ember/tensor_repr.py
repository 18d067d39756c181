"""How a tensor prints: laid out like PyTorch's ``tensor([...], dtype=..., grad_fn=...)``.

The rules follow PyTorch's printer: one width for every element (so columns line up and
a leading space makes room for minus signs), integral floats print as ``1.``, a wide
value range switches to scientific notation, and tensors with more than ``threshold``
elements are summarised with ``...`` keeping ``edgeitems`` entries at each end.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["tensor_repr", "set_printoptions"]

_PREFIX = "tensor("


class _Options:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode: bool | None = None


_opts = _Options()


def set_printoptions(precision: int | None = None, threshold: int | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set how tensors print, like ``torch.set_printoptions`` (``profile`` is one of
    ``"default"``, ``"short"``, ``"full"``)."""
    presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
               "full": (4, math.inf, 3, 80)}
    if profile is not None:
        _opts.precision, _opts.threshold, _opts.edgeitems, _opts.linewidth = presets[profile]
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(_opts, name, value)
    _opts.sci_mode = sci_mode


class _Formatter:
    """Chooses one notation and width from (a summary of) the values, then formats each."""

    def __init__(self, a: np.ndarray):
        self.floating = a.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        p = _opts.precision
        if not self.floating:
            self.width = max((len(str(v)) for v in a.ravel().tolist()), default=1)
            return
        vals = a[np.isfinite(a) & (a != 0)].astype(np.float64)
        if vals.size == 0:
            return
        absv = np.abs(vals)
        lo, hi = float(absv.min()), float(absv.max())
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        if self.int_mode:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8
        else:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        if _opts.sci_mode is not None:
            self.sci_mode = _opts.sci_mode
        if self.sci_mode:
            strs = [f"{v:.{p}e}" for v in vals.tolist()]
        elif self.int_mode:
            strs = [f"{v:.0f}." for v in vals.tolist()]
        else:
            strs = [f"{v:.{p}f}" for v in vals.tolist()]
        self.width = max(len(s) for s in strs)

    def format(self, v: Any) -> str:
        if not self.floating:
            s = str(v)
        elif self.sci_mode:
            s = f"{v:.{_opts.precision}e}"
        elif self.int_mode:
            s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            s = f"{v:.{_opts.precision}f}"
        return s.rjust(self.width)


def _summary(a: np.ndarray) -> np.ndarray:
    """The values that will be shown: ``edgeitems`` at each end of every long axis."""
    e = _opts.edgeitems
    for ax in range(a.ndim):
        if a.shape[ax] > 2 * e:
            idx = np.r_[0:e, a.shape[ax] - e:a.shape[ax]]
            a = np.take(a, idx, axis=ax)
    return a


def _vector(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, int((_opts.linewidth - indent) // (fmt.width + 2)))
    e = _opts.edgeitems
    if summarize and a.shape[0] > 2 * e:
        items = ([fmt.format(v) for v in a[:e].tolist()] + [" ..."] +
                 [fmt.format(v) for v in a[-e:].tolist()])
    else:
        items = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    e = _opts.edgeitems
    if summarize and a.shape[0] > 2 * e:
        rows = ([_nested(a[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."] +
                [_nested(a[i], indent + 1, summarize, fmt)
                 for i in range(a.shape[0] - e, a.shape[0])])
    else:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _add_suffixes(text: str, suffixes: list, indent: int) -> str:
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > _opts.linewidth:
            parts.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            parts.append(", " + s)
            last += len(s) + 2
    return "".join(parts) + ")"


def tensor_repr(t: Any) -> str:
    """PyTorch-style text for a tensor, e.g. ``tensor([ 1.5000, -2.0000], grad_fn=<...>)``."""
    from ember.backend.dtypes import bool_, get_default_dtype, int64
    a = t._data if isinstance(t._data, np.ndarray) else np.asarray(t.numpy(force=True))
    if a.dtype.kind == "V" or a.dtype == np.float16:
        a = a.astype(np.float32)
    dt = t.dtype
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if dt != get_default_dtype():
            suffixes.append(f"dtype=ember.{dt.name}")
        body = "[]"
    else:
        if dt not in (get_default_dtype(), int64, bool_):
            suffixes.append(f"dtype=ember.{dt.name}")
        summarize = a.size > _opts.threshold
        fmt = _Formatter(_summary(a) if summarize else a)
        body = _nested(a, len(_PREFIX), summarize, fmt)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(_PREFIX + body, suffixes, len(_PREFIX))
