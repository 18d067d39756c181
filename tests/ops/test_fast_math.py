"""The numba passes behind erf, erfc and exact GELU (ember/ops/math.py ``_erfc_fast``,
ember/ops/_fast_math_kernels.py): in float64 the same bits as the NumPy code they
replace; in float32 (own exp, rational erf for GELU) within float32 rounding of it, and
as close to the float64 truth as PyTorch's float32 results are."""
import math
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
import ember.nn.functional as F
from ember.backend import jit
from ember.ops import _fast_math_kernels as fk
from ember.ops import math as emath

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="numba not installed")

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 30.0, -30.0, 31.0, 1e-30, -1e-30, 0.49, 0.5,
           5.5, -5.5, 9.0, -9.0]


FUNCS = {
    "erf": lambda t: ember.erf(t),
    "erfc": lambda t: ember.erfc(t),
    "gelu": lambda t: F.gelu(t),
}


def _same_bits(a, b):
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(both_nan | ((a == b) & (np.signbit(a) == np.signbit(b)))))


def _fast_and_slow(name, x):
    with mock.patch.object(emath, "_FAST_MIN_SIZE", 1):
        fast = FUNCS[name](ember.tensor(x)).numpy()
    with jit.disabled():
        slow = FUNCS[name](ember.tensor(x)).numpy()
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    return fast, slow


def _with_specials(shape, seed, scale, dtype):
    x = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)
    flat = x.reshape(-1)
    flat[:len(SPECIAL)] = SPECIAL[:flat.size]
    return x


@pytest.mark.parametrize("name", sorted(FUNCS))
@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(0, 9), max_size=3).map(tuple), seed=st.integers(0, 999),
       scale=st.sampled_from([0.1, 1.0, 4.0, 12.0]))
def test_float64_numba_pass_gives_the_numpy_bits(name, shape, seed, scale):
    x = _with_specials(shape, seed, scale, np.float64)
    fast, slow = _fast_and_slow(name, x)
    assert _same_bits(fast, slow), (name, x[~((fast == slow) | np.isnan(fast))])


@pytest.mark.parametrize("name", sorted(FUNCS))
@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(0, 9), max_size=3).map(tuple), seed=st.integers(0, 999),
       scale=st.sampled_from([0.1, 1.0, 4.0, 12.0]))
def test_float32_numba_pass_matches_the_numpy_code(name, shape, seed, scale):
    """Same NaNs, infinities and signs; values within float32 rounding (GELU: a different
    erf, so within its error near 0 too)."""
    x = _with_specials(shape, seed, scale, np.float32)
    fast, slow = _fast_and_slow(name, x)
    assert np.array_equal(np.isnan(fast), np.isnan(slow))
    np.testing.assert_allclose(fast, slow, rtol=4e-7, atol=1e-7 if name == "gelu" else 0)


def _ulps(got, exact):
    """|got - exact| in float32 ulps of ``exact`` (float64 truth)."""
    spacing = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - exact) / spacing


DENSE = np.concatenate([np.linspace(-12, 12, 480_001), -np.logspace(-30, 2.5, 2000),
                        np.logspace(-30, 2.5, 2000), SPECIAL]).astype(np.float32)


def test_float32_gelu_on_a_dense_grid_against_torch():
    """Exact GELU in float32 (the rational erf in one pass) against float64 truth: within
    1 ulp for x >= 0, and in absolute terms no worse than PyTorch's float32 GELU."""
    got = F.gelu(ember.tensor(DENSE)).numpy()
    assert emath.gelu_exact_fast(DENSE) is not None
    t = torch.tensor(DENSE)
    exact = torch.nn.functional.gelu(t.double()).numpy()
    theirs = torch.nn.functional.gelu(t).numpy()
    assert np.array_equal(np.isnan(got), np.isnan(exact))
    fin = np.isfinite(exact)
    assert np.array_equal(got[~fin & ~np.isnan(exact)], exact[~fin & ~np.isnan(exact)])
    pos = fin & (DENSE >= 0)
    assert _ulps(got[pos], exact[pos]).max() <= 1.0
    neg = fin & (DENSE < 0)     # 1 + erf cancels: absolute error, about 2e-8 |x|
    err, their_err = np.abs(got[neg] - exact[neg]), np.abs(theirs[neg] - exact[neg])
    assert err.max() <= their_err.max()
    assert np.all(err <= np.maximum(their_err, 3e-8 * np.abs(DENSE[neg]) + 1e-45))


def test_float32_erf_erfc_on_a_dense_grid():
    """erf and erfc in float32 (Chebyshev terms and the kernels' own exp in one pass) are
    as accurate as the NumPy code (whose tail error, up to ~65 ulp of erfc near x = 8,
    comes from rounding z*z in float32), and tiny where the truth is subnormal."""
    t = torch.tensor(DENSE)
    for name, op, ref in (("erfc", ember.erfc, torch.erfc), ("erf", ember.erf, torch.erf)):
        got = op(ember.tensor(DENSE)).numpy()
        with jit.disabled():
            slow = op(ember.tensor(DENSE)).numpy()
        exact = ref(t.double()).numpy()
        assert np.array_equal(np.isnan(got), np.isnan(exact)), name
        normal = np.abs(exact) >= np.finfo(np.float32).tiny
        fast_err, slow_err = _ulps(got[normal], exact[normal]), _ulps(slow[normal], exact[normal])
        assert fast_err.max() <= slow_err.max() + 1, name
        assert fast_err.mean() <= slow_err.mean() + 0.1, name
        assert np.abs(got - exact)[~normal & ~np.isnan(exact)].max() < 1e-37, name


def test_exp_kernel_special_values_and_error():
    """The kernels' exp (for y <= 0): within 2 ulp where the result is a normal float32,
    0 for -inf and below -88, NaN for NaN, exactly 1 for +-0."""
    y = np.concatenate([-np.logspace(-30, 2.05, 200_000), np.linspace(-104, 0, 100_001),
                        [-np.inf, np.nan, -0.0, 0.0, -88.0, -87.5]]).astype(np.float32)
    fk.kernel(fk.softmax32_rows_loop)               # binds the compiled helpers
    out, p, bits = np.empty_like(y), np.empty_like(y), np.empty(y.size, np.int32)
    fk._exp_nonpos(y, out, p, bits, y.size)
    exact = np.exp(y.astype(np.float64))
    assert np.isnan(out[-5]) and out[-6] == 0 and out[-4] == 1 and out[-3] == 1
    normal = exact >= np.finfo(np.float32).tiny
    assert _ulps(out[normal], exact[normal]).max() <= 2.0
    low = y < -88
    assert np.all(out[low] == 0)
    assert np.all(np.abs(out - exact)[~normal & ~np.isnan(y)] < 1.2e-38)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_inputs_take_the_numba_pass_and_match_torch(dtype):
    x = (np.random.default_rng(1).standard_normal(3 * emath._FAST_MIN_SIZE) * 3).astype(dtype)
    assert emath._erfc_fast(x, 1.0, False) is not None
    t = torch.tensor(x)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(ember.erfc(ember.tensor(x)).numpy(), torch.erfc(t).numpy(),
                               rtol=rtol, atol=1e-6 if dtype == np.float32 else 1e-15)
    np.testing.assert_allclose(F.gelu(ember.tensor(x)).numpy(),
                               torch.nn.functional.gelu(t).numpy(), rtol=rtol,
                               atol=1e-6 if dtype == np.float32 else 1e-15)


def test_what_the_numba_pass_declines():
    small = np.ones(emath._FAST_MIN_SIZE - 1, np.float32)
    assert emath._erfc_fast(small, 1.0, False) is None
    half = np.ones(emath._FAST_MIN_SIZE, np.float16)
    assert emath._erfc_fast(half, 1.0, False) is None
    strided = np.ones(2 * emath._FAST_MIN_SIZE, np.float32)[::2]
    np.testing.assert_allclose(emath._erfc_fast(strided, 1.0, False), math.erfc(1.0),
                               rtol=1e-6)           # strided input: copied, then computed
    with jit.disabled():
        assert emath._erfc_fast(np.ones(emath._FAST_MIN_SIZE, np.float32), 1.0, False) is None


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_backward_op_matches_torch_to_second_order(approximate, dtype):
    """GELU's gradient is one ``gelu_backward`` op (numba passes for the exact form);
    its own gradients (in the upstream gradient and in x) against PyTorch's."""
    x = (np.random.default_rng(2).standard_normal(5000) * 3).astype(dtype)
    x[:5] = [0.0, -0.0, 30.0, -30.0, 1e-20]
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    res = {}
    for m, f in ((ember, F.gelu), (torch, torch.nn.functional.gelu)):
        t = m.tensor(x, requires_grad=True)
        (g,) = m.autograd.grad(f(t, approximate=approximate).sum(), (t,), create_graph=True)
        (h,) = m.autograd.grad((g * g * 0.5).sum(), (t,))
        res[m] = (g.detach().numpy(), h.numpy())
    if approximate == "none":
        with mock.patch.object(emath, "_FAST_MIN_SIZE", 1):
            xe = ember.tensor(x, requires_grad=True)
            F.gelu(xe).sum().backward()
        with jit.disabled():
            xs = ember.tensor(x, requires_grad=True)
            F.gelu(xs).sum().backward()
        np.testing.assert_allclose(xe.grad.numpy(), xs.grad.numpy(), **tol)
    # first order: PyTorch's float32 tanh rounds to -1 a little earlier than NumPy's
    # (correctly rounded) one, leaving ~1e-6 in the far tail of the tanh form
    first = dict(tol, atol=2e-6) if dtype == np.float32 else tol
    np.testing.assert_allclose(res[ember][0], res[torch][0], **first)
    # the second derivative cancels (1 - tanh^2, 2 - x^2) in the tails: absolute tolerance
    second = dict(rtol=1e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res[ember][1], res[torch][1], **second)
