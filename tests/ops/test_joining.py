import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember
from conformance import (FLOAT_DTYPES, arrays, check, check_error, draw_array, draw_dim,
                         draw_shape_dim, noncontiguous, shapes, with_size)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_cat_stack(dtype, data):
    shape, d = draw_shape_dim(data, min_dims=1, max_dims=3)
    n = len(shape)
    k = data.draw(st.integers(1, 3))
    xs = [noncontiguous(arrays(data.draw, with_size(shape, d, data.draw(st.integers(0, 3))),
                               dtype)) for _ in range(k)]
    check(lambda m, *ts: m.cat(ts, d), *xs)
    check(lambda m, *ts: m.concat(list(ts), dim=d), *xs)
    ys = [arrays(data.draw, shape, dtype) for _ in range(k)]
    sd = data.draw(st.integers(-n - 1, n))
    check(lambda m, *ts: m.stack(ts, sd), *ys)
    check(lambda m, *ts: m.hstack(ts), *ys)
    check(lambda m, *ts: m.vstack(ts), *ys)
    check(lambda m, *ts: m.dstack(ts), *ys)


def test_cat_promotes_and_skips_legacy_empty():
    a, i = np.ones((2, 3), np.float32), np.arange(6).reshape(2, 3)
    e64, ei = np.zeros(0), np.zeros(0, np.int64)
    check(lambda m, x, y: m.cat([x, y]), a, i)
    check(lambda m, x, y: m.cat([x, y], 1), a, e64)
    check(lambda m, x, y, z: m.cat([x, y, z], 1), e64, i, a)
    check(lambda m, x, y: m.cat([x, y]), ei, ei)
    check(lambda m, x, y: m.cat([x, y]), e64, e64)
    check(lambda m, x, y: m.stack([x, y]), a, i)
    check(lambda m, x, y: m.cat([x, y], -1), a > 0, i > 2)
    check(lambda m, x: m.stack([x]), np.array(3.0))
    check(lambda m, x, y: m.hstack([x, y]), np.array(1.0), np.array(2.0))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_split_chunk_unbind(dtype, data):
    shape, x = draw_array(data, dtype, min_dims=1, max_dims=3)
    d = draw_dim(data, len(shape))
    size = shape[d]
    s = data.draw(st.integers(1 if size else 0, 4))
    check(lambda m, a: m.split(a, s, d), x)
    cuts = sorted(data.draw(st.lists(st.integers(0, size), max_size=3)))
    sizes = [b - a for a, b in zip([0] + cuts, cuts + [size])]
    check(lambda m, a: a.split(sizes, d), x)
    c = data.draw(st.integers(1, 5))
    check(lambda m, a: m.chunk(a, c, d), x)
    check(lambda m, a: a.chunk(c, dim=d), noncontiguous(x))
    check(lambda m, a: m.unbind(a, d), x)
    check(lambda m, a: m.tensor_split(a, c, d), x)
    idx = data.draw(st.lists(st.integers(-size - 1, size + 1), max_size=3))
    check(lambda m, a: m.tensor_split(a, idx, d), x)
    check(lambda m, a: a.tensor_split(m.tensor(idx, dtype=m.int64), dim=d), x)


def test_split_with_some_unused_pieces_and_second_order():
    x = ember.randn(5, 2, dtype=ember.float64, requires_grad=True)
    ember.autograd.gradcheck(lambda a: a.split(2)[1] ** 2, [x])
    ember.autograd.gradgradcheck(lambda a: (a.unbind(1)[0] ** 3).sum(), [x])
    ember.autograd.gradgradcheck(lambda a: (ember.stack(a.chunk(3)[::2]) ** 3).sum(), [x[:4]])
    ember.autograd.gradgradcheck(lambda a: (ember.cat([a, a * a], 1) ** 2).sum(), [x])
    ember.autograd.gradgradcheck(lambda a: (a.tensor_split([3, 1])[2] ** 3).sum(), [x])


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.float32])
def test_int_and_bool_data(dtype):
    x = arrays(lambda s: 3, (4, 3), dtype, 0, 5)
    for fn in [lambda m, a: m.cat([a, a], 1), lambda m, a: m.stack([a, a], -1),
               lambda m, a: m.split(a, 3), lambda m, a: m.chunk(a, 2, 1),
               lambda m, a: m.unbind(a, 1), lambda m, a: m.tensor_split(a, 3),
               lambda m, a: m.vstack([a, a]), lambda m, a: m.broadcast_tensors(a, a[:1])]:
        check(fn, x)


@pytest.mark.parametrize("take", [lambda x: x.split(2)[1], lambda x: x.chunk(3, 1)[2],
                                  lambda x: x.unbind(1)[0], lambda x: x.tensor_split(3)[0]])
def test_pieces_are_views(take):
    x = ember.arange(12.0).reshape(4, 3)
    piece = take(x)
    before = x.numpy().copy()
    with ember.no_grad():
        piece.fill_(-1.0)
    assert (x.numpy() != before).sum() == piece.numel() and piece._version == x._version


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid(indexing):
    a, b, c = np.arange(3.0), np.arange(2.0) + 5, np.array(7.0)
    check(lambda m, x, y, z: m.meshgrid(x, y, z, indexing=indexing), a, b, c)
    check(lambda m, x, y: m.meshgrid([x, y], indexing=indexing), a, b)


@given(data=st.data())
def test_broadcast_tensors(data):
    s1, s2, s3 = data.draw(st.tuples(shapes(max_dims=3), shapes(max_dims=3),
                                     shapes(max_dims=3)).filter(_broadcasts))
    xs = [arrays(data.draw, s, np.float64) for s in (s1, s2, s3)]
    check(lambda m, *ts: m.broadcast_tensors(*ts), *xs)
    assert tuple(ember.broadcast_shapes(s1, s2, s3)) == tuple(torch.broadcast_shapes(s1, s2, s3))


def _broadcasts(ss):
    try:
        np.broadcast_shapes(*ss)
        return True
    except ValueError:
        return False


ERRORS = [
    (lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)]), RuntimeError,
     "dimension 0. Expected size 3 but got size 4 for tensor number 1"),
    (lambda m: m.cat([m.ones(2, 3), m.ones(2, 3, 1)]), RuntimeError, "got 2 and 3"),
    (lambda m: m.cat([m.tensor(1.0), m.tensor(2.0)]), RuntimeError, "zero-dimensional"),
    (lambda m: m.cat([]), ValueError, "non-empty"),
    (lambda m: m.cat([m.ones(2)], 1), IndexError, "Dimension out of range"),
    (lambda m: m.cat(m.ones(2)), TypeError, "tuple or list"),
    (lambda m: m.stack([m.ones(2, 3), m.ones(2, 4)]), RuntimeError,
     r"equal size, but got \[2, 3\] at entry 0 and \[2, 4\] at entry 1"),
    (lambda m: m.stack([]), RuntimeError, "non-empty"),
    (lambda m: m.stack([m.ones(2)], 2), IndexError, "Dimension out of range"),
    (lambda m: m.split(m.arange(5), [2, 2]), RuntimeError, r"sum exactly to 5.*\[2, 2\]"),
    (lambda m: m.split(m.arange(5), 0), RuntimeError, "split_size can only be 0"),
    (lambda m: m.split(m.arange(5), -1), RuntimeError, "non-negative"),
    (lambda m: m.chunk(m.arange(5), 0), RuntimeError, "greater than 0"),
    (lambda m: m.tensor_split(m.arange(5), 0), RuntimeError, "larger than 0"),
    (lambda m: m.unbind(m.tensor(1.0)), IndexError, "no dimensions"),
    (lambda m: m.broadcast_tensors(m.ones(2, 3), m.ones(4)), RuntimeError,
     r"size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dim"),
    (lambda m: m.meshgrid(m.ones(2, 2), indexing="ij"), RuntimeError, "0D or 1D"),
    (lambda m: m.meshgrid(m.ones(2), indexing="yx"), RuntimeError, "indexing must be"),
]


@pytest.mark.parametrize("fn,exc,msg", ERRORS)
def test_errors_match_torch(fn, exc, msg):
    check_error(fn, exc, msg)
