import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember
from conformance import FLOAT_DTYPES, arrays, check, distinct, noncontiguous, shapes

INF = float("inf")


@st.composite
def shape_dim(draw, tuples=True, nonempty=False, max_dims=3):
    """A shape and a ``dim`` argument for it: None, an int (maybe negative) or a tuple."""
    shape = draw(shapes(max_dims=max_dims, max_side=3, min_side=1 if nonempty else 0))
    n = max(len(shape), 1)
    kinds = ["none", "int"] + (["tuple"] if tuples and shape else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return shape, None
    if kind == "int":
        return shape, draw(st.integers(-n, n - 1))
    dims = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    return shape, tuple(d - len(shape) if draw(st.booleans()) else d for d in dims)


def shape_dim_keepdim(**kw):
    """``shape_dim(**kw)``'s shape and dim, and a random ``keepdim`` flag."""
    return st.tuples(shape_dim(**kw), st.booleans()).map(lambda r: (*r[0], r[1]))


def signed(draw, shape, dtype):
    """Values with magnitudes in [0.5, 2] and random signs (no zeros)."""
    sign = np.where(arrays(draw, shape, np.float64, -1, 1) > 0, 1, -1)
    return np.asarray(arrays(draw, shape, dtype, 0.5, 2.0) * sign, dtype=dtype)


def _kw(dim, keepdim):
    return {} if dim is None else {"dim": dim, "keepdim": keepdim}


# -- float reductions with dim None / int / tuple, keepdim ------------------------------------

DIMMED = {
    "sum": lambda m, x, kw: m.sum(x, **kw),
    "mean": lambda m, x, kw: x.mean(**kw),
    "nansum": lambda m, x, kw: m.nansum(x, **kw),
    "nanmean": lambda m, x, kw: m.nanmean(x, **kw),
    "var": lambda m, x, kw: m.var(x, **kw),
    "var_c0": lambda m, x, kw: x.var(**kw, correction=0),
    "std": lambda m, x, kw: m.std(x, **kw),
    "std_mean": lambda m, x, kw: m.std_mean(x, **kw),
    "var_mean": lambda m, x, kw: m.var_mean(x, **kw, correction=0),
    "norm": lambda m, x, kw: m.norm(x, 2 if len(np.atleast_1d(kw.get("dim", ()))) > 2
                                    else "fro", **kw),
    "norm_p1": lambda m, x, kw: x.norm(1, **kw),
    "norm_p3": lambda m, x, kw: x.norm(3, **kw),
    "norm_p0.5": lambda m, x, kw: x.norm(0.5, **kw),
    "norm_p-1": lambda m, x, kw: x.norm(-1, **kw),
    "norm_p0": lambda m, x, kw: x.norm(0, **kw),
    "logsumexp": lambda m, x, kw: m.logsumexp(x, **(kw or {"dim": tuple(range(x.ndim))})),
}


@pytest.mark.parametrize("name", sorted(DIMMED))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_dimmed_reductions(name, dtype, data):
    positive = name in ("norm_p0.5", "norm_p-1")      # smooth away from 0; empty raises
    shape, dim, keepdim = data.draw(shape_dim_keepdim(nonempty=positive))
    x = arrays(data.draw, shape, dtype, 0.5 if positive else -3.0, 3.0)
    if name.startswith("nan") and x.size and dtype == np.float32:
        x.flat[data.draw(st.integers(0, x.size - 1))] = np.nan
    reduced = x.size // max(ember.ones(shape).sum(**_kw(dim, True)).numel(), 1)
    defined = reduced > 1 or not name.startswith(("var", "std"))    # else NaN by design
    check(lambda m, a: DIMMED[name](m, a, _kw(dim, keepdim)), noncontiguous(x),
          gradcheck=defined)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_amax_amin_aminmax(dtype, data):
    shape, dim, keepdim = data.draw(shape_dim_keepdim(nonempty=True))
    x = distinct(data.draw, shape, dtype)
    kw = _kw(dim, keepdim)
    check(lambda m, a: (a.amax(**kw), m.amin(a, **kw)), x)
    one = {} if dim is None or isinstance(dim, tuple) else kw
    check(lambda m, a: tuple(m.aminmax(a, **one)), x)


def test_amax_and_max_split_ties_evenly():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    check(lambda m, a: a.amax(1), x, gradcheck=False)
    check(lambda m, a: a.amin(), x, gradcheck=False)
    check(lambda m, a: a.max(), x, gradcheck=False)
    check(lambda m, a: a.norm(INF, 1), x, gradcheck=False)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_max_min(op, dtype, data):
    shape, dim, keepdim = data.draw(shape_dim_keepdim(tuples=False, nonempty=True))
    x = distinct(data.draw, shape, dtype)
    if dim is None:
        check(lambda m, a: getattr(m, op)(a), x)
    else:
        check(lambda m, a: tuple(getattr(a, op)(dim, keepdim)), x)
        out = getattr(ember, op)(ember.tensor(x), dim=dim, keepdim=keepdim)
        assert type(out).__name__ == op and out.indices is out[1]


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@given(data=st.data())
def test_argmax_argmin(op, data):
    shape, dim, keepdim = data.draw(shape_dim_keepdim(tuples=False, nonempty=True))
    x = arrays(data.draw, shape, np.int32, -2, 2)             # ties: first index wins
    check(lambda m, a: getattr(m, op)(a, dim, keepdim), x)
    check(lambda m, a: getattr(a, op)(dim), x.astype(np.float32))


def test_max_with_tensor_is_maximum():
    if not hasattr(ember, "maximum"):
        pytest.skip("ember.maximum (math.py) is not there yet")
    check(lambda m, a, b: (m.max(a, b), a.min(b)), np.arange(6.0).reshape(2, 3),
          np.full(3, 2.5))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_prod(dtype, data):
    shape, dim, keepdim = data.draw(shape_dim_keepdim(tuples=False))
    x = signed(data.draw, shape, dtype)
    check(lambda m, a: m.prod(a) if dim is None else a.prod(dim, keepdim), x)


@pytest.mark.parametrize("zeros", [[1], [0, 2], [0, 1, 3]])
def test_prod_and_cumprod_gradients_with_zeros(zeros):
    x = np.array([[1.5, -2.0, 0.5, 3.0, -0.6], [2.0, 0.7, -1.1, 1.3, 0.9]])
    x[0, zeros] = 0.0
    check(lambda m, a: (a.prod(1), m.prod(a), a.cumprod(1), m.cumprod(a, 0)), x)


@pytest.mark.parametrize("op", ["prod", "cumprod"])
@pytest.mark.parametrize("zeros", [[0], [1, 3]])
def test_second_derivative_with_zeros_matches_torch(op, zeros):
    x = np.array([1.5, -2.0, 0.5, 3.0, -0.6])
    x[zeros] = 0.0
    hv = np.array([0.3, -1.0, 2.0, 0.7, -0.4])
    e = ember.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    (ge,) = ember.autograd.grad(getattr(e, op)(0).sum(), e, create_graph=True)
    (gt,) = torch.autograd.grad(getattr(t, op)(0).sum(), t, create_graph=True)
    (he,) = ember.autograd.grad(ge, e, ember.tensor(hv))
    (ht,) = torch.autograd.grad(gt, t, torch.tensor(hv))
    np.testing.assert_allclose(he.numpy(), ht.numpy(), atol=1e-12)


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_scans(op, dtype, data):
    shape, dim = data.draw(shape_dim(tuples=False))
    dim = 0 if dim is None else dim
    x = arrays(data.draw, shape, dtype, 0.5, 2.0)
    check(lambda m, a: getattr(m, op)(a, dim), x)


def test_logsumexp_is_stable():
    x = np.array([[1000.0, 1000.0], [-INF, -INF], [INF, 1.0], [-1000.0, 0.0]])
    check(lambda m, a: m.logsumexp(a, 1), x, grad=False)
    check(lambda m, a: m.logsumexp(a, 1, keepdim=True), x[[0, 3]])


def test_norm_subgradient_at_zero_and_frobenius():
    z = np.zeros((2, 3))
    for p in (2, 1, 3, 0.5, "fro"):
        check(lambda m, a: a.norm(p), z, gradcheck=False)
        check(lambda m, a: m.norm(a, p, dim=1, keepdim=True), z, gradcheck=False)
    x = np.arange(-3.0, 3.0).reshape(2, 3)
    check(lambda m, a: (a.norm(p="fro", dim=(0, 1)), a.norm(p=2, dim=(-1, 0))), x)
    check(lambda m, a: (a.norm(INF), a.norm(-INF, dim=0)), np.array([[1.0, -4.0], [3.0, 2.0]]))
    check(lambda m, a: a.norm(dtype=torch.float64 if m is torch else ember.float64),
          x.astype(np.float32))


@given(data=st.data())
def test_all_any_count_nonzero(data):
    shape, dim, keepdim = data.draw(shape_dim_keepdim())
    for dtype in (np.bool_, np.uint8, np.float32, np.int64):
        x = arrays(data.draw, shape, dtype, 0, 1)
        check(lambda m, a: (m.all(a, **_kw(dim, keepdim)), a.any(**_kw(dim, keepdim)),
                            m.count_nonzero(a, dim)), x)
    x = np.ones(shape)
    check(lambda m, a: (a.all(dim=()), a.any(dim=())), x)


# -- integer/bool dtypes, empty and 0-d inputs ------------------------------------------------

@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.int64])
def test_integer_and_bool_result_dtypes(dtype):
    x = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    check(lambda m, a: (a.sum(), m.sum(a, 0), a.sum(1, dtype=m.int32), a.nansum(1),
                        a.prod(), a.prod(1), a.cumsum(0), a.cumprod(1),
                        a.max(), a.amax(0), a.min(1).values, a.sum(0, dtype=m.float64),
                        a.logsumexp(1) if dtype != np.bool_ else a.any()), x)
    if dtype == np.bool_:
        with pytest.raises(RuntimeError, match=r"argmax\(\): does not support bool"):
            ember.tensor(x).argmax()
    else:
        check(lambda m, a: (a.argmax(), a.argmin(0), a.argmax(1, keepdim=True)), x)


@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3)])
def test_empty_reductions(shape):
    x = np.zeros(shape)
    check(lambda m, a: (a.sum(), a.sum(0), a.mean(), a.mean(-1), a.var(), a.std(-1),
                        a.prod(), a.prod(0), a.logsumexp(0), a.norm(), a.norm(dim=-1),
                        a.all(), a.any(), a.count_nonzero(), a.nansum(), a.cumsum(0),
                        a.cumprod(-1), a.median()), x)


def test_empty_max_family_raises_like_torch():
    e = ember.zeros(0, 3)
    for op in ("max", "min", "amax", "amin", "aminmax"):
        with pytest.raises(RuntimeError, match=rf"{op}\(\).*numel\(\) == 0"):
            getattr(e, op)()
    for op in ("max", "min", "argmax", "argmin", "amax", "median"):
        with pytest.raises(IndexError, match=rf"{op}\(\): .*dim 0 to have non-zero size"):
            getattr(e, op)(0)
    with pytest.raises(IndexError, match=r"argmax\(\).*numel\(\) == 0"):
        e.argmax()
    check(lambda m, a: (tuple(a.max(1)), a.amax(1), a.argmin(1, keepdim=True)),
          np.zeros((0, 3)))
    with pytest.raises(RuntimeError, match="inf norm on an empty tensor"):
        e.norm(INF)


def test_zero_dim_inputs():
    x = np.array(1.5)
    check(lambda m, a: (a.sum(0), a.mean(-1, True), a.prod(0), a.amax(0), a.amin(-1),
                        a.max(), tuple(a.max(0)), tuple(a.min(-1, True)), a.argmax(0),
                        a.argmin(), a.argmax(keepdim=True), a.logsumexp(0), a.cumsum(0),
                        a.cumprod(-1), a.norm(dim=0), a.var(0, correction=0),
                        a.all(0), a.any(-1), a.count_nonzero(0), a.nansum(0)), x)
    check(lambda m, a: (a.std(), a.var(0)), x, gradcheck=False)     # NaN: one element


# -- signatures and errors --------------------------------------------------------------------

def test_var_legacy_unbiased_argument():
    x = np.arange(6.0).reshape(2, 3) ** 2
    check(lambda m, a: (a.var(0, False), a.var(False), m.std(a, 1, True, True),
                        a.std(unbiased=False), a.var(dim=1, correction=2),
                        m.var_mean(a, 1, keepdim=True)), x)
    with pytest.raises(RuntimeError, match="var"):
        ember.tensor(x).var(0, unbiased=True, correction=0)


def test_std_gradient_is_zero_where_std_is_zero():
    check(lambda m, a: a.std(1), np.ones((2, 3)), gradcheck=False)


def test_sum_dtype_and_empty_dim_tuple_means_all():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    check(lambda m, a: (a.sum(dtype=m.float64), a.sum(()), a.mean([]), a.amax(()),
                        m.nansum(a, ())), x)
    check(lambda m, a: (a.var(()), a.std([])), x, grad=False)   # torch's backward differs


@pytest.mark.parametrize("call", [
    lambda t: t.sum(2), lambda t: t.mean(-3), lambda t: t.max(2), lambda t: t.argmax(5),
    lambda t: t.amax((0, 2)), lambda t: t.prod(2), lambda t: t.cumsum(2),
    lambda t: t.var(2), lambda t: t.logsumexp(2), lambda t: t.norm(dim=2),
    lambda t: t.all(2), lambda t: t.count_nonzero(-3)])
def test_bad_dim_names_op_and_range(call):
    with pytest.raises(IndexError, match=r"[a-z_]+: Dimension out of range.*\[-2, 1\].*got"):
        call(ember.ones(2, 3))


def test_dtype_errors():
    i = ember.ones(2, 3, dtype=ember.int32)
    with pytest.raises(RuntimeError, match="mean.*int32"):
        i.mean()
    with pytest.raises(RuntimeError, match="nanmean.*int32"):
        i.nanmean()
    with pytest.raises(RuntimeError, match="std and var only support floating point"):
        i.var()
    with pytest.raises(RuntimeError, match="vector_norm.*floating point"):
        i.norm()
    with pytest.raises(RuntimeError, match="sum.*multiple times"):
        ember.ones(2, 3).sum((0, -2))
    with pytest.raises(TypeError, match="max.*int"):
        ember.ones(2, 3).max((0, 1))


def test_second_order_through_reductions():
    x = np.array([[0.3, -1.2, 2.0], [1.1, 0.4, -0.7]])
    check(lambda m, a: (a.logsumexp(1) * a.var(0).sum()).sum() + a.norm() * a.std(), x)
