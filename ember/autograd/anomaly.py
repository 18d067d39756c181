"""Anomaly detection: ``ember.autograd.set_detect_anomaly(True)`` / ``detect_anomaly()``.

While on, every recorded op remembers where in the user's code it was called, and the
backward pass checks each gradient it computes; the first NaN or Inf raises a
RuntimeError naming the op and showing the forward call that created it.
"""
from __future__ import annotations

import traceback
from typing import Any

__all__ = ["set_detect_anomaly", "detect_anomaly", "is_anomaly_enabled"]

_enabled = False


def enabled() -> bool:
    return _enabled


def is_anomaly_enabled() -> bool:
    """True while anomaly detection is on."""
    return _enabled


class set_detect_anomaly:
    """Turn anomaly detection on or off; also a context manager restoring the old value."""

    def __init__(self, mode: bool, check_nan: bool = True):
        global _enabled
        self._prev = _enabled
        _enabled = bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        global _enabled
        _enabled = self._prev


class detect_anomaly(set_detect_anomaly):
    """``with ember.autograd.detect_anomaly(): ...`` turns detection on inside the block."""

    def __init__(self, check_nan: bool = True):
        super().__init__(True, check_nan)


def record_trace() -> list[str]:
    """The user's stack at the moment an op is recorded, without Ember's own frames."""
    frames = [f for f in traceback.extract_stack()[:-1]
              if "/ember/" not in f.filename.replace("\\", "/")]
    return traceback.format_list(frames)


def check_grads(fn: Any, grads: Any) -> None:
    """Raise if a gradient ``fn`` produced holds NaN or Inf."""
    for i, g in enumerate(grads):
        if g is None:
            continue
        xp_isfinite = g._data.dtype.kind == "f"
        if xp_isfinite and not bool(_all_finite(g._data)):
            what = "nan" if bool((g._data != g._data).any()) else "inf"
            where = "".join(fn.trace or ["    (trace not recorded)\n"])
            raise RuntimeError(
                f"Function '{fn.name()}' returned {what} values in its {i}th output "
                f"(the gradient w.r.t. input {i} of {fn.op.name}). The forward call of "
                f"{fn.op.name} was:\n{where}")


def _all_finite(a: Any) -> Any:
    from ember.backend import array_module
    return array_module(a).isfinite(a).all()
