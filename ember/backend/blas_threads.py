"""How many threads NumPy's BLAS runs a call on, read from the library itself.

NumPy has no API for it. Its wheels bundle OpenBLAS (``numpy.libs`` on Linux and
Windows, ``numpy/.dylibs`` on macOS), whose ``openblas_get_num_threads`` (under the
wheel's symbol prefix) reports the count in effect, including limits set at run time
(``threadpoolctl``) or through ``OPENBLAS_NUM_THREADS``. Where the library or the symbol
cannot be found, :func:`blas_threads` returns None.
"""
from __future__ import annotations

import ctypes
import glob
import os
from typing import Callable

import numpy as np

__all__ = ["blas_threads"]

_SYMBOLS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")
_FOUND: list = []


def _getter() -> Callable[[], int] | None:
    here = os.path.dirname(np.__file__)
    paths = sorted(glob.glob(os.path.join(here, os.pardir, "numpy.libs", "*openblas*")) +
                   glob.glob(os.path.join(here, ".dylibs", "*openblas*")))
    for path in paths:
        try:
            lib = ctypes.CDLL(path)         # already loaded by NumPy: the same handle
        except OSError:
            continue
        for name in _SYMBOLS:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype, fn.argtypes = ctypes.c_int, []
                return fn
    return None


def blas_threads() -> int | None:
    """The thread count NumPy's OpenBLAS uses now, or None when it cannot be read."""
    if not _FOUND:
        _FOUND.append(_getter())
    fn = _FOUND[0]
    return None if fn is None else int(fn())
