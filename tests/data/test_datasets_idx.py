import gzip
import os
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ember.data.datasets import read_idx

FASHION = "/usr/share/datasets/fashion-mnist"

# Writing IDX files independently of ember's reader: ``struct`` for the big-endian
# header, NumPy's explicit big-endian dtypes for the payload (also used by the MNIST tests).
CODES = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D,
         "float64": 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, CODES[array.dtype.name], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array: np.ndarray, compress: bool = False) -> str:
    data = idx_bytes(array)
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if compress else data)
    return str(path)


def _require_fashion_mnist():
    assert os.path.isdir(FASHION), (
        f"{FASHION} is missing: these tests need Debian's Fashion-MNIST package, "
        f"run `apt-get install -y dataset-fashion-mnist`")


def test_reads_the_real_fashion_mnist_files_like_an_independent_decode():
    _require_fashion_mnist()
    path = f"{FASHION}/t10k-images-idx3-ubyte.gz"
    images = read_idx(path)
    raw = gzip.decompress(open(path, "rb").read())
    assert raw[:4] == b"\x00\x00\x08\x03"
    expected = np.frombuffer(raw[16:], np.uint8).reshape(10000, 28, 28)
    assert images.dtype == np.uint8 and images.shape == (10000, 28, 28)
    np.testing.assert_array_equal(images, expected)
    labels = read_idx(f"{FASHION}/t10k-labels-idx1-ubyte.gz")
    raw = gzip.decompress(open(f"{FASHION}/t10k-labels-idx1-ubyte.gz", "rb").read())
    np.testing.assert_array_equal(labels, np.frombuffer(raw[8:], np.uint8))


@given(hnp.arrays(st.sampled_from(list(CODES)), hnp.array_shapes(min_dims=1, max_dims=4,
                                                                  min_side=0, max_side=5)),
       st.booleans())
def test_round_trips_every_dtype_and_shape(tmp_path_factory, array, compress):
    path = write_idx(tmp_path_factory.mktemp("idx") / "a.idx", array, compress)
    got = read_idx(path)
    assert got.dtype == array.dtype and got.dtype.isnative and got.shape == array.shape
    np.testing.assert_array_equal(got, array)
    got[...] = 0                        # writable, and not a view of anything shared


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    array = np.arange(24, dtype=np.int16).reshape(2, 3, 4) - 7
    path = tmp_path / "no_suffix"
    path.write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(path), array)


def _write(tmp_path, data: bytes, name="bad.idx") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("data, message", [
    (b"\x00\x00", r"too short for an IDX header \(2 bytes"),
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", r"not an IDX file: its magic number 01 00 08 01"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", r"unknown IDX dtype code 0x07"),
    (b"\x00\x00\x08\x00", r"declares 0 dimensions"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00", r"truncated inside its header: 3 dimensions "
                                                  r"need 16 header bytes, the file has 10"),
])
def test_bad_headers_raise_a_value_error_naming_the_file(tmp_path, data, message):
    path = _write(tmp_path, data)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert path in str(info.value)


def test_payload_shorter_or_longer_than_the_dims_is_refused(tmp_path):
    good = idx_bytes(np.zeros((3, 2, 2), np.int32))
    with pytest.raises(ValueError, match=r"truncated: shape \(3, 2, 2\) of int32 needs 48 "
                                         r"bytes after the 16-byte header, found 47"):
        read_idx(_write(tmp_path, good[:-1]))
    with pytest.raises(ValueError, match=r"longer than its header says: .* needs 48 bytes "
                                         r".* found 49"):
        read_idx(_write(tmp_path, good + b"\x00"))


def test_truncated_gzip_stream_is_a_clear_value_error(tmp_path):
    data = gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8)))
    path = _write(tmp_path, data[: len(data) // 2], "cut.gz")
    with pytest.raises(ValueError, match=r"cut.gz' is a corrupt or truncated gzip stream"):
        read_idx(path)


def test_gzip_with_a_damaged_checksum_is_refused(tmp_path):
    data = bytearray(gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8))))
    data[-8] ^= 0xFF                    # the CRC-32 of the trailer
    with pytest.raises(ValueError, match=r"corrupt or truncated gzip stream \(BadGzipFile"):
        read_idx(_write(tmp_path, bytes(data), "crc.gz"))


def test_a_dot_gz_name_on_a_file_that_is_not_gzip_is_refused(tmp_path):
    path = _write(tmp_path, b"PK\x03\x04rest", "zip.gz")
    with pytest.raises(ValueError, match=r"named .gz but is not a gzip stream \(first bytes "
                                         r"50 4b 03 04, expected 1f 8b\)"):
        read_idx(path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing.idx")
