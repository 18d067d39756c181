import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember
from conformance import arrays, check, check_error, noncontiguous, shapes

X = np.random.default_rng(0).standard_normal((3, 4, 2))
X3 = np.random.default_rng(1).standard_normal((3, 4, 3))

INDICES = {
    "int": lambda m: 1,
    "neg_int": lambda m: -1,
    "ints": lambda m: (2, -3, 0),
    "slice_step": lambda m: (slice(None, None, 2), slice(1, None, 2)),
    "slice_neg_bounds": lambda m: slice(-2, None),
    "slice_empty": lambda m: slice(2, 1),
    "none": lambda m: (None, 1, None),
    "ellipsis": lambda m: (..., 1),
    "ellipsis_none": lambda m: (0, ..., None),
    "list": lambda m: [2, 0, 2],
    "tensor_1d": lambda m: m.tensor([0, -1, 1]),
    "tensor_2d": lambda m: m.tensor([[0, 1], [2, 2]]),
    "int32_tensor": lambda m: m.tensor([1, 0], dtype=m.int32),
    "two_broadcast": lambda m: (m.tensor([[0], [2]]), m.tensor([1, 3, 3])),
    "adv_after_slice": lambda m: (slice(None), m.tensor([3, 0])),
    "adv_separated": lambda m: (m.tensor([0, 2]), slice(None), m.tensor([1, 0])),
    "adv_int_mix": lambda m: (1, slice(1, 3), m.tensor([[1], [0]])),
    "mask_full": lambda m: m.tensor(X > 0),
    "mask_partial": lambda m: m.tensor(X[:, :, 0] > 0),
    "mask_then_int": lambda m: (m.tensor([True, False, True]), 2),
    "mask_list": lambda m: [True, False, True],
    "zero_d_int_tensor": lambda m: m.tensor(2),
    "zero_d_int_in_tuple": lambda m: (m.tensor(-1), slice(None), m.tensor(0)),
    "repeated": lambda m: (m.tensor([1, 1, 1, 0]), m.tensor([2, 2, 2, 2])),
    "empty_list": lambda m: [],
    "python_bool": lambda m: True,
    "uint8_mask": lambda m: m.tensor([1, 0, 1], dtype=m.uint8),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(INDICES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_getitem_matches_torch(name, dtype):
    idx = INDICES[name]
    check(lambda m, x: x[idx(m)], X.astype(dtype))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(INDICES))
def test_getitem_int_and_bool_data(name):
    idx = INDICES[name]
    check(lambda m, x: x[idx(m)], (X * 3).astype(np.int64))
    check(lambda m, x: x[idx(m)], X > 0)


@given(data=st.data())
def test_getitem_random_slices(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    x = noncontiguous(arrays(data.draw, shape, np.float64))
    idx = tuple(slice(data.draw(st.integers(-5, 5)), data.draw(st.integers(-5, 5)),
                      data.draw(st.integers(1, 3))) for _ in shape)
    check(lambda m, a: a[idx] * 2, x)


def test_gradient_accumulates_over_repeated_indices():
    x = ember.zeros(4, requires_grad=True)
    x[ember.tensor([1, 1, 3, 1])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 3, 0, 1])


def test_zero_d_tensor_index_is_a_view_like_an_int():
    x = ember.arange(6.0).reshape(2, 3)
    v = x[ember.tensor(1)]
    v.fill_(0.0)
    assert x.numpy()[1].sum() == 0


def test_basic_index_is_view_advanced_is_copy():
    x = ember.arange(12.0).reshape(3, 4)
    v = x[1:, ::2]
    with ember.no_grad():
        v.fill_(-1.0)
    assert (x.numpy() == -1).sum() == 4 and v._version == x._version
    c = x[:, [0, 1]]
    c.fill_(100.0)
    assert (x.numpy() == 100).sum() == 0
    # an advanced-index result is not a view: in-place on it is allowed in a graph
    w = ember.randn(3, 4, requires_grad=True)
    y = w[[0, 2]]
    y.mul_(2)
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[[0, 2]], 2 * np.ones((2, 4)))


SETS = {
    "scalar": (lambda m: (1, slice(None)), lambda m: 5.0),
    "int_scalar_into_float": (lambda m: (slice(None), 0), lambda m: 3),
    "tensor_broadcast": (lambda m: (slice(1, None),), lambda m: m.arange(4.0)),
    "zero_d_tensor": (lambda m: m.tensor([0, 2]), lambda m: m.tensor(7.0, dtype=m.float64)),
    "adv_pairs": (lambda m: (m.tensor([0, 2]), m.tensor([1, 3])),
                  lambda m: m.tensor([8.0, 9.0], dtype=m.float64)),
    "int_separates_adv": (lambda m: (1, slice(None), m.tensor([[1], [0]])),
                          lambda m: m.ones(2, 1, dtype=m.float64)),
    "mask": (lambda m: m.tensor(X[:, :, 0] > 0), lambda m: m.tensor(-1.0, dtype=m.float64)),
    "ellipsis_none": (lambda m: (..., None, 1), lambda m: m.ones(3, 1)),
    "leading_ones": (lambda m: 0, lambda m: m.ones(1, 4)),
}


@pytest.mark.parametrize("name", sorted(SETS))
def test_setitem_no_grad_matches_torch(name):
    idx, val = SETS[name]
    x = X3 if name == "int_separates_adv" else X[:, :, 0].copy()

    def f(m, x):
        y = x.clone()
        y[idx(m)] = val(m)
        return y
    check(f, x, grad=False)
    if not isinstance(val(torch), torch.Tensor) or isinstance(idx(torch), (int, slice)):
        check(f, (x * 3).astype(np.int64))


@pytest.mark.parametrize("name", sorted(SETS))
def test_setitem_on_nonleaf_rebases_history(name):
    idx, val = SETS[name]

    def f(m, x, v):
        y = x * 2
        y[idx(m)] = v * 3 if isinstance(val(m), m.Tensor) else val(m)
        return y * y
    v = val(torch)
    v = v.numpy().astype(np.float64) if isinstance(v, torch.Tensor) else np.array(0.0)
    check(f, X3 if name == "int_separates_adv" else X[:, :, 0].copy(), v)


def test_setitem_value_cast_to_destination_dtype():
    check(lambda m, x: _set(x, 0, 2.7), np.arange(6).reshape(2, 3))
    check(lambda m, x: _set(x, 0, m.tensor([1.0, 2.0, 3.0], dtype=m.float64)),
          np.ones((2, 3), np.float32))
    check(lambda m, x: _set(x, m.tensor([1]), 2.5), np.ones((2, 3), np.float32))
    check(lambda m, x: _set(x, 1, m.tensor([True, False, True])), np.zeros((2, 3)))


def _set(x, i, v):
    x = x.clone()
    x[i] = v
    return x


def test_setitem_gradient_to_assigned_tensor_with_broadcast():
    x = ember.zeros(3, 4, dtype=ember.float64).requires_grad_()
    v = ember.ones(4, dtype=ember.float64).requires_grad_()
    y = x * 1
    y[1:] = v
    (y * ember.arange(12.0, dtype=ember.float64).reshape(3, 4)).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [12, 14, 16, 18])
    np.testing.assert_array_equal(x.grad.numpy()[1:], 0)
    np.testing.assert_array_equal(x.grad.numpy()[0], [0, 1, 2, 3])


def test_setitem_second_order():
    x = ember.randn(3, 4, dtype=ember.float64, requires_grad=True)
    v = ember.randn(2, dtype=ember.float64, requires_grad=True)

    def f(a, b):
        y = a * a
        y[[0, 2], 1] = b * b
        return (y ** 2).sum()
    ember.autograd.gradgradcheck(f, [x, v])


def test_setitem_leaf_requiring_grad_raises_and_no_grad_allows():
    for m in (torch, ember):
        x = m.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            x[0] = 1.0
        with m.no_grad():
            x[0] = 1.0
        assert x[0].item() == 1.0


def test_setitem_bumps_version_and_writes_through_views():
    x = ember.zeros(2, 3)
    v = x[1]
    v[1:] = 5.0
    assert x.numpy()[1].tolist() == [0, 5, 5] and x._version == 1
    with pytest.raises(RuntimeError, match="read-only"):
        ember.zeros(3).expand(2, 3)[0, 0] = 1.0


def test_index_put_and_select():
    idx = lambda m: (m.tensor([0, 1, 2]), m.tensor([1, 1, 3]))
    rep = lambda m: (m.tensor([0, 0, 2]), m.tensor([1, 1, 3]))
    for acc, ix in ((False, idx), (True, idx), (True, rep)):
        check(lambda m, x, v: m.index_put(x, ix(m), v, accumulate=acc),
              X[:, :, 0].copy(), np.array([1.0, 2.0, 3.0]))
    check(lambda m, x: x.clone().index_put_(idx(m), m.tensor(4.0, dtype=m.float64), True),
          X[:, :, 0].copy())
    check(lambda m, x: m.select(x, 1, -1), X)
    check(lambda m, x: x.select(0, 2), X)
    with pytest.raises(RuntimeError, match="dtypes match"):
        ember.index_put(ember.zeros(3), (ember.tensor([0]),), ember.ones(1, dtype=ember.float64))
    with pytest.raises(IndexError, match="select.*index 3 out of range.*dimension 1"):
        ember.zeros(2, 3).select(1, 3)


ERRORS = [
    (lambda m: m.ones(3)[5], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda m: m.ones(3, 4)[1, -5], IndexError, "index -5 .*dimension 1 with size 4"),
    (lambda m: m.ones(3, 4)[:, [1, 4]], IndexError, "index 4 .*dimension 1 with size 4"),
    (lambda m: m.ones(3, 4)[..., m.tensor([[-5]])], IndexError, "index -5 .*dimension 1"),
    (lambda m: m.ones(3, 4)[m.tensor(3)], IndexError, "index 3 .*dimension 0 with size 3"),
    (lambda m: m.ones(3, 4)[0, 0, 0], IndexError, "too many indices"),
    (lambda m: m.ones(3, 4)[[True, False]], IndexError, r"shape of the mask \[2\]"),
    (lambda m: m.ones(3, 4)[[0, 1], [0, 1, 2]], IndexError, "shape mismatch"),
    (lambda m: m.ones(3, 4)[1.0], IndexError, "only integers, slices"),
    (lambda m: m.ones(3, 4)[m.tensor([1.0])], IndexError, "must be long, int, byte or bool"),
    (lambda m: m.ones(3, 4)[m.tensor([1], dtype=m.int16)], IndexError, "long, int, byte"),
    (lambda m: m.ones(3, 4)[::-1], ValueError, "step must be greater than zero"),
    (lambda m: m.ones(3, 4)[::0], ValueError, "step cannot be zero"),
    (lambda m: m.ones(3, 4).__setitem__(0, m.ones(3)), RuntimeError, "shape mismatch"),
    (lambda m: m.ones(3, 4).__setitem__(5, 1.0), IndexError, "index 5 .*dimension 0"),
    (lambda m: m.ones(3, 4).__setitem__(m.tensor([0]), m.ones(4, dtype=m.float64)),
     RuntimeError, "dtypes match"),
    (lambda m: m.ones(3, 4).__setitem__((0, m.tensor([0, 1])), m.ones(3)), RuntimeError,
     "shape mismatch"),
]


@pytest.mark.parametrize("fn,exc,msg", ERRORS)
def test_errors_match_torch(fn, exc, msg):
    check_error(fn, exc, msg)
