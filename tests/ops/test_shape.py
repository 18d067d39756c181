import numpy as np
import pytest
from hypothesis import given, strategies as st

import ember
from conformance import (FLOAT_DTYPES, arrays, check, check_error, draw_array, draw_dim,
                         noncontiguous, shapes)

DATA_DTYPES = [np.int64, np.int32, np.bool_, np.float32]


def _dims(data, n, min_size=0):
    return data.draw(st.lists(st.integers(0, max(n - 1, 0)), min_size=min_size,
                              max_size=n, unique=True)) if n else []


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_flip_roll(dtype, data):
    shape = data.draw(shapes(max_dims=3))
    x = arrays(data.draw, shape, dtype)
    dims = tuple(_dims(data, len(shape)))
    check(lambda m, a: m.flip(a, dims), x)
    if dims:
        check(lambda m, a: a.flip(*dims), x)
    shift = data.draw(st.integers(-5, 5))
    check(lambda m, a: m.roll(a, shift), x)
    if shape:
        rd = tuple(_dims(data, len(shape), 1))
        shifts = tuple(data.draw(st.integers(-5, 5)) for _ in rd)
        check(lambda m, a: m.roll(a, shifts, rd), noncontiguous(x))
        check(lambda m, a: a.roll(shifts[0], rd[0]), x)
        check(lambda m, a: m.flipud(a), x)
    if len(shape) >= 2:
        check(lambda m, a: m.fliplr(a), x)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_repeat_tile(dtype, data):
    shape = data.draw(shapes(max_dims=3, max_side=3))
    x = arrays(data.draw, shape, dtype)
    extra = data.draw(st.integers(0, 1))
    reps = tuple(data.draw(st.integers(0, 3)) for _ in range(len(shape) + extra))
    if reps:
        check(lambda m, a: a.repeat(*reps), x)
    check(lambda m, a: a.repeat(reps), noncontiguous(x))
    short = reps[:data.draw(st.integers(0, len(reps)))]
    check(lambda m, a: m.tile(a, short), x)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_movedim_unflatten(dtype, data):
    shape, x = draw_array(data, dtype, min_dims=1, max_dims=4)
    n = len(shape)
    src = _dims(data, n)
    dst = data.draw(st.permutations(range(n)))[:len(src)]
    check(lambda m, a: m.movedim(a, src, dst), x)
    d = draw_dim(data, n)
    check(lambda m, a: m.moveaxis(a, d, 0), x)
    size = shape[d]
    f = data.draw(st.sampled_from([k for k in range(1, 5) if size % k == 0] or [1]))
    sizes = data.draw(st.sampled_from([(f, -1), (-1, f), (f, size // f)] if size else
                                      [(0, f), (f, 0)]))
    check(lambda m, a: a.unflatten(d, sizes), x)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_narrow_diagonal(dtype, data):
    shape, x = draw_array(data, dtype, min_dims=1, max_dims=3)
    d = draw_dim(data, len(shape))
    n = shape[d]
    start = data.draw(st.integers(-n, n))
    s = start + n if start < 0 else start
    length = data.draw(st.integers(0, n - s))
    check(lambda m, a: a.narrow(d, start, length), x)
    if len(shape) >= 2:
        d1, d2 = data.draw(st.permutations(range(len(shape))))[:2]
        off = data.draw(st.integers(-4, 4))
        check(lambda m, a: m.diagonal(a, off, d1, d2 - len(shape)), noncontiguous(x))
        check(lambda m, a: a.diagonal(), x)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_diag_and_diag_embed(dtype, data):
    k = data.draw(st.integers(-3, 3))
    v = arrays(data.draw, (data.draw(st.integers(0, 4)),), dtype)
    check(lambda m, a: m.diag(a, k), v)
    mat = arrays(data.draw, data.draw(shapes(min_dims=2, max_dims=2)), dtype)
    check(lambda m, a: m.diag(a, k), mat)
    b = arrays(data.draw, data.draw(shapes(min_dims=1, max_dims=3, max_side=3)), dtype)
    dims = data.draw(st.permutations(range(b.ndim + 1)))[:2]
    check(lambda m, a: m.diag_embed(a, k, dims[0], dims[1]), b)
    check(lambda m, a: a.diag_embed(), b)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_triu_tril(dtype, data):
    x = arrays(data.draw, data.draw(shapes(min_dims=2, max_dims=3)), dtype)
    k = data.draw(st.integers(-4, 4))
    check(lambda m, a: m.triu(a, k), x)
    check(lambda m, a: a.tril(k), noncontiguous(x))
    check(lambda m, a: m.tril(a), x)


@given(data=st.data())
def test_ravel_view_as_reshape_as_contiguous(data):
    shape = data.draw(shapes(max_dims=3))
    x = noncontiguous(arrays(data.draw, shape, np.float64))
    check(lambda m, a: m.ravel(a), x)
    check(lambda m, a: a.ravel(), x)
    check(lambda m, a: a.contiguous(), x)
    check(lambda m, a: a.reshape_as(m.zeros(int(np.prod(shape)))), x)
    check(lambda m, a: a.contiguous().view_as(m.zeros(1, int(np.prod(shape)))), x)


@pytest.mark.parametrize("fn", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast(fn):
    for shape in [(), (3,), (2, 3), (2, 3, 1), (1, 2, 3, 1)]:
        x = np.random.default_rng(0).standard_normal(shape)
        check(lambda m, a: getattr(m, fn)(a), x)
    a, b = np.ones(()), np.ones((2,))
    check(lambda m, p, q: getattr(m, fn)(p, q), a, b)
    check(lambda m, p, q: getattr(m, fn)([p, q]), a, b)


@pytest.mark.parametrize("dtype", DATA_DTYPES)
def test_data_movement_keeps_int_and_bool(dtype):
    x = arrays(lambda s: 7, (3, 4), dtype, 0, 5)
    for fn in [lambda m, a: m.flip(a, (0, 1)), lambda m, a: m.roll(a, (1, -2), (0, 1)),
               lambda m, a: a.repeat(2, 1, 2), lambda m, a: m.tile(a, (2,)),
               lambda m, a: m.diagonal(a, 1), lambda m, a: m.diag(a[0]),
               lambda m, a: m.diag_embed(a), lambda m, a: m.triu(a, 1),
               lambda m, a: m.tril(a, -1), lambda m, a: a.narrow(1, 1, 2),
               lambda m, a: m.movedim(a, 0, 1), lambda m, a: a.unflatten(1, (2, 2)),
               lambda m, a: m.ravel(a.T), lambda m, a: a.T.contiguous(),
               lambda m, a: m.fliplr(a), lambda m, a: m.flipud(a)]:
        check(fn, x)


def test_scalar_and_empty_cases():
    check(lambda m, a: m.flip(a, ()), np.array(2.0))
    check(lambda m, a: m.roll(a, 3), np.array(2.0))
    check(lambda m, a: a.repeat(()), np.array(2.0))
    check(lambda m, a: a.repeat(2, 3), np.array(2.0))
    check(lambda m, a: m.tile(a, ()), np.ones((2, 3)))
    check(lambda m, a: m.roll(a, 1, 0), np.zeros((0, 3)))
    check(lambda m, a: m.diagonal(a, 5), np.ones((2, 3)))
    check(lambda m, a: a.narrow(1, 3, 0), np.ones((2, 3)))
    check(lambda m, a: m.diag(a), np.ones((0,)))


def _shares(view, base):
    """Writing through ``view`` under no_grad changes ``base``."""
    before = base.clone()
    with ember.no_grad():
        view.fill_(-7.0)
    assert not np.array_equal(before.numpy(), base.numpy())
    assert (base.numpy() == -7.0).sum() == view.numel()


@pytest.mark.parametrize("make", [
    lambda x: x.narrow(1, 1, 2),
    lambda x: x.diagonal(),
    lambda x: x.diagonal(1, 1, 2),
    lambda x: ember.movedim(x, 0, 2),
    lambda x: x.unflatten(2, (2, 2)),
    lambda x: x.view(6, 4),
    lambda x: ember.ravel(x),
])
def test_views_share_memory(make):
    x = ember.arange(24.0).reshape(2, 3, 4)
    v = make(x)
    assert v._version == x._version
    _shares(v, x)
    assert v._version == x._version


@pytest.mark.parametrize("make", [lambda x: x.flip(0), lambda x: x.roll(1, 0),
                                  lambda x: x.repeat(1, 1), lambda x: x.triu(),
                                  lambda x: ember.diag(x), lambda x: x.clone()])
def test_copies_do_not_share_memory(make):
    x = ember.arange(6.0).reshape(2, 3)
    y = make(x)
    y.fill_(-1.0)
    assert (x.numpy() >= 0).all()


def test_contiguous_returns_self_or_copy_in_graph():
    x = ember.randn(3, 4, requires_grad=True)
    assert x.contiguous() is x
    t = x.t()
    c = t.contiguous()
    assert c is not t and c.is_contiguous() and c.requires_grad
    c.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((3, 4)))


def test_second_order_through_views():
    x = ember.randn(3, 3, dtype=ember.float64, requires_grad=True)
    ember.autograd.gradgradcheck(lambda a: (a.diagonal() ** 3).sum() + a.flip(0).roll(1).triu()
                                 .narrow(0, 1, 2).sum() ** 2, [x])


ERRORS = [
    (lambda m: m.ones(2, 3).repeat(2), RuntimeError, "repeat.*smaller"),
    (lambda m: m.ones(2, 3).repeat(-1, 2), RuntimeError, "negative dimension"),
    (lambda m: m.flip(m.ones(2, 3), (0, 0)), RuntimeError, "multiple times"),
    (lambda m: m.flip(m.ones(2, 3), (2,)), IndexError, "Dimension out of range"),
    (lambda m: m.fliplr(m.ones(3)), RuntimeError, "2-d"),
    (lambda m: m.flipud(m.tensor(1.0)), RuntimeError, "1-d"),
    (lambda m: m.roll(m.ones(2, 3), (1, 2), (0,)), RuntimeError, "shifts and dimensions"),
    (lambda m: m.roll(m.ones(2, 3), (1, 2)), RuntimeError, "shifts and dimensions"),
    (lambda m: m.ones(2, 3).narrow(1, -4, 1), IndexError, "start out of range"),
    (lambda m: m.ones(2, 3).narrow(1, 2, 2), RuntimeError, r"start \(2\) \+ length \(2\)"),
    (lambda m: m.ones(2, 3).narrow(1, 1, -1), RuntimeError, "non-negative"),
    (lambda m: m.tensor(1.0).narrow(0, 0, 1), RuntimeError, "0-dim"),
    (lambda m: m.ones(2, 3).diagonal(0, 1, 1), RuntimeError, "cannot be identical"),
    (lambda m: m.ones(3).diagonal(), IndexError, "Dimension out of range"),
    (lambda m: m.diag(m.ones(2, 2, 2)), RuntimeError, "1D or 2D.*3D"),
    (lambda m: m.diag(m.tensor(1.0)), RuntimeError, "1D or 2D.*0D"),
    (lambda m: m.diag_embed(m.ones(2), 0, 1, 1), RuntimeError, "cannot be identical"),
    (lambda m: m.triu(m.ones(3)), RuntimeError, "at least 2 dimensions"),
    (lambda m: m.tril(m.tensor(1.0)), RuntimeError, "at least 2 dimensions"),
    (lambda m: m.movedim(m.ones(2, 3), (0, 1), (1,)), RuntimeError, "same number"),
    (lambda m: m.movedim(m.ones(2, 3), (0, 0), (1, 0)), RuntimeError, "repeated dim"),
    (lambda m: m.movedim(m.ones(2, 3), 2, 0), IndexError, "Dimension out of range"),
    (lambda m: m.ones(2, 3).unflatten(1, (2, 2)), RuntimeError, r"\[2, 2\].*dim 1 \(3\)"),
    (lambda m: m.ones(2, 3).unflatten(1, ()), RuntimeError, "non-empty"),
    (lambda m: m.ones(2, 3).view_as(m.ones(4)), RuntimeError, "invalid for input of size 6"),
    (lambda m: m.ones(2, 3).t().view_as(m.ones(6)), RuntimeError, "view size is not"),
]


@pytest.mark.parametrize("fn,exc,msg", ERRORS)
def test_errors_match_torch(fn, exc, msg):
    check_error(fn, exc, msg)
