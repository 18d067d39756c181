"""The numba cross-entropy passes (ember/ops/_loss_kernels.py) agree with the NumPy code
they replace and with PyTorch, forward and backward; the NumPy code still runs where they
do not apply, and bad targets raise the same error."""
import contextlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
import ember.nn.functional as F
from ember.autograd import gradgradcheck
from ember.backend import jit
from ember.ops import _loss_kernels

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="numba not installed")

TOL = {np.float32: dict(rtol=1e-6, atol=3e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}


def _run(x, t, off, **kw):
    """Loss and logits gradient through Ember, numba on or off (``off``)."""
    xe = ember.from_numpy(x.copy()).requires_grad_()
    with jit.disabled() if off else contextlib.nullcontext():
        loss = F.cross_entropy(xe, ember.from_numpy(t), **kw)
        (loss.sum() if kw.get("reduction") == "none" else loss).backward()
    return loss.detach().numpy(), xe.grad.numpy()


def _torch(x, t, **kw):
    xt = torch.from_numpy(x.copy()).requires_grad_()
    loss = torch.nn.functional.cross_entropy(xt, torch.from_numpy(t), **kw)
    (loss.sum() if kw.get("reduction") == "none" else loss).backward()
    return loss.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@settings(max_examples=12, deadline=None)
@given(rows=st.integers(1, 40), classes=st.integers(1, 12), seed=st.integers(0, 999),
       ignore=st.booleans(), nan=st.booleans())
def test_kernel_matches_numpy_and_torch(dtype, reduction, rows, classes, seed, ignore, nan):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, classes)) * 4).astype(dtype)
    t = rng.integers(0, classes, rows)
    ignore_index = int(t[0]) if ignore else -100
    if nan:
        x[rng.integers(rows), rng.integers(classes)] = np.nan
    kw = dict(reduction=reduction, ignore_index=ignore_index)
    fast, slow, ref = _run(x, t, False, **kw), _run(x, t, True, **kw), _torch(x, t, **kw)
    for a, b, c in zip(fast, slow, ref):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, equal_nan=True, **TOL[dtype])
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6, equal_nan=True)


def test_kernel_is_used_for_small_logits_only(monkeypatch):
    calls = []
    real = _loss_kernels.forward
    monkeypatch.setattr(_loss_kernels, "forward",
                        lambda *a: calls.append(real(*a) is not None) or real(*a))
    rng = np.random.default_rng(0)
    for shape in [(64, 10), (2, _loss_kernels.MAX_ELEMENTS)]:
        x = rng.standard_normal(shape).astype(np.float32)
        t = rng.integers(0, shape[1], shape[0])
        loss, grad = _run(x, t, False)
        ref = _torch(x, t)
        np.testing.assert_allclose(loss, ref[0], rtol=1e-5)
        np.testing.assert_allclose(grad, ref[1], rtol=1e-5, atol=1e-8)
    assert calls == [True, False]


def test_all_targets_ignored_gives_nan_and_zero_gradient():
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    t = np.full(5, 2)
    loss, grad = _run(x, t, False, ignore_index=2)
    ref = _torch(x, t, ignore_index=2)
    assert np.isnan(loss) and np.isnan(ref[0])
    np.testing.assert_array_equal(grad, ref[1])


@pytest.mark.parametrize("bad", [5, -1])
def test_out_of_range_target_raises_with_the_kernel(bad):
    with pytest.raises(IndexError, match=rf"cross_entropy: Target {bad} is out of bounds"):
        F.cross_entropy(ember.randn(4, 3), ember.tensor([0, 1, bad, 2]))


def test_second_order_through_the_kernel_path():
    x = ember.randn(6, 4, dtype=ember.float64, requires_grad=True)
    t = ember.tensor([0, 3, 1, 1, 2, 0])
    assert gradgradcheck(lambda a: F.cross_entropy(a, t, ignore_index=1), (x,))
