"""Shifts, random in-place fills and the size= keyword, against torch."""
import numpy as np
import pytest
import torch

import ember
from conformance import check


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8])
def test_shift_operators(dtype):
    x = np.arange(0, 6).reshape(2, 3).astype(dtype)
    s = np.array([1, 2, 0], dtype=dtype)
    check(lambda m, a, b: (a << b, a >> b, a << 2, a >> 1), x, s)


def test_shift_refuses_floats():
    with pytest.raises(TypeError, match="bitwise_left_shift"):
        ember.ones(2) << 1


def test_uniform_and_normal_fill_in_place_reproducibly():
    t = ember.empty(2000)
    ember.manual_seed(3)
    t.uniform_(-2.0, 1.0)
    first = t.numpy().copy()
    assert first.min() >= -2.0 and first.max() < 1.0 and abs(first.mean() + 0.5) < 0.1
    ember.manual_seed(3)
    assert np.array_equal(t.uniform_(-2.0, 1.0).numpy(), first)
    n = ember.empty(4000, dtype=ember.float64).normal_(1.0, 2.0)
    assert n.dtype == ember.float64 and abs(n.numpy().std() - 2.0) < 0.15
    with pytest.raises(RuntimeError, match="std"):
        n.normal_(0.0, -1.0)


@pytest.mark.parametrize("fill", ["uniform_", "normal_"])
def test_random_fill_refuses_integer_tensors_like_torch(fill):
    with pytest.raises(NotImplementedError):
        getattr(torch.zeros(3, dtype=torch.int64), fill)()
    with pytest.raises(NotImplementedError, match=f"{fill}.*int64"):
        getattr(ember.zeros(3, dtype=ember.int64), fill)()


def test_random_fill_refuses_a_leaf_that_requires_grad():
    w = ember.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w.uniform_()
    with ember.no_grad():
        w.normal_()
    assert w.requires_grad


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_size_keyword(name):
    assert tuple(getattr(ember, name)(size=(2, 3)).shape) == \
        tuple(getattr(torch, name)(size=(2, 3)).shape)
    with pytest.raises(TypeError):
        getattr(ember, name)(2, size=(2, 3))
