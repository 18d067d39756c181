"""Exact comparison of loaded checkpoints: same types (tuple vs list, dict vs OrderedDict,
key types), same order, same floats bit for bit (NaN and -0.0 included), tensors with the
same dtype, shape and bytes."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import ember
from ember.io import load, save


def assert_same(got: Any, expected: Any, path: str = "") -> None:
    """Assert ``got`` equals ``expected`` exactly, naming the first difference's path."""
    assert type(got) is type(expected) or (isinstance(got, ember.Tensor) and
                                            isinstance(expected, ember.Tensor)), \
        f"{path}: type {type(got).__name__} != {type(expected).__name__}"
    if isinstance(expected, ember.Tensor):
        assert got.dtype == expected.dtype, f"{path}: {got.dtype} != {expected.dtype}"
        assert got.shape == expected.shape, f"{path}: {got.shape} != {expected.shape}"
        assert not got.requires_grad
        a, b = got.numpy(), np.ascontiguousarray(expected.numpy(force=True))
        assert a.flags.writeable, f"{path}: loaded tensor is read-only"
        assert a.tobytes() == b.tobytes(), f"{path}: values differ"
    elif isinstance(expected, dict):
        gk, ek = list(got), list(expected)
        assert [(type(k), k) for k in gk] == [(type(k), k) for k in ek], \
            f"{path}: keys {gk} != {ek}"
        for k in ek:
            assert_same(got[k], expected[k], f"{path}[{k!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), f"{path}: length {len(got)} != {len(expected)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_same(g, e, f"{path}[{i}]")
    elif isinstance(expected, float):
        assert (math.isnan(got) and math.isnan(expected)) or \
            (got == expected and math.copysign(1, got) == math.copysign(1, expected)), \
            f"{path}: {got!r} != {expected!r}"
    else:
        assert got == expected, f"{path}: {got!r} != {expected!r}"


def roundtrip(obj: Any, tmp_path: Any) -> Any:
    """``ember.load(ember.save(obj))`` through a file in ``tmp_path``."""
    path = tmp_path / "obj.safetensors"
    save(obj, path)
    return load(path)
