"""The numba single-pass updates (ember/optim/_kernels.py) against PyTorch and against
the NumPy rules they replace, and the cases that must fall back to NumPy."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
import ember.optim
from ember.backend import jit
from ember.optim import _kernels

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="numba not installed")

CONFIGS = [
    ("Adam", {"lr": 1e-2}),
    ("Adam", {"lr": 1e-2, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 1e-2, "maximize": True, "betas": (0.8, 0.9), "eps": 1e-6}),
    ("AdamW", {"lr": 1e-2}),
    ("AdamW", {"lr": 1e-2, "weight_decay": 0.5, "amsgrad": True}),
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}),
]
TOL = {np.float32: (2e-5, 1e-6), np.float64: (1e-12, 1e-14)}


def _trajectory(lib, name, kwargs, p0, grads):
    p = lib.tensor(p0.copy(), requires_grad=True)
    opt = getattr(lib.optim, name)([p], **kwargs)
    for g in grads:
        p.grad = lib.tensor(g)
        opt.step()
    return p.detach().numpy().copy()


@pytest.mark.parametrize("name, kwargs", CONFIGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=8, deadline=None)
@given(shape=st.lists(st.integers(0, 5), max_size=3).map(tuple), seed=st.integers(0, 99))
def test_kernel_matches_torch_and_numpy_rule(name, kwargs, dtype, shape, seed):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(4)]
    fast = _trajectory(ember, name, kwargs, p0, grads)
    expected = _trajectory(torch, name, kwargs, p0, grads)
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(fast, expected, rtol=rtol, atol=atol)
    with jit.disabled():
        slow = _trajectory(ember, name, kwargs, p0, grads)
    np.testing.assert_allclose(fast, slow, rtol=rtol, atol=atol)


def _adam_args(p):
    z = np.zeros_like(p)
    return dict(param=p, grad=np.ones_like(p), exp_avg=z, exp_avg_sq=z.copy(),
                max_exp_avg_sq=None, t=1.0)


HP = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, maximize=False,
          decoupled_weight_decay=False)


def test_kernel_declines_what_it_cannot_run_and_writes_nothing():
    strided = np.ones((4, 6), np.float32)[:, ::2]
    args = _adam_args(strided)
    args["exp_avg"] = np.zeros((4, 3), np.float32)
    assert not _kernels.adam(**args, **HP)                       # strided parameter
    assert (strided == 1).all()
    assert not _kernels.adam(**_adam_args(np.ones(3, np.float16)), **HP)
    mixed = _adam_args(np.ones(3, np.float32))
    mixed["grad"] = np.ones(3, np.float64)
    assert not _kernels.adam(**mixed, **HP)
    assert _kernels.adam(**_adam_args(np.ones(3, np.float32)), **HP)
    with pytest.MonkeyPatch.context() as mp:        # the environment switch
        mp.setenv("EMBER_NUMBA", "0")
        jit.reset()
        assert not jit.enabled()
        p = np.ones(3, np.float32)
        assert not _kernels.adam(**_adam_args(p), **HP) and (p == 1).all()
        assert not _kernels.sgd(p, np.ones(3, np.float32), None, lr=0.1, momentum=0.0,
                                dampening=0.0, nesterov=False, weight_decay=0.0,
                                maximize=False, fresh=False)
    jit.reset()
    assert jit.enabled()


def test_strided_parameter_takes_the_numpy_rule_and_still_matches_torch():
    base = np.random.default_rng(3).standard_normal((5, 8)).astype(np.float32)
    grads = [np.random.default_rng(k).standard_normal((5, 4)).astype(np.float32)
             for k in range(3)]
    start = np.ascontiguousarray(base[:, ::2])
    p = ember.from_numpy(base[:, ::2]).requires_grad_(True)        # updates base in place
    assert not p._data.flags.c_contiguous
    opt = ember.optim.Adam([p], lr=0.1)
    for g in grads:
        p.grad = ember.tensor(g)
        opt.step()
    expected = _trajectory(torch, "Adam", {"lr": 0.1}, start, grads)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=2e-5, atol=1e-6)


def test_nan_and_inf_gradients_propagate_as_in_torch():
    p0 = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
    grads = [np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)] * 2
    for name, kwargs in (("Adam", {"lr": 0.1, "amsgrad": True}),
                         ("SGD", {"lr": 0.1, "momentum": 0.9})):
        np.testing.assert_array_equal(_trajectory(ember, name, kwargs, p0, grads),
                                      _trajectory(torch, name, kwargs, p0, grads))
