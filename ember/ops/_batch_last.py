"""Helpers of the batch-last layouts of ``conv.py`` and ``_winograd.py``."""
from __future__ import annotations

from typing import Any


def unaliased(xp: Any, x: Any) -> Any:
    """``x`` (N, ...), copied to rows one cache line further apart when its rows are a
    multiple of 1 KiB apart and the batch is large; otherwise ``x`` itself.

    Moving the batch axis last reads one value from each row in turn; rows a multiple of
    1 KiB apart share a few cache sets, so those reads evict each other (measured: the
    transposing copies of ResNet-18's 64-channel layer 2-3x slower than after this copy).
    """
    n = x.shape[0]
    if n < 16 or not x.flags.c_contiguous or x.strides[0] % 1024:
        return x
    a = x.size // n
    stage = xp.empty((n, a + 64 // x.itemsize), dtype=x.dtype)
    stage[:, :a] = x.reshape(n, a)
    return stage[:, :a].reshape(x.shape)


def to_nchw(xp: Any, img: Any, pad: tuple, size: tuple) -> Any:
    """(C, Hp, Wp, N) with ``pad`` (top, bottom, left, right) cropped off to ``size`` ->
    contiguous NCHW."""
    t, l = pad[0], pad[2]
    src = img[:, t:t + size[0], l:l + size[1]].transpose(3, 0, 1, 2)
    out = xp.empty(src.shape, dtype=img.dtype)
    # a few channels at a time, so the lines each pass reads stay in cache (~1.7x faster)
    step = max(1, (256 << 10) // max(1, img[:1].nbytes))
    for c in range(0, src.shape[1], step):
        out[:, c:c + step] = src[:, c:c + step]
    return out
