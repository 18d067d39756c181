"""default_collate / default_convert against torch.utils.data's."""
import collections

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from hypothesis import given, strategies as st

import ember
from ember.data import default_collate, default_convert

Point = collections.namedtuple("Point", "x y")


def assert_same(got, want):
    """``got`` (Ember) has the structure, types, dtypes and values of ``want`` (torch)."""
    if isinstance(want, torch.Tensor):
        assert isinstance(got, ember.Tensor), f"{type(got)} is not a tensor"
        assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    elif isinstance(want, dict):
        assert type(got) is type(want) and list(got) == list(want)
        for k in want:
            assert_same(got[k], want[k])
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)
    else:
        assert type(got) is type(want) and got == want


def to_torch(sample):
    """The same sample with Ember tensors replaced by torch tensors."""
    if isinstance(sample, ember.Tensor):
        return torch.from_numpy(sample.numpy().copy())
    if isinstance(sample, dict):
        return {k: to_torch(v) for k, v in sample.items()}
    if isinstance(sample, Point):
        return Point(*(to_torch(v) for v in sample))
    if isinstance(sample, (list, tuple)):
        return type(sample)(to_torch(v) for v in sample)
    return sample


BATCHES = [
    [ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0])],
    [ember.tensor(5), ember.tensor(6)],
    [np.arange(6, dtype=np.uint8).reshape(2, 3), np.ones((2, 3), np.uint8)],
    [np.float32(1.5), np.float32(2.5)],
    [np.int32(1), np.int32(2)],
    [np.float64(1), np.float16(2)],
    [1.5, 2.0],
    [1, 2, 3],
    [True, False],
    [1, True],
    ["a", "b"],
    [b"a", b"b"],
    [{"x": 1, "y": "s", "z": {"w": 2.0}}, {"x": 2, "y": "t", "z": {"w": 3.0}}],
    [(1, 2.0, "a"), (3, 4.0, "b")],
    [[1, 2], [3, 4]],
    [Point(ember.zeros(2), 1), Point(ember.ones(2), 2)],
    [(np.zeros((2, 2)), {"k": [1, 2]}), (np.ones((2, 2)), {"k": [3, 4]})],
]


@pytest.mark.parametrize("batch", BATCHES, ids=range(len(BATCHES)))
def test_default_collate_matches_torch(batch):
    assert_same(default_collate(batch), tud.default_collate(to_torch(batch)))


@pytest.mark.parametrize("data", [
    np.arange(4), np.float32(2.5), np.array(["a"]), (np.arange(2), "a", 3),
    [np.ones(2), np.int64(3)], {"a": np.zeros(2), "b": b"x"}, Point(np.ones(1), None),
    "text", 7, None, ember.tensor([1.0]),
])
def test_default_convert_matches_torch(data):
    assert_same(default_convert(data), tud.default_convert(to_torch(data)))


def test_collate_of_tensors_keeps_the_graph():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    default_collate([x, x * 2]).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_numpy_arrays_become_ember_tensors_not_numpy():
    out = default_collate([np.zeros(3, np.float32)] * 4)
    assert isinstance(out, ember.Tensor) and out.shape == (4, 3) and out.dtype == ember.float32


def test_mutable_custom_containers_keep_their_type():
    class Box(dict):
        pass

    out = default_collate([Box(a=1), Box(a=2)])
    assert type(out) is Box
    assert_same(dict(out), {"a": torch.tensor([1, 2])})


@given(st.lists(st.integers(1, 4), min_size=0, max_size=3), st.integers(1, 5))
def test_stacked_shape_matches_torch(shape, n):
    samples = [np.random.default_rng(i).standard_normal(shape) for i in range(n)]
    assert_same(default_collate(samples), tud.default_collate(samples))


ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists"


@pytest.mark.parametrize("batch,err,match", [
    ([None, None], TypeError, ERR + "; found <class 'NoneType'>"),
    ([object()], TypeError, ERR + "; found <class 'object'>"),
    ([np.array(["a"]), np.array(["b"])], TypeError, ERR + "; found <U1"),
    ([np.array([object()])], TypeError, ERR + "; found object"),
    ([[1, 2], [1]], RuntimeError, "each element in list of batch should be of equal size"),
    ([np.zeros(2), np.zeros(3)], RuntimeError, "stack expects each tensor to be equal size"),
    ([], IndexError, "empty batch"),
])
def test_bad_batches_raise_like_torch(batch, err, match):
    with pytest.raises(err, match=match.replace("(", r"\(").replace("[", r"\[")):
        default_collate(batch)
    if batch:   # torch agrees on the error type
        with pytest.raises(err):
            tud.default_collate(batch)
