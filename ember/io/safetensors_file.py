"""The safetensors container: bytes <-> (metadata, named NumPy arrays).

The safetensors library writes the bytes and validates them on reading (header size,
JSON, dtypes, offsets that tile the data exactly, sizes that match the shapes, overflow);
this module turns its failures, and the dtypes ember lacks, into errors that name the file.
"""
from __future__ import annotations

import json
import struct

import ml_dtypes
import numpy as np
import safetensors
import safetensors.numpy

__all__ = ["to_bytes", "write_file", "from_bytes", "DTYPES"]

# safetensors dtype code -> NumPy dtype, for the dtypes ember has.
DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16,
          "BF16": ml_dtypes.bfloat16, "I64": np.int64, "I32": np.int32, "I16": np.int16,
          "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def to_bytes(arrays: dict[str, np.ndarray], metadata: dict[str, str] | None) -> bytes:
    """A safetensors file holding C-contiguous ``arrays`` by name and string ``metadata``."""
    return safetensors.numpy.save(arrays, metadata=metadata)


def write_file(arrays: dict[str, np.ndarray], metadata: dict[str, str] | None,
               path: str) -> None:
    """:func:`to_bytes` straight into the file ``path`` (no copy of it all in memory)."""
    safetensors.numpy.save_file(arrays, path, metadata=metadata)


def _pickle_hint(data: bytes) -> str:
    zip_file = data[:4] == b"PK\x03\x04"
    pickle = data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")
    if zip_file or pickle:
        return ("; it looks like a PyTorch/pickle file (torch.save output): not a safetensors "
                "file (ember never reads pickle)")
    return ""


def from_bytes(data: bytes, source: str) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """The metadata and the arrays (fresh, writable) of a safetensors file, in file order.

    Raises RuntimeError naming ``source`` for anything but a valid safetensors file whose
    tensors all have dtypes ember supports.
    """
    try:
        entries = dict(safetensors.deserialize(data))
    except Exception as e:      # SafetensorError, or anything else the parser raises
        reason = str(e).removeprefix("Error while deserializing: ")
        raise RuntimeError(f"{source}: not a valid safetensors file ({reason})"
                           f"{_pickle_hint(data)}") from None
    # The header, validated above, gives the metadata and the file order.
    (n,) = struct.unpack_from("<Q", data)
    try:
        header = json.loads(bytes(data[8:8 + n]))
    except (ValueError, RecursionError) as e:    # where Python's JSON is stricter than Rust's
        raise RuntimeError(f"{source}: not a valid safetensors file (header: {e})") from None
    metadata = header.pop("__metadata__", None) or {}
    arrays = {}
    for name in header:
        entry = entries[name]
        dtype = DTYPES.get(entry["dtype"])
        if dtype is None:
            raise RuntimeError(f"{source}: tensor {name!r} has dtype {entry['dtype']}, which "
                               f"ember does not support (it reads {', '.join(DTYPES)})")
        try:
            arrays[name] = np.frombuffer(entry["data"], dtype=dtype).reshape(entry["shape"])
        except ValueError as e:
            raise RuntimeError(f"{source}: tensor {name!r} of shape {entry['shape']} cannot be "
                               f"made: {e}") from None
    return metadata, arrays
