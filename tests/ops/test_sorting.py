import numpy as np
import pytest
from hypothesis import given, strategies as st

import ember
from conformance import FLOAT_DTYPES, arrays, check, distinct, noncontiguous, shapes


@st.composite
def shape_dim(draw, nonempty=False):
    shape = draw(shapes(max_dims=3, max_side=4, min_side=1 if nonempty else 0))
    n = max(len(shape), 1)
    return shape, draw(st.integers(-n, n - 1))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_sort_argsort_msort(dtype, data):
    shape, dim = data.draw(shape_dim())
    desc = data.draw(st.booleans())
    x = noncontiguous(distinct(data.draw, shape, dtype))
    check(lambda m, a: tuple(m.sort(a, dim, desc)), x)
    check(lambda m, a: (a.argsort(dim, descending=desc), m.msort(a)), x)


@given(data=st.data())
def test_stable_sort_with_ties_matches_torch(data):
    shape, dim = data.draw(shape_dim())
    desc = data.draw(st.booleans())
    for dtype in (np.float64, np.int32, np.uint8, np.bool_):
        x = arrays(data.draw, shape, dtype, 0, 2)
        check(lambda m, a: tuple(a.sort(dim=dim, descending=desc, stable=True)), x)
        check(lambda m, a: m.argsort(a, dim=dim, descending=desc, stable=True), x)


def test_nan_sorts_as_largest():
    x = np.array([[np.nan, 1.0, 5.0, -2.0], [3.0, np.nan, np.nan, 0.0]])
    check(lambda m, a: (tuple(a.sort(1)), tuple(a.sort(1, descending=True)),
                        tuple(a.topk(2)), a.median(), tuple(a.median(1))), x, grad=False)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_topk(dtype, data):
    shape, dim = data.draw(shape_dim())
    n = shape[dim] if shape else 1
    k = data.draw(st.integers(0, n))
    largest = data.draw(st.booleans())
    x = distinct(data.draw, shape, dtype)
    check(lambda m, a: tuple(m.topk(a, k, dim, largest)), x)
    check(lambda m, a: tuple(a.topk(k, dim=dim, largest=largest, sorted=True)), x)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_kthvalue_median(dtype, data):
    shape, dim = data.draw(shape_dim(nonempty=True))
    n = shape[dim] if shape else 1
    k = data.draw(st.integers(1, n))
    keepdim = data.draw(st.booleans())
    x = distinct(data.draw, shape, dtype)
    check(lambda m, a: tuple(m.kthvalue(a, k, dim, keepdim)), x)
    check(lambda m, a: tuple(a.median(dim, keepdim)), x)
    check(lambda m, a: m.median(a), x)


def test_median_ties_match_torch():
    x = np.array([[2.0, 1.0, 2.0, 2.0, 3.0], [2.0, 2.0, 2.0, 2.0, 0.0], [1.0, 0.0, 1.0, 0.0, 1.0]])
    check(lambda m, a: (a.median(), tuple(a.median(1)), tuple(a.median(0, True))), x,
          gradcheck=False)


def test_integer_inputs_keep_dtype():
    x = np.array([[3, 1, 2, 2], [0, 5, 5, 1]], dtype=np.int32)
    check(lambda m, a: (tuple(a.sort()), tuple(a.topk(2)), tuple(a.kthvalue(1)),
                        a.median(), a.msort(), a.argsort(0)), x)


def test_zero_dim_and_empty():
    check(lambda m, a: (tuple(a.sort()), tuple(a.sort(0, True)), tuple(a.topk(1)),
                        tuple(a.topk(0, -1)), tuple(a.kthvalue(1)), tuple(a.median(0)),
                        a.argsort()), np.array(2.5))
    check(lambda m, a: (tuple(a.sort(1)), tuple(a.topk(0, 1)), a.argsort(0), a.msort()),
          np.zeros((2, 0)))


def test_return_types():
    t = ember.tensor([3.0, 1.0, 2.0])
    out = t.sort()
    assert type(out).__name__ == "sort" and out.values is out[0] and out.indices is out[1]
    assert type(t.topk(1)).__name__ == "topk"
    assert out.indices.dtype == ember.int64


def test_errors():
    t = ember.ones(2, 3)
    with pytest.raises(RuntimeError, match="topk.*k out of range"):
        t.topk(4)
    with pytest.raises(RuntimeError, match="topk.*k out of range"):
        t.topk(-1)
    with pytest.raises(RuntimeError, match="kthvalue.*k out of range for dimension 1"):
        t.kthvalue(0)
    with pytest.raises(RuntimeError, match="kthvalue.*k out of range for dimension 0"):
        t.kthvalue(3, 0)
    for call in (lambda: t.sort(2), lambda: t.argsort(-3), lambda: t.topk(1, 2),
                 lambda: t.kthvalue(1, 2), lambda: t.median(2)):
        with pytest.raises(IndexError, match=r"[a-z]+: Dimension out of range.*\[-2, 1\]"):
            call()
    with pytest.raises(IndexError, match=r"median\(\).*non-zero size"):
        ember.zeros(0, 2).median(0)
