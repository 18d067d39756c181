"""Every malformed file — truncated, corrupted, foreign, pickled or malicious — makes
ember.load raise RuntimeError naming the file and the problem, promptly, never another
exception, a crash, a hang or running code."""
import io
import json
import struct
import zlib

import numpy as np
import pytest
import safetensors.numpy
import torch
from hypothesis import given, strategies as st

import ember
from ember.io import load, load_file, save
from checkpoint_helpers import assert_same


def _raw(header, data=b"", length=None):
    """A safetensors-like file with this header (object or raw bytes) and data."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def _f32(name="a", n=1, start=0):
    return {name: {"dtype": "F32", "shape": [n], "data_offsets": [start, start + 4 * n]}}


def _torch_file(**kwargs):
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf, **kwargs)
    return buf.getvalue()


CONTAINER_CASES = {
    "empty": (b"", "header too small"),
    "seven bytes": (b"\x01" * 7, "header too small"),
    "header length 2**63": (struct.pack("<Q", 2 ** 63) + b"{}", "header too large"),
    "header past the end": (_raw(b"{}", length=1000), "invalid header length"),
    "header not JSON": (_raw(b"{nope"), "invalid JSON"),
    "header a list": (_raw([1, 2]), "invalid JSON"),
    "header not UTF-8": (_raw(b'{"\xff": 1}'), "UTF-8"),
    "overlapping offsets": (_raw({**_f32("a"), **_f32("b")}, b"\0" * 4), "invalid offset"),
    "offsets past the data": (_raw(_f32("a", 2), b"\0" * 4), "not fully covered"),
    "trailing bytes": (_raw(_f32("a"), b"\0" * 8), "not fully covered"),
    "size does not match shape": (_raw({"a": {"dtype": "F32", "shape": [3],
                                              "data_offsets": [0, 8]}}, b"\0" * 8),
                                  "invalid shape, data type, or offset"),
    "huge shape": (_raw({"a": {"dtype": "F32", "shape": [2 ** 62, 2 ** 62, 4],
                               "data_offsets": [0, 0]}}), "overflow"),
    "negative shape": (_raw({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}),
                       "invalid"),
    "unknown dtype": (_raw({"a": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}},
                           b"\0" * 4), "unknown variant"),
    "dtype ember lacks": (_raw({"a": {"dtype": "U16", "shape": [2], "data_offsets": [0, 4]}},
                               b"\0" * 4), "dtype U16, which ember does not support"),
    "65 dimensions": (_raw({"a": {"dtype": "U8", "shape": [1] * 65, "data_offsets": [0, 1]}},
                           b"\0"), "cannot be made"),
    "header nested 50000 deep": (_raw(b'{"a":' * 50000 + b"1" + b"}" * 50000), "invalid"),
    "random garbage": (np.random.default_rng(0).bytes(1000), "not a valid safetensors"),
    "text": (b"hello, this is not a checkpoint\n", "not a valid safetensors"),
    "torch.save zip": (_torch_file(), "ember never reads pickle"),
    "torch.save legacy pickle": (_torch_file(_use_new_zipfile_serialization=False),
                                 "ember never reads pickle"),
}


def _ember_file(structure, tensors=None, version="1", crc=None, drop=()):
    """An ember checkpoint with this structure (object or JSON text) and tensors, with
    correct checksums unless ``crc`` replaces the table."""
    tensors = tensors or {}
    text = structure if isinstance(structure, str) else json.dumps(structure)
    crcs = {"structure": zlib.crc32(text.encode()),
            "tensors": {k: zlib.crc32(v.tobytes()) for k, v in tensors.items()}}
    meta = {"format": "ember", "ember_format_version": version, "structure": text,
            "crc32": json.dumps(crcs) if crc is None else crc}
    for key in drop:
        del meta[key]
    return safetensors.numpy.save(tensors, metadata=meta)


_W = {"w": np.arange(3, dtype=np.float32)}
_DEEP = "[" * 150 + "]" * 150

EMBER_CASES = {
    "version not a number": (_ember_file(1, version="one"), "malformed ember_format_version"),
    "version 0": (_ember_file(1, version="0"), "unknown ember format version 0"),
    "version huge": (_ember_file(1, version="9" * 5000), "malformed ember_format_version"),
    "no structure": (_ember_file(1, drop=["structure"]), "lacks \\['structure'\\]"),
    "no checksums": (_ember_file(1, drop=["crc32"]), "lacks \\['crc32'\\]"),
    "checksums not JSON": (_ember_file(1, crc="{"), "malformed crc32"),
    "checksums wrong shape": (_ember_file(1, crc="[1]"), "malformed crc32"),
    "structure checksum wrong": (_ember_file(1, crc='{"structure": 1, "tensors": {}}'),
                                 "structure is corrupted"),
    "tensor data corrupted": (_ember_file({"tensor": "w"}, _W)[:-1] + b"\x01",
                              "tensor 'w' is corrupted"),
    "structure not JSON": (_ember_file("{nope"), "structure is not valid JSON"),
    "structure with NaN": (_ember_file("NaN"), "structure is not valid JSON"),
    "structure recursion bomb": (_ember_file("[" * 100000 + "]" * 100000),
                                 "not valid JSON \\(RecursionError"),
    "structure nested 150 deep": (_ember_file(_DEEP), "nesting deeper than 100"),
    "missing tensor": (_ember_file({"tensor": "nope"}), "'nope', which the file lacks"),
    "tensor name not a string": (_ember_file({"tensor": 3}), "not a string"),
    "unknown tag": (_ember_file({"set": [1]}), "unknown type tag 'set'"),
    "two tags": (_ember_file({"tuple": [], "dict": []}), "instead of one type tag"),
    "empty object": (_ember_file({}), "instead of one type tag"),
    "long key in a bad entry": (_ember_file({"dict": [["k" * 10 ** 6, {"set": 1}]]}),
                                r"tag 'set' at \['k{56}\.\.\.\]$"),
    "bad float": (_ember_file({"float": "1.5"}), "bad float value '1.5'"),
    "dict not pairs": (_ember_file({"dict": [[1, 2, 3]]}), "pairs"),
    "tuple not a list": (_ember_file({"tuple": 3}), "tuple that is not a list"),
    "key of dict type": (_ember_file({"dict": [[{"tensor": "w"}, 1]]}, _W), "dict key"),
    "duplicate key": (_ember_file({"dict": [["a", 1], ["a", 2]]}), "key 'a' twice"),
    "unreferenced tensor": (_ember_file(1, _W), "not referenced"),
}


@pytest.mark.parametrize("name", list(CONTAINER_CASES) + list(EMBER_CASES))
def test_malformed_file_raises_clear_error(tmp_path, name):
    data, match = {**CONTAINER_CASES, **EMBER_CASES}[name]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(RuntimeError, match=match) as info:
        load(path)
    assert str(path) in str(info.value)
    with pytest.raises(RuntimeError, match=match):
        load(io.BytesIO(data))


@pytest.mark.parametrize("name", CONTAINER_CASES)
def test_load_file_rejects_malformed_containers(tmp_path, name):
    data, match = CONTAINER_CASES[name]
    (tmp_path / "bad.safetensors").write_bytes(data)
    with pytest.raises(RuntimeError, match=match):
        load_file(tmp_path / "bad.safetensors")


def test_nesting_at_the_limit_loads():
    got = load(io.BytesIO(_ember_file("[" * 100 + "]" * 100)))
    for _ in range(99):
        got = got[0]
    assert got == []


@pytest.fixture(scope="module")
def checkpoint():
    buf = io.BytesIO()
    save({"w": ember.arange(6.).reshape(2, 3), "step": ember.tensor(3), "lr": 0.1,
          "groups": [{"betas": (0.9, 0.99), 0: None}]}, buf)
    return buf.getvalue()


def test_truncated_at_every_byte_raises(checkpoint):
    for n in range(len(checkpoint)):
        with pytest.raises(RuntimeError, match="not a valid safetensors file"):
            load(io.BytesIO(checkpoint[:n]))


def test_every_corrupted_byte_is_caught(checkpoint):
    """Flip one bit anywhere: the load fails cleanly, or (a flip in the informational
    "format": "ember" entry) gives exactly the saved object."""
    expected = load(io.BytesIO(checkpoint))
    loaded = []
    for i in range(len(checkpoint)):
        bad = bytearray(checkpoint)
        bad[i] ^= 1
        try:
            got = load(io.BytesIO(bytes(bad)))
        except RuntimeError:
            continue
        assert_same(got, expected)
        loaded.append(bad[i:i + 1])
    assert b"".join(loaded) == bytes(c ^ 1 for c in b"formatember")


@given(data=st.binary(max_size=200))
def test_random_bytes_raise_runtime_error(data):
    with pytest.raises(RuntimeError):
        load(io.BytesIO(data))


@given(tail=st.binary(max_size=64))
def test_valid_length_then_random_header_raises_runtime_error(tail):
    with pytest.raises(RuntimeError):
        load(io.BytesIO(struct.pack("<Q", len(tail)) + tail))


_TAGS = st.sampled_from(["tensor", "float", "tuple", "dict", "odict", "list", "w"])
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) |
    st.sampled_from(["w", "nan", "inf", "x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TAGS, inner, max_size=2),
    max_leaves=10)


@given(structure=_json)
def test_any_json_structure_loads_or_raises_runtime_error(structure):
    try:
        load(io.BytesIO(_ember_file(structure, _W)))
    except RuntimeError:
        pass
