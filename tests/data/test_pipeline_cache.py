"""``cache``: in memory, the first complete pass is replayed (the input is not read
again); with a filename, that pass is written to a safetensors file (never pickle)
that later pipelines with the same filename read instead of their input."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import safetensors.numpy

from ember.data import pipeline as P


def counting_source(calls):
    def gen():
        calls.append(1)
        for i in range(4):
            yield {"x": np.full(i, i, dtype=np.float32), "tag": f"t{i}", "b": b"\x00\xff"}, i
    return P.from_generator(gen)


def plain(ds):
    return [({"x": f["x"].tolist(), "tag": f["tag"], "b": f["b"]}, int(y)) for f, y in ds]


EXPECTED = [({"x": [i] * i, "tag": f"t{i}", "b": b"\x00\xff"}, i) for i in range(4)]


def test_memory_cache_replays_first_full_pass():
    calls = []
    ds = counting_source(calls).cache()
    assert plain(ds) == EXPECTED
    assert plain(ds) == EXPECTED and len(calls) == 1


def test_memory_cache_ignores_a_partial_pass():
    calls = []
    ds = counting_source(calls).cache()
    assert len(plain(ds.take(2))) == 2
    assert plain(ds) == EXPECTED and plain(ds) == EXPECTED
    assert len(calls) == 2


def test_file_cache_round_trip_across_pipelines(tmp_path):
    path = tmp_path / "pass.cache"
    calls = []
    assert plain(counting_source(calls).cache(str(path))) == EXPECTED
    assert path.exists() and len(calls) == 1
    # a new pipeline (as in a later program) reads the file, not its input
    assert plain(counting_source(calls).cache(path)) == EXPECTED and len(calls) == 1
    # the file is plain safetensors: readable without Ember, no pickle
    arrays = safetensors.numpy.load_file(str(path))
    np.testing.assert_array_equal(arrays["c2.data"], [1, 2, 2, 3, 3, 3])
    np.testing.assert_array_equal(arrays["c2.shapes"], [[0], [1], [2], [3]])
    assert [n for n in os.listdir(tmp_path)] == ["pass.cache"]   # no temp files left


def test_file_cache_written_only_after_complete_pass(tmp_path):
    path = tmp_path / "c"
    ds = P.range(10).cache(str(path))
    assert [int(x) for x in ds.take(3)] == [0, 1, 2]
    assert not path.exists()
    assert [int(x) for x in ds] == list(range(10)) and path.exists()


def test_file_cache_of_empty_pipeline(tmp_path):
    path = str(tmp_path / "empty")
    assert list(P.range(0).cache(path)) == [] and list(P.range(0).cache(path)) == []


def test_malformed_cache_file_gives_clear_error(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x80\x04junk")
    with pytest.raises(RuntimeError, match="Pipeline.cache: .*bad: not a valid safetensors"):
        list(P.range(3).cache(str(path)))
    other = tmp_path / "other.safetensors"
    safetensors.numpy.save_file({"w": np.zeros(2)}, str(other), metadata={"format": "x"})
    with pytest.raises(RuntimeError, match="malformed pipeline cache file .*format 'x'"):
        list(P.range(3).cache(str(other)))
    lying = tmp_path / "lying"
    meta = {"format": "ember.pipeline.cache", "version": "1", "count": "2",
            "structure": json.dumps(0), "text": "{}"}
    safetensors.numpy.save_file({"c0.data": np.zeros(3), "c0.shapes": np.array([[1], [1]])},
                                str(lying), metadata=meta)
    with pytest.raises(RuntimeError, match="holds 3 values, its shapes need 2"):
        list(P.range(3).cache(str(lying)))


def test_cache_refuses_changing_dtypes_and_bad_filename(tmp_path):
    ds = P.from_generator(lambda: iter([np.zeros(2, np.float32), np.zeros(2, np.int64)]))
    with pytest.raises(ValueError, match="cache: component 0 changes dtype or rank"):
        list(ds.cache(str(tmp_path / "x")))
    with pytest.raises(TypeError, match="cache: filename must be a str or path"):
        P.range(2).cache(3)
