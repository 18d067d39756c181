"""``ember.save`` / ``ember.load``: checkpoints of any nesting of containers, plain values and
tensors, in one safetensors file; and ``save_file`` / ``load_file`` for plain files of
named tensors. Nothing here writes or reads pickle."""
from __future__ import annotations

import json
import os
import re
import zlib
from typing import Any, BinaryIO, Union

import numpy as np

from ember.backend import Device, device as _device
from ember.io.atomic import atomic_write
from ember.io.safetensors_file import from_bytes, to_bytes, write_file
from ember.io.structure import StructureError, decode, encode
from ember.ops.creation import from_numpy
from ember.tensor import Tensor

__all__ = ["save", "load", "save_file", "load_file", "FORMAT_VERSION"]

FORMAT_VERSION = 1       # the newest ember checkpoint format this code writes and reads

FileLike = Union[str, bytes, os.PathLike, BinaryIO]


def _host_array(t: Tensor) -> np.ndarray:
    """The tensor's values as a C-contiguous NumPy array (0-d stays 0-d)."""
    a = t.numpy(force=True)
    return a if a.flags.c_contiguous else a.copy(order="C")


def _crc32(a: np.ndarray) -> int:
    return zlib.crc32(a.reshape(-1).view(np.uint8))


def _write(arrays: dict[str, np.ndarray], metadata: dict[str, str] | None, f: FileLike,
           who: str) -> None:
    if isinstance(f, (str, bytes, os.PathLike)):
        atomic_write(f, lambda tmp: write_file(arrays, metadata, tmp), who)
    elif hasattr(f, "write"):
        f.write(to_bytes(arrays, metadata))
    else:
        raise TypeError(f"{who}: expected a path or a writable binary file object, got "
                        f"{type(f).__name__}")


def _read(f: FileLike, who: str) -> tuple[bytes, str]:
    """The file's bytes and a name for it in error messages."""
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "rb") as fh:
            return fh.read(), os.fsdecode(f)
    if not hasattr(f, "read"):
        raise TypeError(f"{who}: expected a path or a readable binary file object, got "
                        f"{type(f).__name__}")
    data = f.read()
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"{who}: the file object must be opened in binary mode ('rb')")
    return bytes(data), str(getattr(f, "name", "<file object>"))


def _tensor_maker(map_location: Any, who: str):
    if map_location is None:
        return from_numpy
    if not isinstance(map_location, (str, Device)):
        raise TypeError(f"{who}: map_location must be None, a device or a device string, "
                        f"got {type(map_location).__name__}")
    target = _device(map_location)
    return lambda a: from_numpy(a).to(target)


def save(obj: Any, f: FileLike) -> None:
    """Save ``obj`` — a tensor, or any nesting of dict / OrderedDict (str, int, float, bool
    or None keys), list, tuple, str, int, float, bool, None and tensors — to ``f``.

    ``f`` is a path, written atomically (temporary file, fsync, rename: a crash never
    leaves half a file and an existing file stays intact on error), or a writable binary
    file object. A flat ``{str: Tensor}`` dict (a ``state_dict``) names the tensors in the
    file by its keys, so ``safetensors.torch.load_file`` reads it too. Raises TypeError
    naming the path of an unsupported value before anything is written.

    >>> ember.save({"model": model.state_dict(), "epoch": 3}, "ckpt.safetensors")
    """
    structure, tensors = encode(obj)
    arrays = {name: _host_array(t) for name, t in tensors.items()}
    text = json.dumps(structure, allow_nan=False, separators=(",", ":"))
    crcs = {"structure": zlib.crc32(text.encode()),
            "tensors": {name: _crc32(a) for name, a in arrays.items()}}
    metadata = {"format": "ember", "ember_format_version": str(FORMAT_VERSION),
                "structure": text, "crc32": json.dumps(crcs, separators=(",", ":"))}
    _write(arrays, metadata, f, "ember.save")


def _ember_metadata(metadata: dict[str, str], source: str) -> tuple[Any, dict[str, int]]:
    """The parsed structure and CRC table of an ember file's metadata."""
    version = metadata.get("ember_format_version")
    if version is None or not re.fullmatch(r"[0-9]{1,9}", version):
        raise RuntimeError(f"ember.load: {source}: ember file with a missing or malformed "
                           f"ember_format_version ({version!r})")
    if int(version) > FORMAT_VERSION:
        raise RuntimeError(f"ember.load: {source} was written in ember checkpoint format "
                           f"version {int(version)}; this ember reads format versions up to "
                           f"{FORMAT_VERSION}: upgrade ember to load it")
    if int(version) < 1:
        raise RuntimeError(f"ember.load: {source}: unknown ember format version {version}")
    missing = {"structure", "crc32"} - metadata.keys()
    if missing:
        raise RuntimeError(f"ember.load: {source}: ember metadata lacks {sorted(missing)}")
    text = metadata["structure"]
    try:
        crcs = json.loads(metadata["crc32"])
        structure_crc, tensor_crcs = crcs["structure"], crcs["tensors"]
    except (ValueError, TypeError, KeyError):
        structure_crc = tensor_crcs = None
    if type(structure_crc) is not int or not isinstance(tensor_crcs, dict):
        raise RuntimeError(f"ember.load: {source}: malformed crc32 entry in the metadata")
    if zlib.crc32(text.encode()) != structure_crc:
        raise RuntimeError(f"ember.load: {source}: the structure is corrupted (its CRC32 "
                           f"checksum does not match)")
    try:
        structure = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        raise RuntimeError(f"ember.load: {source}: the structure is not valid JSON "
                           f"({type(e).__name__}: {str(e)[:100]})") from None
    return structure, tensor_crcs


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def load(f: FileLike, map_location: Any = None, *, weights_only: bool = True) -> Any:
    """Load what :func:`save` wrote to ``f`` (a path or a readable binary file object): the
    same containers and values, with fresh, writable tensors (``requires_grad=False``) on
    ``map_location`` (None or 'cpu': the CPU).

    Another program's safetensors file (e.g. ``safetensors.torch.save_file``) loads as a
    dict of name -> tensor in file order. Loading never runs code (no pickle), so
    ``weights_only`` is accepted for PyTorch compatibility only. A truncated, corrupted,
    foreign or newer-format file raises RuntimeError naming the file and the problem.

    >>> ckpt = ember.load("ckpt.safetensors")
    """
    make = _tensor_maker(map_location, "ember.load")
    data, source = _read(f, "ember.load")
    try:
        metadata, arrays = from_bytes(data, source)
    except RuntimeError as e:
        raise RuntimeError(f"ember.load: {e}") from None
    # Either mark makes it ember's, so that one damaged mark is an error, not a foreign file.
    if metadata.get("format") != "ember" and "ember_format_version" not in metadata:
        return {name: make(a) for name, a in arrays.items()}
    structure, crcs = _ember_metadata(metadata, source)
    for name, a in arrays.items():
        if crcs.get(name) != _crc32(a):
            raise RuntimeError(f"ember.load: {source}: tensor {name!r} is corrupted (its "
                               f"CRC32 checksum does not match)")
    tensors: dict[str, Tensor] = {}

    def tensor(name: str) -> Tensor:
        if name not in tensors:
            tensors[name] = make(arrays[name])      # KeyError: a name the file lacks
        return tensors[name]

    try:
        obj = decode(structure, tensor)
    except StructureError as e:
        raise RuntimeError(f"ember.load: {source}: corrupt structure: {e}") from None
    unused = arrays.keys() - tensors.keys()
    if unused:
        raise RuntimeError(f"ember.load: {source}: tensors {sorted(unused)[:5]} are not "
                           f"referenced by the structure")
    return obj


def save_file(tensors: dict[str, Tensor], filename: str | os.PathLike,
              metadata: dict[str, str] | None = None) -> None:
    """Write a plain safetensors file of named tensors (plus optional string metadata),
    atomically, like ``safetensors.torch.save_file`` does for torch tensors.

    >>> ember.io.save_file(model.state_dict(), "model.safetensors")
    """
    if not isinstance(tensors, dict) or not all(
            isinstance(k, str) and isinstance(v, Tensor) for k, v in tensors.items()):
        raise TypeError("save_file: expected a dict of str -> Tensor")
    if metadata is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("save_file: metadata must be a dict of str -> str")
    arrays = {name: _host_array(t) for name, t in tensors.items()}
    _write(arrays, metadata, filename, "save_file")


def load_file(filename: str | os.PathLike, device: Any = "cpu") -> dict[str, Tensor]:
    """All tensors of a safetensors file by name, in file order (metadata is ignored).

    >>> sd = ember.io.load_file("model.safetensors")
    """
    make = _tensor_maker(device, "load_file")
    data, source = _read(filename, "load_file")
    try:
        _, arrays = from_bytes(data, source)
    except RuntimeError as e:
        raise RuntimeError(f"load_file: {e}") from None
    return {name: make(a) for name, a in arrays.items()}
