"""Safe checkpoints: ``ember.save`` / ``ember.load`` and plain tensor files.

No pickle is ever written or read: tensors go into a safetensors file, everything else
(containers, numbers, strings, None) into JSON in that file's metadata, so loading a file
from anywhere never runs code. Writes to a path are atomic (temporary file, fsync, rename).

>>> ember.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
...             "epoch": 3, "rng": ember.get_rng_state()}, "ckpt.safetensors")
>>> ckpt = ember.load("ckpt.safetensors")

File format, version 1
----------------------
One standard safetensors file (8-byte little-endian header length, JSON header, tensor
bytes), written by the ``safetensors`` library. Tensor dtypes: F64, F32, F16, BF16, I64,
I32, I16, I8, U8, BOOL; every tensor is stored C-contiguous, 0-d and size-0 included.

Tensor names are the dotted path of keys and indices leading to the tensor
(``"model.fc.weight"``, ``"optimizer.state.0.exp_avg"``; a lone tensor is ``"tensor"``),
with ``"#1"``, ``"#2"``... appended when two paths give the same name. So a flat
``{str: Tensor}`` dict (a ``state_dict``) is stored under exactly its keys and
``safetensors.torch.load_file`` reads it as torch tensors. A tensor object that appears
twice is stored twice.

The header's ``__metadata__`` (string -> string) holds:

- ``"format": "ember"`` — marks an ember checkpoint;
- ``"ember_format_version": "1"`` — a reader refuses versions newer than it knows;
- ``"structure"`` — JSON of the saved object, tensors replaced by ``{"tensor": name}``
  (the encoding of each type is in :mod:`ember.io.structure`);
- ``"crc32"`` — JSON ``{"structure": <CRC-32 of the structure text, UTF-8>,
  "tensors": {name: <CRC-32 of the tensor bytes>}}``, checked on loading.

A file with either ``"format": "ember"`` or an ``"ember_format_version"`` is read as an
ember checkpoint and must be complete and consistent; any other safetensors file (e.g. from
PyTorch's ``safetensors.torch.save_file``) loads as a dict of name -> tensor in file order.
``tests/io/data/`` keeps a version-1 file that every later ember must still load.
"""
from ember.io.checkpoint import FORMAT_VERSION, load, load_file, save, save_file

__all__ = ["save", "load", "save_file", "load_file", "FORMAT_VERSION"]
