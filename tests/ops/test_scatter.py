import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember
from conformance import (FLOAT_DTYPES, arrays, check, check_error, draw_shape_dim,
                         noncontiguous, shapes, with_size)


def _draw_case(data, dtype, unique=False):
    """(x, dim, index, src) for gather/scatter: index no larger than x off ``dim`` and
    with distinct entries along ``dim`` when ``unique``."""
    shape, d = draw_shape_dim(data, min_dims=1, max_dims=3)
    ishape = tuple(data.draw(st.integers(0, s)) for s in shape)
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 31)))
    size = shape[d]
    if unique:
        ishape = with_size(ishape, d, min(ishape[d], size))
        full = with_size(shape, d, size)
        perm = rng.random(full).argsort(axis=d)
        index = perm[tuple(slice(0, k) for k in ishape)]
    else:
        ishape = with_size(ishape, d, data.draw(st.integers(0, 4)) if size else 0)
        index = rng.integers(0, max(size, 1), ishape)
    src_shape = tuple(k + data.draw(st.integers(0, 1)) for k in ishape)
    return (arrays(data.draw, shape, dtype), d, index.astype(np.int64),
            arrays(data.draw, src_shape, dtype))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_gather_scatter_add(dtype, data):
    x, d, index, src = _draw_case(data, dtype)
    check(lambda m, a, i: m.gather(a, d, i), x, index)
    check(lambda m, a, i: a.gather(d, i.int()), noncontiguous(x), index)
    exact = src[tuple(slice(0, k) for k in index.shape)]
    check(lambda m, a, i, s: m.scatter_add(a, d, i, s), x, index, exact)
    check(lambda m, a, i, s: a.clone().scatter_add_(d, i, s), x, index, exact)
    # PyTorch's backward fails when src is larger than index (its grad has index's shape);
    # Ember's pads the gradient with zeros, checked by finite differences
    check(lambda m, a, i, s: m.scatter_add(a, d, i, s), x, index, src, grad=False)
    if dtype == np.float64:
        ember.autograd.gradcheck(lambda s: ember.scatter_add(ember.tensor(x), d,
                                                             ember.tensor(index), s),
                                 [ember.tensor(src, requires_grad=True)])


@given(data=st.data())
def test_take_along_dim(data):
    shape, d = draw_shape_dim(data, min_dims=1, max_dims=3)
    ishape = tuple(data.draw(st.sampled_from([1, k])) for k in shape)
    xshape = tuple(data.draw(st.sampled_from([1, k])) for k in shape)
    ishape = with_size(ishape, d, data.draw(st.integers(0, 3)))
    size = xshape[d]
    x = arrays(data.draw, xshape, np.float64)
    i = np.random.default_rng(0).integers(-size, max(size, 1), ishape) if size else \
        np.zeros(with_size(ishape, d, 0), np.int64)
    check(lambda m, a, k: m.take_along_dim(a, k, d), x, i)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_scatter(dtype, data):
    x, d, index, src = _draw_case(data, dtype, unique=True)
    exact = src[tuple(slice(0, k) for k in index.shape)]
    check(lambda m, a, i, s: m.scatter(a, d, i, s), x, index, exact)
    check(lambda m, a, i, s: m.scatter(a, d, i, s), x, index, src, grad=False)
    check(lambda m, a, i: a.scatter(d, i, 2.5), x, index)
    check(lambda m, a, i: a.scatter(d, i, value=-1), x, index)
    check(lambda m, a, i, s: (a * 1).scatter_(d, i, s), x, index, exact)
    for reduce in ("add", "multiply"):
        check(lambda m, a, i, s: a.scatter(d, i, s, reduce=reduce), x, index, src, grad=False)


def test_scatter_reduce_forms_have_no_gradient():
    for m in (torch, ember):
        x = m.ones(2, 3, requires_grad=True)
        y = m.scatter(x, 1, m.tensor([[0], [2]]), 2.0, reduce="multiply")
        with pytest.raises(RuntimeError, match="not implemented"):
            y.sum().backward()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_index_family(dtype, data):
    shape, d = draw_shape_dim(data, min_dims=1, max_dims=3)
    size = shape[d]
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 31)))
    k = data.draw(st.integers(0, 4)) if size else 0
    idx = rng.integers(0, max(size, 1), k).astype(np.int64)
    uniq = rng.permutation(size)[:data.draw(st.integers(0, size))].astype(np.int64)
    x = arrays(data.draw, shape, dtype)
    src = arrays(data.draw, with_size(shape, d, k), dtype)
    usrc = arrays(data.draw, with_size(shape, d, len(uniq)), dtype)
    check(lambda m, a, i: m.index_select(a, d, i), x, idx)
    check(lambda m, a, i, s: m.index_add(a, d, i, s), x, idx, src)
    check(lambda m, a, i, s: a.index_add(d, i.int(), s, alpha=-2), x, idx, src)
    check(lambda m, a, i, s: m.index_copy(a, d, i, s), x, uniq, usrc)
    check(lambda m, a, i: m.index_fill(a, d, i - size, 1.5), x, idx)
    check(lambda m, a, i, v: a.index_fill(d, i, v), x, idx, np.array(0.5, dtype))
    check(lambda m, a, i, s: (a + 0).index_add_(d, i, s).index_fill_(d, i, 3.0), x, idx, src)
    check(lambda m, a, i, s: (a + 0).index_copy_(d, i, s), x, uniq, usrc)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_masked_family(dtype, data):
    s1 = data.draw(shapes(max_dims=3))
    s2 = tuple(data.draw(st.sampled_from([1, k])) for k in s1[data.draw(
        st.integers(0, len(s1))):])
    x = arrays(data.draw, s1, dtype)
    mask = np.asarray(arrays(data.draw, s2, np.bool_))  # arrays() gives np.bool_ for ()
    check(lambda m, a, k: m.masked_fill(a, k, -2.0), x, mask)
    check(lambda m, a, k, v: a.masked_fill(k, v), x, mask, np.array(3.0, dtype))
    check(lambda m, a, k: (a * 1).masked_fill_(k, 7), x, mask)
    check(lambda m, a, k: m.masked_select(a, k), x, mask)
    check(lambda m, a, k: m.masked_select(k.to(a.dtype), a > 0), x, mask)
    src = arrays(data.draw, (mask.size * max(x.size, 1) + 1,), dtype)
    check(lambda m, a, k, s: m.masked_scatter(a, k, s), x, mask, src)
    check(lambda m, a, k, s: (a * 1).masked_scatter_(k, s), x, mask, src)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.float32])
def test_int_and_bool_data(dtype):
    x = arrays(lambda s: 5, (3, 4), dtype, 0, 3)
    i = np.array([[0, 2, 1], [1, 1, 0]])
    v = arrays(lambda s: 6, (2, 3), dtype, 0, 3)
    for fn in [lambda m, a, v: m.gather(a, 1, m.tensor(i)),
               lambda m, a, v: m.scatter(a, 0, m.tensor([[0, 2, 1]]), v[:1]),
               lambda m, a, v: m.index_select(a, 1, m.tensor([3, 0, 3])),
               lambda m, a, v: m.index_copy(a, 1, m.tensor([2, 0, 1]), a[:, :3]),
               lambda m, a, v: m.index_fill(a, 0, m.tensor([1]), 1),
               lambda m, a, v: m.masked_fill(a, m.tensor([True, False, False, True]), 0),
               lambda m, a, v: m.masked_select(a, m.tensor([True, False, False, True])),
               lambda m, a, v: m.masked_scatter(a, a.bool(), m.ones(12, dtype=a.dtype)),
               lambda m, a, v: m.take(a, m.tensor([[0, -1], [5, 5]])),
               lambda m, a, v: m.take_along_dim(a, m.tensor(i)),
               lambda m, a, v: m.nonzero(a), lambda m, a, v: m.argwhere(a),
               lambda m, a, v: m.nonzero(a, as_tuple=True)]:
        check(fn, x, v)
    if dtype != np.bool_:
        check(lambda m, a, v: m.scatter_add(a, 1, m.tensor(i), v), x, v)
        check(lambda m, a, v: m.index_add(a, 1, m.tensor([1, 1, 2]), a[:, :3]), x, v)


def test_zero_d_and_empty_cases():
    s, one = np.array(2.0), np.array([3.0])
    check(lambda m, a: m.gather(a, 0, m.tensor(0)), s)
    check(lambda m, a: m.gather(a, 0, m.tensor([0, 0])), s)
    check(lambda m, a: m.gather(a, 0, m.tensor(0)), one)
    check(lambda m, a, b: m.scatter(a, 0, m.tensor(0), b), s, np.array(5.0))
    check(lambda m, a: m.index_select(a, 0, m.tensor([0])), s)
    check(lambda m, a: m.index_select(a, 0, m.tensor(0)), one)
    check(lambda m, a: m.masked_fill(a, m.tensor(True), 1.0), s)
    check(lambda m, a: m.take(a, m.tensor([[0]])), s)
    check(lambda m, a: m.take(a, m.zeros(0, dtype=m.int64)), np.ones((2, 0)))
    check(lambda m, a: m.nonzero(a), s)
    check(lambda m, a: m.nonzero(a, as_tuple=True), s)
    check(lambda m, a: m.nonzero(a), np.zeros((2, 0, 3)))
    check(lambda m, a: m.gather(a, 1, m.zeros(2, 0, dtype=m.int64)), np.ones((2, 3)))


@given(data=st.data())
def test_take_and_nonzero(data):
    shape = data.draw(shapes(max_dims=3))
    x = arrays(data.draw, shape, np.float64, -1, 1)
    x[np.abs(x) < 0.5] = 0
    n = max(x.size, 1)
    i = np.random.default_rng(0).integers(-n, n, data.draw(shapes(max_dims=2))) \
        if x.size else np.zeros((0,), np.int64)
    check(lambda m, a, k: m.take(a, k), x, i)
    check(lambda m, a: m.nonzero(a), x)
    check(lambda m, a: a.nonzero(as_tuple=True), x)
    check(lambda m, a: m.where(a != 0), x)
    check(lambda m, a, k: m.take_along_dim(a, k.reshape(-1) % n), x, i)


def test_masked_fill_value_tensor_gets_gradient_second_order():
    x = ember.randn(3, 4, dtype=ember.float64, requires_grad=True)
    v = ember.tensor(0.3, dtype=ember.float64, requires_grad=True)
    mask = ember.tensor([True, False, True, True])
    ember.autograd.gradgradcheck(lambda a, b: (a.masked_fill(mask, b) ** 3).sum(), [x, v])
    ember.autograd.gradgradcheck(
        lambda a, b: (a.index_fill(1, ember.tensor([0, 0, 2]), b) ** 3).sum(), [x, v])
    i = ember.tensor([[0, 1], [2, 2], [3, 0]])
    ember.autograd.gradgradcheck(lambda a: (a.gather(1, i) ** 3).sum(), [x])


def test_in_place_variants_respect_leaf_rule_and_write_in_place():
    x = ember.zeros(2, 3)
    y = x.masked_fill_(ember.tensor([True, False, True]), 1.0)
    assert y is x and x.numpy().sum() == 4 and x._version == 1
    x.scatter_(1, ember.tensor([[1], [1]]), 5.0).index_fill_(0, ember.tensor([0]), -1.0)
    assert x.numpy().tolist() == [[-1, -1, -1], [1, 5, 1]]
    w = ember.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.index_add_(0, ember.tensor([0]), ember.ones(1))


ERRORS = [
    (lambda m: m.gather(m.ones(2, 3), 1, m.tensor([[0], [3]])), (RuntimeError, IndexError),
     "index 3 is out of bounds for dimension 1 with size 3"),
    (lambda m: m.gather(m.ones(2, 3), 1, m.tensor([[-1], [0]])), (RuntimeError, IndexError),
     "index -1 is out of bounds"),
    (lambda m: m.gather(m.ones(2, 3), 1, m.tensor([0])), RuntimeError, "same number of dim"),
    (lambda m: m.gather(m.ones(2, 3), 1, m.tensor([[0], [1], [2]])), RuntimeError,
     "no larger than self"),
    (lambda m: m.gather(m.ones(2, 3), 1, m.tensor([[0.0]])), RuntimeError, "int32/int64"),
    (lambda m: m.gather(m.ones(2, 3), 1, m.tensor([[0]], dtype=m.int16)), RuntimeError,
     "int32/int64"),
    (lambda m: m.scatter(m.ones(2, 3), 1, m.tensor([[0]]), m.ones(1, 1, dtype=m.float64)),
     RuntimeError, "dtype"),
    (lambda m: m.scatter(m.ones(2, 3), 1, m.tensor([[0], [1]]), m.ones(1, 1)), RuntimeError,
     "no larger size than src"),
    (lambda m: m.scatter(m.ones(2, 3), 1, m.tensor([[1]]), m.tensor(2.0)), RuntimeError,
     "same number of dimensions as src"),
    (lambda m: m.scatter(m.ones(2, 3), 1, m.tensor([[3]]), 1.0), RuntimeError, "index 3"),
    (lambda m: m.scatter(m.ones(2, 3), 1, m.tensor([[1]]), 1.0, reduce="mean"), RuntimeError,
     "add or multiply"),
    (lambda m: m.scatter_add(m.ones(2, 3), 1, m.tensor([[0]]).float(), m.ones(2, 3)),
     RuntimeError, "int32/int64"),
    (lambda m: m.index_select(m.ones(2, 3), 1, m.tensor([[0]])), IndexError, "vector"),
    (lambda m: m.index_select(m.ones(2, 3), 1, m.tensor([3])), RuntimeError, "3"),
    (lambda m: m.index_select(m.ones(2, 3), 1, m.tensor([-1])), RuntimeError, "-1"),
    (lambda m: m.index_select(m.ones(2, 3), 1, m.tensor([0.0])), RuntimeError, "int32"),
    (lambda m: m.index_select(m.tensor(1.0), 0, m.tensor([0, 0])), RuntimeError, "only 1"),
    (lambda m: m.index_add(m.ones(2, 3), 1, m.tensor([0, 0]), m.ones(2, 3)), RuntimeError,
     "source"),
    (lambda m: m.index_add(m.ones(2, 3), 1, m.tensor([0]), m.ones(2, 1, dtype=m.float64)),
     RuntimeError, "same scalar type"),
    (lambda m: m.index_add(m.ones(2, 3), 1, m.tensor([3]), m.ones(2, 1)), RuntimeError,
     "index 3 is out of bounds"),
    (lambda m: m.index_copy(m.ones(2, 3), 1, m.tensor([3]), m.ones(2, 1)), IndexError,
     "index 3 is out of bounds"),
    (lambda m: m.index_copy(m.ones(2, 3), 1, m.tensor([0], dtype=m.int32), m.ones(2, 1)),
     RuntimeError, "int64"),
    (lambda m: m.index_fill(m.ones(2, 3), 1, m.tensor([3]), 1.0), IndexError, "index 3"),
    (lambda m: m.index_fill(m.ones(2, 3), 1, m.tensor([0], dtype=m.int32), 1.0), IndexError,
     "int64"),
    (lambda m: m.index_fill(m.ones(2, 3), 1, m.tensor([0]), m.tensor([1.0])), RuntimeError,
     "0-dimensional value"),
    (lambda m: m.masked_fill(m.ones(2, 3), m.ones(2, 3), 1.0), RuntimeError, "boolean masks"),
    (lambda m: m.masked_fill(m.ones(2, 3), m.ones(3).bool(), m.ones(1)), RuntimeError,
     "0-dimensional value"),
    (lambda m: m.ones(3).masked_fill_(m.ones(2, 3).bool(), 1.0), RuntimeError,
     "doesn't match the broadcast shape"),
    (lambda m: m.masked_fill(m.ones(2, 3), m.ones(4).bool(), 1.0), RuntimeError,
     r"size of tensor a \(3\) must match the size of tensor b \(4\)"),
    (lambda m: m.masked_select(m.ones(3), m.ones(3)), RuntimeError, "BoolTensor"),
    (lambda m: m.masked_scatter(m.ones(3), m.ones(3).bool(), m.ones(2)), RuntimeError,
     "Number of elements of source"),
    (lambda m: m.take(m.ones(2, 3), m.tensor([6])), IndexError, "out of range.*6"),
    (lambda m: m.take(m.ones(2, 3), m.tensor([1], dtype=m.int32)), RuntimeError, "long"),
    (lambda m: m.take_along_dim(m.ones(2, 3), m.tensor([1]), 1), RuntimeError,
     "same number of dimensions"),
    (lambda m: m.take_along_dim(m.ones(2, 3), m.tensor([[1]], dtype=m.int32), 1),
     RuntimeError, "Long"),
]


@pytest.mark.parametrize("fn,exc,msg", ERRORS)
def test_errors_match_torch(fn, exc, msg):
    check_error(fn, exc, msg)
