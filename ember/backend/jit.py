"""numba, when installed (the ``fast`` extra): one-loop kernels for hot array code.

Kernels elsewhere (optimizer updates, erf/erfc) are plain Python functions over 1-d
arrays; :func:`kernel` compiles one with numba on first use and returns it, or returns
None when numba is missing or switched off with ``EMBER_NUMBA=0``; callers then run their
NumPy code. numba is imported on first use (about half a second), never by
``import ember``; compiled kernels are cached on disk, so a later process loads them.
``EMBER_NUMBA`` is read once, at the first use; :func:`reset` makes the next use read it
again.
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator

__all__ = ["enabled", "reset", "disabled", "version", "kernel"]

_KERNELS: dict[tuple, Callable] = {}
_STATE: dict[str, Any] = {}


def enabled() -> bool:
    """numba is installed and not switched off with ``EMBER_NUMBA=0``."""
    on = _STATE.get("on")
    if on is None:
        numba = None
        if os.environ.get("EMBER_NUMBA", "1") != "0":
            try:
                import numba
            except ImportError:
                pass
        _STATE["numba"] = numba
        on = _STATE["on"] = numba is not None
    return on


def reset() -> None:
    """Forget the switch, so the next use reads ``EMBER_NUMBA`` again."""
    _STATE.pop("on", None)


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Inside the block no kernel is used (as with ``EMBER_NUMBA=0``): the NumPy code
    runs. For comparing the two paths."""
    before = _STATE.get("on")
    _STATE["on"] = False
    try:
        yield
    finally:
        if before is None:
            _STATE.pop("on", None)
        else:
            _STATE["on"] = before


def version() -> str | None:
    """numba's version when :func:`enabled`, else None."""
    return _STATE["numba"].__version__ if enabled() else None


def kernel(source: Callable, helpers: dict[str, Callable] | None = None,
           contract: bool = False) -> Callable | None:
    """``source`` compiled by numba (once per process; cached on disk), or None when
    numba is not :func:`enabled`.

    numba resolves the globals a kernel calls when it compiles it, and they must be
    compiled functions too: ``helpers`` maps such a global's name to the plain function
    it stands for, which is compiled and bound to that name in ``source``'s module first.
    ``contract`` lets LLVM fuse a multiply and an add into one FMA instruction (one
    rounding instead of two): faster polynomial evaluation, results no longer
    bit-identical to the same steps in NumPy.
    """
    if not enabled():
        return None
    for name, helper in (helpers or {}).items():
        source.__globals__[name] = kernel(helper, contract=contract)
    k = _KERNELS.get((source, contract))
    if k is None:
        # error_model="numpy": x / 0 gives inf/NaN as in NumPy (Python's ZeroDivisionError
        # check would also keep LLVM from vectorizing the loop)
        k = _KERNELS[source, contract] = _STATE["numba"].njit(
            cache=True, nogil=True, error_model="numpy",
            fastmath={"contract"} if contract else False)(source)
    return k
