"""Keep freed array memory inside the process, so a training step does not pay the kernel
to hand the same pages back every time.

NumPy allocates through glibc ``malloc``, which returns large freed blocks to the kernel
(``munmap`` / heap trim); the next step then page-faults all of that memory in again.
Measured on a ResNet-18 train step: 27,500 page faults and 160 ms of system time per step,
against near zero for PyTorch, whose allocator keeps its memory (docs/benchmarks.md).
Raising glibc's mmap threshold to 32 MiB and its trim threshold to 1 GiB keeps the memory.

The tuning is process-wide and runs once when ``ember`` is imported, on Linux with glibc.
It is skipped when ``EMBER_MALLOC_TUNING=0`` or when the user already set glibc's own
``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` variables. The cost is a process
that keeps up to 1 GiB of freed memory for reuse instead of returning it at once.
"""
from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["tune_allocator"]

_M_TRIM_THRESHOLD = -1          # mallopt parameter numbers from glibc's malloc.h
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 1 << 30


def tune_allocator() -> bool:
    """Apply the thresholds above; True when glibc accepted them."""
    if os.environ.get("EMBER_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):        # not glibc (musl, ...): nothing to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
