import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember
from conformance import arrays, broadcastable, check, noncontiguous

DTYPES = [np.float32, np.float64]


def _rand(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).uniform(-2, 2, shape).astype(dtype)


@st.composite
def matmul_shapes(draw):
    """Operand shapes covering 1-D x 1-D, 1-D x N-D, N-D x 1-D and broadcast batches."""
    ba, bb = draw(broadcastable(2, max_dims=2, max_side=3))
    m, k, n = (draw(st.integers(0, 3)) for _ in range(3))
    sa = (k,) if draw(st.booleans()) else ba + (m, k)
    sb = (k,) if draw(st.booleans()) else bb + (k, n)
    return sa, sb


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_matmul(dtype, data):
    sa, sb = data.draw(matmul_shapes())
    a = noncontiguous(arrays(data.draw, sa, dtype))
    b = arrays(data.draw, sb, dtype)
    check(lambda m, x, y: m.matmul(x, y), a, b)
    check(lambda m, x, y: x @ y, a, b, gradcheck=False)


@given(data=st.data())
def test_matmul_nd_by_matrix_and_integers(data):
    lead = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=2).map(tuple))
    a = arrays(data.draw, lead + (3,), np.float64)
    b = arrays(data.draw, (3, 2), np.float64)
    check(lambda m, x, y: x @ y, a, b)
    check(lambda m, x, y: y.mT @ x.unsqueeze(-1), a, b)
    ai, bi = (arrays(data.draw, s, np.int64) for s in (lead + (3,), (3,)))
    check(lambda m, x, y: x @ y, ai, bi)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_transposes_and_its_gradients(trans_a, trans_b):
    """``gemm``, the op the matmul and linear backwards use, against the composed
    ``a.mT @ b`` forms, to third order (its gradients are gemm calls again)."""
    from ember.ops.linalg import gemm
    m, k, n = 2, 3, 4
    a = _rand((k, m) if trans_a else (m, k))
    b = _rand((n, k) if trans_b else (k, n), seed=1)

    def composed(x, y):
        return (x.mT if trans_a else x) @ (y.mT if trans_b else y)
    ea, eb = (ember.tensor(v, requires_grad=True) for v in (a, b))
    got = gemm(ea, eb, trans_a=trans_a, trans_b=trans_b)
    np.testing.assert_allclose(got.detach().numpy(), composed(ea, eb).detach().numpy())
    fn = lambda x, y: gemm(x, y, trans_a=trans_a, trans_b=trans_b)   # noqa: E731
    assert ember.autograd.gradcheck(fn, [ea, eb])
    assert ember.autograd.gradgradcheck(fn, [ea, eb])

    def second(m, x, y):      # matmul's backward is gemm: differentiate through it twice
        g, = m.autograd.grad(composed(x, y).sin().sum(), x, create_graph=True)
        return m.autograd.grad((g * g).sum(), (x, y), create_graph=True)
    check(second, a, b, gradcheck=False)


@pytest.mark.parametrize("name,shapes", [
    ("mm", [(2, 3), (3, 4)]), ("mm", [(0, 3), (3, 2)]), ("bmm", [(2, 3, 4), (2, 4, 1)]),
    ("mv", [(3, 2), (2,)]), ("dot", [(3,), (3,)]), ("vdot", [(4,), (4,)]),
    ("outer", [(3,), (2,)]), ("ger", [(2,), (0,)]), ("inner", [(2, 3), (4, 3)]),
    ("inner", [(3,), (3,)]), ("inner", [(), (2, 3)]), ("kron", [(2, 3), (2,)]),
    ("kron", [(2, 1, 2), (3, 2)]), ("kron", [(), ()]),
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_products(name, shapes, dtype):
    xs = [_rand(s, dtype, i) for i, s in enumerate(shapes)]
    check(lambda m, *a: getattr(m, name)(*a), *xs)
    check(lambda m, a, *r: getattr(a, name)(*r), *xs, gradcheck=False)


@pytest.mark.parametrize("name,shapes", [
    ("addmm", [(2, 4), (2, 3), (3, 4)]), ("addmm", [(4,), (2, 3), (3, 4)]),
    ("addmv", [(2,), (2, 3), (3,)]), ("addr", [(3, 1), (3,), (2,)]),
    ("baddbmm", [(1, 3), (2, 3, 4), (2, 4, 3)]), ("addbmm", [(3, 2), (4, 3, 2), (4, 2, 2)]),
])
@pytest.mark.parametrize("scale", [{}, {"beta": 0.5, "alpha": -2.0}])
def test_add_products(name, shapes, scale):
    xs = [_rand(s, np.float64, i) for i, s in enumerate(shapes)]
    check(lambda m, *a: getattr(m, name)(*a, **scale), *xs)

    def inplace(m, a, *r):
        out = getattr(m, name)(a, *r).detach() * 0 + a     # a non-leaf of the result's shape
        return getattr(out, name + "_")(*r, **scale)
    check(inplace, *xs, gradcheck=False)


def test_add_products_beta_zero_ignores_nan_and_int_alpha():
    nan = np.full((2, 2), np.nan)
    check(lambda m, i, a, b: m.addmm(i, a, b, beta=0), nan, _rand((2, 3)), _rand((3, 2)),
          nondiff=[0])
    ints = [np.arange(4).reshape(2, 2), np.ones((2, 3), np.int64), np.ones((3, 2), np.int64)]
    check(lambda m, *a: m.addmm(*a, beta=2, alpha=3), *ints)
    with pytest.raises(RuntimeError, match="addmm.*integral"):
        ember.addmm(*(ember.from_numpy(a) for a in ints), alpha=0.5)


@pytest.mark.parametrize("sa,sb,dims", [
    ((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 2), 1), ((2, 3), (4,), 0), ((), (), 0),
    ((2, 3, 4), (4, 2, 3), ([0, 1], [1, 2])), ((3, 2), (2, 3), ([1, 0], [0, 1])),
    ((2, 0), (0, 3), 1), ((2, 3), (3, 4), ([-1], [0])),
])
def test_tensordot(sa, sb, dims):
    check(lambda m, a, b: m.tensordot(a, b, dims=dims), _rand(sa), _rand(sb, seed=1))


EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("bij,bjk->bik",
                                                                   [(2, 2, 3), (2, 3, 2)]),
    ("ii", [(3, 3)]), ("ii->i", [(3, 3)]), ("iij->j", [(2, 2, 3)]), ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]), ("i,j->ij", [(2,), (3,)]), ("i,i->", [(3,), (3,)]),
    ("i,i", [(3,), (3,)]), ("ba", [(2, 3)]), ("ij,ij->i", [(1, 3), (2, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]), ("...ij->...", [(2, 3, 4)]),
    ("i...->...", [(2, 3, 4)]), ("...", [(2, 3)]), ("b...i,...i", [(2, 3), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]), ("i,j,k->", [(2,), (2,), (3,)]),
    ("ij,j->i", [(0, 3), (3,)]), ("ij->j", [(2, 0)]), ("Ab,bC->AC", [(2, 3), (3, 2)]),
    ("iji->j", [(2, 3, 2)]), ("ii,ij->j", [(2, 2), (2, 3)]), (" i j , j ->i", [(2, 3), (3,)]),
    ("", [()]), (",->", [(), ()]), ("i,->i", [(3,), ()]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM)
@pytest.mark.parametrize("dtype", DTYPES)
def test_einsum(eq, shapes, dtype):
    xs = [_rand(s, dtype, i) for i, s in enumerate(shapes)]
    check(lambda m, *a: m.einsum(eq, *a), *xs)


def test_einsum_operand_list_and_sublist_forms():
    a, b = _rand((2, 3)), _rand((3, 4), seed=1)
    check(lambda m, x, y: m.einsum("ij,jk->ik", [x, y]), a, b)
    check(lambda m, x, y: m.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b)
    check(lambda m, x, y: m.einsum(x, [0, 1], y, [1, 2]), a, b)
    check(lambda m, x: m.einsum(x, [Ellipsis, 1], [1]), a)


def test_einsum_third_order_gradient():
    x = ember.tensor(_rand((3, 3)), requires_grad=True)
    tx = torch.tensor(_rand((3, 3)), requires_grad=True)
    outs = []
    for m, t in ((ember, x), (torch, tx)):
        y = m.einsum("ij,jk,ki->", t, t, t)
        g, = m.autograd.grad(y, t, create_graph=True)
        h, = m.autograd.grad(m.einsum("ii", g), t, create_graph=True)
        k, = m.autograd.grad((h * h).sum(), t)
        outs.append(k.detach().numpy())
    np.testing.assert_allclose(*outs, rtol=1e-10)


@pytest.mark.parametrize("fn,err,match", [
    (lambda: ember.ones(64, 784) @ ember.ones(128, 10), RuntimeError,
     r"matmul: cannot multiply shapes \(64, 784\) and \(128, 10\): 784 != 128"),
    (lambda: ember.matmul(ember.ones(()), ember.ones(3)), RuntimeError, "at least 1D"),
    (lambda: ember.matmul(ember.ones(2, 3, 4), ember.ones(5, 4, 2)), RuntimeError,
     r"matmul.*\(2, 3, 4\).*\(5, 4, 2\).*2 != 5"),
    (lambda: ember.matmul(ember.ones(3), ember.ones(3, dtype=ember.float64)), RuntimeError,
     "matmul.*same dtype.*float32 and float64"),
    (lambda: ember.matmul(ember.ones(3) > 0, ember.ones(3) > 0), NotImplementedError, "bool"),
    (lambda: ember.mm(ember.ones(3), ember.ones(3, 2)), RuntimeError, "mm.*self.*matrix"),
    (lambda: ember.mm(ember.ones(2, 3), ember.ones(2, 3)), RuntimeError,
     r"mm.*cannot be multiplied \(2x3 and 2x3\)"),
    (lambda: ember.bmm(ember.ones(2, 3), ember.ones(2, 3, 4)), RuntimeError, "bmm.*batch1.*3D"),
    (lambda: ember.bmm(ember.ones(2, 2, 3), ember.ones(3, 3, 2)), RuntimeError,
     r"bmm.*\[2, 3\] but got: \[3, 3\]"),
    (lambda: ember.mv(ember.ones(2, 3), ember.ones(4)), RuntimeError, r"mv.*\(2x3\).*\(4\)"),
    (lambda: ember.mv(ember.ones(3), ember.ones(3)), RuntimeError, "mv.*matrix"),
    (lambda: ember.dot(ember.ones(2, 2), ember.ones(2)), RuntimeError, "dot.*1D.*2D and 1D"),
    (lambda: ember.dot(ember.ones(2), ember.ones(3)), RuntimeError, r"dot.*\[2\].*\[3\]"),
    (lambda: ember.outer(ember.ones(2, 2), ember.ones(2)), RuntimeError, "outer.*1-D.*2-D"),
    (lambda: ember.inner(ember.ones(2, 3), ember.ones(4)), RuntimeError,
     r"inner.*\[2, 3\] and \[4\]"),
    (lambda: ember.tensordot(ember.ones(2, 3), ember.ones(4, 3), dims=1), RuntimeError,
     "tensordot.*size 3 in dim 1.*size 4 in dim 0"),
    (lambda: ember.tensordot(ember.ones(2, 3), ember.ones(3), dims=-1), RuntimeError,
     "dims >= 0"),
    (lambda: ember.tensordot(ember.ones(2, 3), ember.ones(3), dims=2), RuntimeError,
     "dims=2"),
    (lambda: ember.tensordot(ember.ones(2, 3), ember.ones(3), dims=([1], [0, 0])),
     RuntimeError, "tensordot"),
    (lambda: ember.tensordot(ember.ones(2, 3), ember.ones(3), dims=(1, 0)), TypeError,
     "tensordot.*pair of lists"),
    (lambda: ember.tensordot(ember.ones(2, 3), ember.ones(3), dims=([5], [0])), IndexError,
     "tensordot.*range"),
    (lambda: ember.addmm(ember.ones(2, 2, 2), ember.ones(2, 3), ember.ones(3, 2)),
     RuntimeError, "expand"),
    (lambda: ember.addbmm(ember.ones(2, 2), ember.ones(2, 2, 3), ember.ones(3, 3, 2)),
     RuntimeError, "addbmm.*batch2"),
])
def test_product_errors(fn, err, match):
    with pytest.raises(err, match=match):
        fn()


@pytest.mark.parametrize("eq,shapes,match", [
    ("ij,jk", [(2, 3)], "fewer operands"),
    ("ij", [(2, 3), (3,)], "more operands"),
    ("ijk", [(2, 3)], r"subscripts in the equation \(3\).*dimensions \(2\) for operand 0"),
    ("i1", [(2, 3)], "invalid subscript given at index 1"),
    ("ij,jk", [(2, 3), (4, 3)], "subscript j has size 4 for operand 1.*size 3"),
    ("ii->i", [(3, 4)], "subscript i is repeated for operand 0.*4 != 3"),
    ("ij->ii", [(3, 3)], "output subscript i appears more than once"),
    ("ij->k", [(3, 3)], "output subscript k does not appear"),
    ("...ij,...jk", [(2, 3, 3), (4, 3, 3)], "ellipsis.*size 4.*size 2"),
    ("i..j", [(2, 3)], "invalid subscript term"),
    ("ij...k", [(2, 3)], r"subscripts in the equation \(3\) is more than"),
])
def test_einsum_errors(eq, shapes, match):
    with pytest.raises(RuntimeError, match="einsum\\(\\): .*" + match):
        ember.einsum(eq, *[ember.ones(s) for s in shapes])
    with pytest.raises(RuntimeError):
        torch.einsum(eq, *[torch.ones(s) for s in shapes])


def test_einsum_dtype_and_matmul_grad_sums_broadcast_batch():
    with pytest.raises(RuntimeError, match="einsum.*same dtype"):
        ember.einsum("i,i", ember.ones(2), ember.ones(2, dtype=ember.float64))
    a = ember.ones(3, 4, requires_grad=True)
    b = ember.ones(5, 2, 4, 6, requires_grad=True)
    (a @ b).sum().backward()
    assert tuple(a.grad.shape) == (3, 4) and float(a.grad[0, 0]) == 60.0
