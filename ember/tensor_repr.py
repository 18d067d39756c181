"""How a tensor prints: laid out like PyTorch's ``tensor([...], dtype=..., grad_fn=...)``."""
from __future__ import annotations

from typing import Any

import numpy as np

_PREFIX = "tensor("
_SHOWN_DTYPE_OMITTED = ("float32", "int64", "bool")


def _float_formatter(a: np.ndarray) -> Any:
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.4f}"
    absf = np.abs(finite)
    amax, nz = float(absf.max()), absf[absf > 0]
    amin = float(nz.min()) if nz.size else 0.0
    if np.all(finite == np.round(finite)) and amax < 1e8:
        return lambda v: _special(v) or f"{v:.0f}."
    if amax >= 1e8 or (amin and (amin < 1e-4 or amax / amin > 1000.0)):
        return lambda v: _special(v) or f"{v:.4e}"
    return lambda v: _special(v) or f"{v:.4f}"


def _special(v: float) -> str | None:
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    return None


def tensor_repr(t: Any) -> str:
    """PyTorch-style text for a tensor."""
    a = t._data if isinstance(t._data, np.ndarray) else np.asarray(t.numpy(force=True))
    dtype_name = t.dtype.name
    if a.dtype.kind == "V":
        a = a.astype(np.float32)
    extras = []
    if a.size == 0 and a.shape != (0,):
        extras.append(f"size={tuple(a.shape)}")
    if dtype_name not in _SHOWN_DTYPE_OMITTED:
        extras.append(f"dtype=ember.{dtype_name}")
    if a.size == 0:
        body = "[]"
    elif a.dtype.kind == "f":
        fmt = _float_formatter(a)
        body = np.array2string(a, separator=", ", prefix=_PREFIX, threshold=1000,
                               edgeitems=3, max_line_width=80,
                               formatter={"float_kind": fmt})
    else:
        body = np.array2string(a, separator=", ", prefix=_PREFIX, threshold=1000,
                               edgeitems=3, max_line_width=80)
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return _PREFIX + body + "".join(", " + e for e in extras) + ")"
