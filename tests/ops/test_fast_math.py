"""The numba passes behind erf, erfc and exact GELU (ember/ops/math.py ``_erfc_fast``)
give the same bits as the NumPy code they replace, and agree with PyTorch."""
import contextlib
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
import ember.nn.functional as F
from ember.backend import jit
from ember.ops import math as emath

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="numba not installed")

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 30.0, -30.0, 31.0, 1e-30, -1e-30, 0.49, 0.5,
           5.5, -5.5, 9.0, -9.0]


@contextlib.contextmanager
def fast_from(size):
    keep = emath._FAST_MIN_SIZE
    emath._FAST_MIN_SIZE = size
    try:
        yield
    finally:
        emath._FAST_MIN_SIZE = keep


FUNCS = {
    "erf": lambda t: ember.erf(t),
    "erfc": lambda t: ember.erfc(t),
    "gelu": lambda t: F.gelu(t),
}


def _same_bits(a, b):
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(both_nan | ((a == b) & (np.signbit(a) == np.signbit(b)))))


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(0, 9), max_size=3).map(tuple), seed=st.integers(0, 999),
       scale=st.sampled_from([0.1, 1.0, 4.0, 12.0]))
def test_numba_pass_gives_the_numpy_bits(name, dtype, shape, seed, scale):
    x = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)
    flat = x.reshape(-1)
    flat[:len(SPECIAL)] = SPECIAL[:flat.size]
    with fast_from(1):
        fast = FUNCS[name](ember.tensor(x)).numpy()
    with jit.disabled():
        slow = FUNCS[name](ember.tensor(x)).numpy()
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    assert _same_bits(fast, slow), (name, x[~((fast == slow) | np.isnan(fast))])


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
        with fast_from(1):
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
