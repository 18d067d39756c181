"""Old files keep loading: ``data/checkpoint_v1.safetensors`` was written once by
``ember.save(_expected_v1(), path)`` in ember checkpoint format version 1 and is never
regenerated. Files from a newer format are refused with both versions named."""
import math
from collections import OrderedDict
from pathlib import Path

import pytest
import safetensors
import safetensors.numpy
import safetensors.torch
import torch

import ember
from ember.io import FORMAT_VERSION, load
from checkpoint_helpers import assert_same

V1_FILE = Path(__file__).parent / "data" / "checkpoint_v1.safetensors"


def _expected_v1():
    """The object in the version-1 file, written out literally."""
    return {
        "model": OrderedDict([
            ("fc.weight", ember.tensor([[1.5, -2.0], [0.25, 3.0]], dtype=ember.float32)),
            ("fc.bias", ember.tensor([0.5, -1.0], dtype=ember.bfloat16)),
            ("bn.num_batches_tracked", ember.tensor(12, dtype=ember.int64)),
        ]),
        "optimizer": {
            "state": {0: {"step": ember.tensor(3.0), "exp_avg":
                          ember.tensor([0.125, -0.5], dtype=ember.float16)}},
            "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1],
                              "foreach": None, "nesterov": False}],
        },
        "epoch": 7,
        "best_loss": math.inf,
        "rng": ember.tensor([1, 2, 255], dtype=ember.uint8),
        "mask": ember.tensor([[True, False]]),
        "empty": ember.zeros(0, 2, dtype=ember.int32),
        "note": "format v1",
    }


def test_version_1_file_still_loads():
    got = load(V1_FILE)
    assert_same(got, _expected_v1())
    assert got["model"]["fc.bias"].tolist() == [0.5, -1.0]
    assert got["optimizer"]["state"][0]["exp_avg"].tolist() == [0.125, -0.5]


def test_version_1_file_is_plain_safetensors():
    with safetensors.safe_open(V1_FILE, "pt") as f:
        meta = f.metadata()
        assert meta["format"] == "ember" and meta["ember_format_version"] == "1"
        assert f.get_tensor("model.fc.bias").dtype == torch.bfloat16
        assert f.get_tensor("optimizer.state.0.exp_avg").tolist() == [0.125, -0.5]


def test_this_ember_writes_version_1():
    assert FORMAT_VERSION == 1


def test_newer_version_is_refused_naming_both(tmp_path):
    path = tmp_path / "v2.safetensors"
    path.write_bytes(safetensors.numpy.save(
        {}, metadata={"format": "ember", "ember_format_version": "2",
                      "structure": "something only version 2 understands"}))
    with pytest.raises(RuntimeError, match=r"format version 2; this ember reads format "
                                           r"versions up to 1"):
        load(path)
