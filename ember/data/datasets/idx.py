"""Reading IDX files, the format of the MNIST family: a 4-byte magic number (two zero
bytes, a dtype code, the number of dimensions), one big-endian uint32 per dimension, then
the values in C order, big-endian. Files may be gzip-compressed."""
from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

__all__ = ["read_idx"]

# IDX dtype codes and the big-endian NumPy dtypes they stand for
IDX_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"


def _file_bytes(path: str) -> bytes:
    """The file's content, decompressed when it is a gzip stream (IDX files never begin
    with gzip's magic, since their first two bytes are zero)."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(_GZIP_MAGIC):
        if path.endswith(".gz"):
            raise ValueError(f"read_idx: {path!r} is named .gz but is not a gzip stream "
                             f"(first bytes {raw[:4].hex(' ')}, expected 1f 8b)")
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"read_idx: {path!r} is a corrupt or truncated gzip stream "
                         f"({type(err).__name__}: {err}); the file is damaged, obtain "
                         f"it again") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` or not) into a writable NumPy array in native byte order.

    The header is checked against the payload: a wrong magic number, an unknown dtype
    code, or a payload shorter or longer than the dimensions say raise a ``ValueError``
    naming the file and the problem.

    >>> images = read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
    >>> images.shape, images.dtype
    ((10000, 28, 28), dtype('uint8'))
    """
    path = os.fspath(path)
    data = _file_bytes(path)
    if len(data) < 4:
        raise ValueError(f"read_idx: {path!r} is too short for an IDX header "
                         f"({len(data)} bytes, the magic number alone takes 4)")
    zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0:
        raise ValueError(f"read_idx: {path!r} is not an IDX file: its magic number "
                         f"{data[:4].hex(' ')} should start with two zero bytes")
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"read_idx: {path!r} has unknown IDX dtype code 0x{code:02X} "
                         f"(known: {known})")
    if ndim == 0:
        raise ValueError(f"read_idx: {path!r} declares 0 dimensions; IDX arrays have "
                         f"at least one")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"read_idx: {path!r} is truncated inside its header: {ndim} "
                         f"dimensions need {header} header bytes, the file has "
                         f"{len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        problem = "truncated" if found < expected else "longer than its header says"
        raise ValueError(f"read_idx: {path!r} is {problem}: shape {shape} of "
                         f"{dtype.newbyteorder('=').name} needs {expected} bytes after "
                         f"the {header}-byte header, found {found}")
    values = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))   # a native-order, writable copy
