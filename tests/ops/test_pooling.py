import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember
from ember.backend import jit
from conformance import FLOAT_DTYPES, arrays, check, noncontiguous


@st.composite
def pool_config(draw, dilation=True):
    """A valid pooling window over a small input: (input shape, kwargs)."""
    k = tuple(draw(st.integers(1, 3)) for _ in range(2))
    s = tuple(draw(st.integers(1, 3)) for _ in range(2))
    d = tuple(draw(st.integers(1, 2)) for _ in range(2)) if dilation else (1, 1)
    p = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    ceil = draw(st.booleans())
    # every window must overlap the input (else torch's index points outside it)
    sizes = tuple(max(1, (kk - 1) * dd + 1 - pp) + draw(st.integers(0, 3))
                  for kk, dd, pp in zip(k, d, p))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + sizes
    if draw(st.booleans()):
        shape = shape[1:]                      # unbatched
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil)
    if dilation:
        kw["dilation"] = d
    return shape, kw


def _ties(data, shape, dtype):
    """Values from a small set, so windows often hold tied maxima."""
    return np.floor(arrays(data.draw, shape, dtype, -2, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_max_pool2d(dtype, data):
    shape, kw = data.draw(pool_config())
    ties = data.draw(st.booleans())     # finite differences are meaningless at ties
    x = _ties(data, shape, dtype) if ties else arrays(data.draw, shape, dtype)
    check(lambda m, x: m.nn.functional.max_pool2d(x, return_indices=True, **kw), x,
          gradcheck=not ties)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_avg_pool2d(dtype, data):
    shape, kw = data.draw(pool_config(dilation=False))
    kw["count_include_pad"] = data.draw(st.booleans())
    kw["divisor_override"] = data.draw(st.sampled_from([None, None, 3]))
    check(lambda m, x: m.nn.functional.avg_pool2d(x, **kw), arrays(data.draw, shape, dtype))


@given(data=st.data())
def test_pool1d(data):
    shape, kw = data.draw(pool_config())
    shape = shape[:-2] + shape[-1:]
    kw = {k: v[1] if isinstance(v, tuple) else v for k, v in kw.items()}
    x = arrays(data.draw, shape, np.float64)
    check(lambda m, x: m.nn.functional.max_pool1d(x, return_indices=True, **kw), x)
    del kw["dilation"]
    check(lambda m, x: m.nn.functional.avg_pool1d(x, **kw), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_adaptive_pools(dtype, data):
    shape = tuple(data.draw(st.integers(1, 2)) for _ in range(2)) + \
        tuple(data.draw(st.integers(1, 5)) for _ in range(2))
    out = tuple(data.draw(st.one_of(st.none(), st.integers(1, 5))) for _ in range(2))
    x = arrays(data.draw, shape, dtype)
    check(lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, out), x)
    check(lambda m, x: m.nn.functional.adaptive_max_pool2d(x, out, return_indices=True), x)
    check(lambda m, x: m.nn.functional.adaptive_avg_pool1d(x, out[1] or 2), x[0])
    check(lambda m, x: m.nn.functional.adaptive_max_pool1d(x, out[1] or 2, True), x[0])


def test_top_level_names_and_int_max_pool():
    x = np.arange(48).reshape(1, 3, 4, 4).astype(np.int64)[..., ::-1].copy()
    check(lambda m, x: m.max_pool2d(x, 2), x)
    check(lambda m, x: m.max_pool1d(x, 3, 1, 1), x[0].astype(np.float32))
    check(lambda m, x: m.avg_pool1d(x, 2), np.ones((2, 3, 5)))
    check(lambda m, x: m.adaptive_avg_pool1d(x, 2), np.ones((2, 3, 5)))


def test_global_pool_noncontiguous_and_zero_batch():
    rng = np.random.default_rng(0)
    x = noncontiguous(rng.standard_normal((2, 3, 4, 4)))
    check(lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 1), x)
    check(lambda m, x: m.nn.functional.max_pool2d(x, 2), x)
    check(lambda m, x: m.nn.functional.max_pool2d(x, 2), np.ones((0, 2, 4, 4), np.float32))
    check(lambda m, x: m.nn.functional.avg_pool2d(x, 2), np.ones((0, 2, 4, 4), np.float32))


def test_nan_windows_and_all_negative_infinity():
    x = np.array([[[[1.0, np.nan, 2.0, -np.inf], [np.nan, 0.0, -np.inf, -np.inf],
                    [3.0, 3.0, 5.0, 5.0], [3.0, 3.0, 5.0, 5.0]]]])
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)]:
        check(lambda m, x: m.nn.functional.max_pool2d(x, return_indices=True, **kw), x,
              gradcheck=False)


def test_max_unpool2d():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 5, 4))
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)]:
        def fn(m, x):
            y, i = m.nn.functional.max_pool2d(x, return_indices=True, **kw)
            return m.nn.functional.max_unpool2d(y, i, output_size=x.shape[-2:], **kw)
        # overlapping windows repeat an index: unpooling writes it once, but autograd
        # (torch's too) counts it per window, so only the tiling case is gradchecked
        check(fn, x, gradcheck=kw["kernel_size"] == 2)


@pytest.mark.parametrize("xs,kw", [
    ((8, 6, 28, 28), dict(kernel_size=2)),                       # LeNet subsampling
    ((4, 64, 32, 32), dict(kernel_size=3, stride=2, padding=1)),  # ResNet-18 stem pool
])
def test_cnn_pool_shapes_float32(xs, kw):
    x = np.maximum(np.random.default_rng(2).standard_normal(xs).astype(np.float32), 0)
    check(lambda m, x: m.nn.functional.max_pool2d(x, **kw), x)    # ReLU zeros: many ties
    check(lambda m, x: m.nn.functional.avg_pool2d(x, **kw), x)
    check(lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (1, 1)), x)


def test_double_backward_of_max_pool_routes_like_torch():
    x = np.floor(np.random.default_rng(3).uniform(-2, 2, (1, 2, 4, 4)))
    xe = ember.from_numpy(x).requires_grad_()
    xt = torch.from_numpy(x).requires_grad_()
    ge, = ember.autograd.grad(ember.nn.functional.max_pool2d(xe, 3, 1, 1).pow(2).sum(), [xe],
                              create_graph=True)
    gt, = torch.autograd.grad(torch.nn.functional.max_pool2d(xt, 3, 1, 1).pow(2).sum(), [xt],
                              create_graph=True)
    np.testing.assert_allclose(ge.detach().numpy(), gt.detach().numpy())
    hx, = ember.autograd.grad(ge.sum(), [xe])
    ht, = torch.autograd.grad(gt.sum(), [xt])
    np.testing.assert_allclose(hx.numpy(), ht.numpy())


def _t(*shape, dtype=ember.float32):
    return ember.zeros(*shape, dtype=dtype)


@pytest.mark.parametrize("call,exc,match", [
    (lambda F: F.max_pool2d(_t(1, 4, 5, 5), 3, padding=2), RuntimeError,
     r"max_pool2d.*pad should be at most half"),
    (lambda F: F.max_pool2d(_t(1, 4, 5, 5), 0), RuntimeError, r"max_pool2d.*greater than zero"),
    (lambda F: F.max_pool2d(_t(1, 4, 5, 5), 2, stride=0), RuntimeError,
     "stride should not be zero"),
    (lambda F: F.max_pool2d(_t(1, 4, 5, 5), 2, dilation=0), RuntimeError,
     "dilation should be greater than zero"),
    (lambda F: F.max_pool2d(_t(1, 4, 5, 5), 7), RuntimeError,
     r"max_pool2d.*Output size is too small"),
    (lambda F: F.max_pool2d(_t(1, 1, 0, 4), 2), RuntimeError, r"max_pool2d.*3D or 4D"),
    (lambda F: F.max_pool2d(_t(5, 5), 2), RuntimeError, r"max_pool2d.*\[5, 5\]"),
    (lambda F: F.max_pool2d(_t(1, 4, 5, 5), (2, 2, 2)), RuntimeError, "kernel_size"),
    (lambda F: F.max_pool1d(_t(1, 4, 5, 5), 2), RuntimeError, r"max_pool1d.*2D or 3D"),
    (lambda F: F.avg_pool2d(_t(1, 4, 5, 5), 3, padding=2), RuntimeError,
     r"avg_pool2d.*pad should be at most half"),
    (lambda F: F.avg_pool2d(_t(1, 4, 5, 5), 7), RuntimeError, "Output size is too small"),
    (lambda F: F.avg_pool2d(_t(1, 4, 5, 5), 2, divisor_override=0), RuntimeError,
     "divisor must be not zero"),
    (lambda F: F.adaptive_avg_pool2d(_t(1, 4, 5, 5), (2, 2, 2)), RuntimeError,
     r"adaptive_avg_pool2d.*output_size must be 2"),
    (lambda F: F.adaptive_avg_pool2d(_t(5), 2), RuntimeError,
     r"adaptive_avg_pool2d.*3D or 4D.*\[5\]"),
    (lambda F: F.adaptive_max_pool2d(_t(1, 0, 5), 2), RuntimeError, r"adaptive_max_pool2d"),
    (lambda F: F.adaptive_max_pool2d(_t(1, 2, 5, 5), -1), RuntimeError, "non-negative"),
    (lambda F: F.max_unpool2d(_t(1, 2, 2, 2), _t(1, 2, 2, 2, dtype=ember.int64) + 99, 2),
     RuntimeError, "invalid max index"),
    (lambda F: F.max_unpool2d(_t(1, 2, 2, 2), _t(1, 2, 2, 2), 2), RuntimeError,
     "integer tensor"),
    (lambda F: F.max_unpool2d(_t(1, 2, 2, 2), _t(1, 2, 2, 2, dtype=ember.int64), 2,
                              output_size=(9, 9)), ValueError, "output_size"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call(ember.nn.functional)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("k", [2, 3, (2, 3)])
def test_max_pool2d_tiling_windows_with_ties_and_leftover_edges(dtype, k):
    """Stride = kernel (the common case): ties go to the first maximum, rows and columns
    past the last whole window get no gradient, a NaN wins its window."""
    rng = np.random.default_rng(1)
    x = rng.integers(-2, 3, (2, 3, 7, 8)).astype(dtype)   # small ints: many ties
    check(lambda m, a: m.nn.functional.max_pool2d(a, k, return_indices=True), x,
          gradcheck=False)
    x[0, 0, 1, 1] = np.nan
    check(lambda m, a: m.nn.functional.max_pool2d(a, k, return_indices=True), x,
          gradcheck=False)


def test_max_pool2d_backward_with_non_finite_upstream_gradient():
    """inf/nan in the gradient reach only each window's maximum, as in PyTorch (a fast
    path multiplies by the window mask, which would spread inf * 0 = nan)."""
    x = np.random.default_rng(2).standard_normal((2, 2, 4, 6))
    up = np.ones((2, 2, 2, 3))
    up[0, 0, 0, 0], up[1, 1, 1, 2] = np.inf, np.nan
    grads = []
    for lib in (ember, torch):
        t = lib.from_numpy(x.copy()).requires_grad_()
        lib.nn.functional.max_pool2d(t, 2).backward(lib.from_numpy(up.copy()))
        grads.append(t.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


# -- the numba 2x2 / stride-2 kernels (ember/ops/_pool_kernels.py) ----------------------

@pytest.fixture(params=["numba", "numpy"])
def numba_switch(request):
    """Run the test with the numba kernels on (where numba is installed) and off."""
    if request.param == "numba":
        if not jit.enabled():
            pytest.skip("numba not installed")
        yield
    else:
        with jit.disabled():
            yield


def _special_values(dtype):
    """A (2, 3, 9, 10) input whose 2x2 windows hold ties, NaNs (one, two, NaN beside
    inf), infinities of both signs and all -inf; odd height leaves a row over."""
    x = np.floor(np.random.default_rng(5).uniform(-2, 2, (2, 3, 9, 10))).astype(dtype)
    x[0, 0, 0:2, 0:2] = [[1, np.nan], [np.nan, 2]]
    x[0, 0, 0:2, 2:4] = [[np.nan, 5], [1, 1]]
    x[0, 0, 2:4, 0:2] = [[np.inf, -np.inf], [np.nan, 0]]
    x[0, 1, 0:2, 0:2] = -np.inf
    x[0, 1, 2:4, 2:4] = [[-np.inf, np.inf], [np.inf, 3]]
    x[1, 0, 0:2, 0:2] = [[np.nan, 1], [2, np.nan]]
    x[1, 2, 4:6, 4:6] = 7
    return x


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_max_pool2d_2x2_special_values_match_torch(numba_switch, dtype):
    x = _special_values(dtype)
    for kw in [dict(kernel_size=2), dict(kernel_size=2, ceil_mode=True),
               dict(kernel_size=(2, 2), stride=2, padding=1)]:
        check(lambda m, a: m.nn.functional.max_pool2d(a, return_indices=True, **kw), x,
              gradcheck=False)


def test_max_pool2d_2x2_gradcheck_noncontiguous_and_unbatched(numba_switch):
    x = np.random.default_rng(6).standard_normal((2, 3, 6, 8))
    check(lambda m, a: m.nn.functional.max_pool2d(a, 2), x)
    check(lambda m, a: m.nn.functional.max_pool2d(a, 2, return_indices=True), x[0])
    check(lambda m, a: m.nn.functional.max_pool2d(a, 2), noncontiguous(x))
    check(lambda m, a: m.nn.functional.max_pool2d(a, 2),
          np.random.default_rng(7).standard_normal((4, 6, 28, 28)).astype(np.float32))


def test_max_pool2d_2x2_double_backward(numba_switch):
    x = np.floor(np.random.default_rng(8).uniform(-2, 2, (2, 2, 6, 7)))
    grads = []
    for lib in (ember, torch):
        t = lib.from_numpy(x.copy()).requires_grad_()
        g, = lib.autograd.grad(lib.nn.functional.max_pool2d(t, 2).pow(3).sum(), [t],
                               create_graph=True)
        h, = lib.autograd.grad((g * g).sum(), [t])
        grads.append((g.detach().numpy(), h.numpy()))
    for e, t in zip(*grads):
        np.testing.assert_allclose(e, t)


@pytest.mark.skipif(not jit.enabled(), reason="numba not installed")
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_2x2_kernels_give_the_numpy_bits_and_decline_what_they_do_not_cover(dtype):
    from ember.ops import _pool_kernels, pooling
    x = _special_values(dtype)
    geom = dict(k=(2, 2), s=(2, 2), p=(0, 0), d=(1, 1), out=(4, 5))
    size = x.shape[2:]
    y, which = _pool_kernels.max_pool(x, geom["out"], np.int16)
    g = np.random.default_rng(9).standard_normal(y.shape).astype(dtype)
    g[0, 0, 0, 0], g[1, 1, 1, 1] = np.inf, np.nan
    gx = _pool_kernels.scatter(g, which, size)
    with jit.disabled():
        y0 = pooling._max_pool.forward(np, x, **geom)
        which0 = pooling._argmax.forward(np, x, y0, flat=False, **geom)
        gx0 = pooling._win_scatter.forward(np, g, which0, size=size, **geom)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(which, which0)
    np.testing.assert_array_equal(gx, gx0)
    assert _pool_kernels.applies(np, x.dtype, size, **geom)
    assert not _pool_kernels.applies(np, x.dtype, size, **dict(geom, out=(5, 5)))  # ceil
    assert not _pool_kernels.applies(np, x.dtype, size, **dict(geom, p=(1, 1)))
    assert not _pool_kernels.applies(np, np.dtype(np.int64), size, **geom)
    assert _pool_kernels.max_pool(np.asfortranarray(x), geom["out"], np.int16) is None
    with jit.disabled():
        assert not _pool_kernels.applies(np, x.dtype, size, **geom)
