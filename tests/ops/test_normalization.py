from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
import ember.nn.functional as EF
from conformance import arrays, assert_close, check, shapes
from ember.backend import jit
from ember.ops import _fast_math_kernels as fk
from ember.ops.normalization import _layer_norm_fast

DTYPES = [np.float32, np.float64]


def _params(draw, n, dtype):
    """Optional weight and bias arrays of ``n`` elements (None or an array each)."""
    w = arrays(draw, (n,), dtype, 0.5, 2.0) if draw(st.booleans()) else None
    b = arrays(draw, (n,), dtype) if draw(st.booleans()) else None
    return w, b


def _trailing_case(data, dtype):
    """An input array of 1 to 3 dims and a ``normalized_shape``: its last 1 to all dims."""
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    k = data.draw(st.integers(1, len(shape)))
    return arrays(data.draw, shape, dtype), shape[len(shape) - k:]


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_layer_norm(dtype, data):
    x, norm = _trailing_case(data, dtype)
    w = arrays(data.draw, norm, dtype, 0.5, 2.0) if data.draw(st.booleans()) else None
    b = arrays(data.draw, norm, dtype) if data.draw(st.booleans()) else None
    check(lambda m, x, w, b: m.nn.functional.layer_norm(x, norm, w, b, eps=1e-3), x, w, b,
          grad_atol=1e-4 if dtype == np.float32 else None)


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_batch_norm_training(dtype, data):
    shape = data.draw(st.sampled_from([(3, 2), (2, 3, 2), (2, 2, 2, 1), (1, 2, 3)]))
    x = arrays(data.draw, shape, dtype)
    w, b = _params(data.draw, shape[1], dtype)
    check(lambda m, x, w, b: m.nn.functional.batch_norm(x, None, None, w, b, training=True),
          x, w, b, grad_atol=1e-4 if dtype == np.float32 else None)


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_batch_norm_eval(dtype, data):
    shape = data.draw(st.sampled_from([(3, 2), (2, 3, 2), (1, 2, 2, 2)]))
    c = shape[1]
    x = arrays(data.draw, shape, dtype)
    rm, rv = arrays(data.draw, (c,), dtype), arrays(data.draw, (c,), dtype, 0.5, 2.0)
    w, b = _params(data.draw, c, dtype)
    check(lambda m, x, rm, rv, w, b: m.nn.functional.batch_norm(x, rm, rv, w, b, eps=1e-3),
          x, rm, rv, w, b, nondiff=(1, 2))


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5), (2, 3, 2, 2)])
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batch_norm_running_stats_follow_torch(shape, momentum):
    rng = np.random.default_rng(1)
    c = shape[1]
    e_rm, e_rv = ember.zeros(c), ember.ones(c)
    t_rm, t_rv = torch.zeros(c), torch.ones(c)
    for _ in range(3):
        x = rng.standard_normal(shape).astype(np.float32) * 3 + 1
        e = EF.batch_norm(ember.from_numpy(x), e_rm, e_rv, training=True, momentum=momentum)
        t = torch.nn.functional.batch_norm(torch.from_numpy(x), t_rm, t_rv, training=True,
                                           momentum=momentum)
        assert_close(e, t)
        assert_close(e_rm, t_rm, what="running_mean")
        assert_close(e_rv, t_rv, what="running_var")
    v = e_rm._version
    EF.batch_norm(ember.from_numpy(x), e_rm, e_rv, training=False)
    assert e_rm._version == v                    # eval mode leaves the statistics alone
    assert_close(EF.batch_norm(ember.from_numpy(x), e_rm, e_rv),
                 torch.nn.functional.batch_norm(torch.from_numpy(x), t_rm, t_rv))


def test_batch_norm_training_grad_with_running_stats():
    x = np.random.default_rng(2).standard_normal((4, 3))
    check(lambda m, x, w: m.nn.functional.batch_norm(x, m.zeros(3, dtype=x.dtype),
                                                     m.ones(3, dtype=x.dtype), w,
                                                     training=True), x, np.ones(3) * 1.5)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        EF.batch_norm(ember.randn(1, 3), ember.zeros(3), ember.ones(3), training=True)
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 4"):
        EF.batch_norm(ember.randn(2, 3), ember.zeros(4), ember.ones(4), training=True)
    with pytest.raises(RuntimeError, match="running_mean must be defined"):
        EF.batch_norm(ember.randn(2, 3), None, None)
    with pytest.raises(RuntimeError, match="batch_norm.*at least 2 dims"):
        EF.batch_norm(ember.randn(3), ember.zeros(3), ember.ones(3))
    with pytest.raises(TypeError, match="momentum"):
        EF.batch_norm(ember.randn(2, 3), ember.zeros(3), ember.ones(3), training=True,
                      momentum=None)


def test_batch_norm_empty_batch_keeps_running_stats():
    rm, rv = ember.zeros(3), ember.ones(3)
    out = EF.batch_norm(ember.randn(0, 3), rm, rv, training=True)
    assert tuple(out.shape) == (0, 3)
    assert rm.tolist() == [0.0] * 3 and rv.tolist() == [1.0] * 3


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_group_norm(dtype, data):
    g = data.draw(st.sampled_from([1, 2]))
    shape = data.draw(st.sampled_from([(2, 4), (1, 4, 3), (2, 2, 2, 1)]))
    x = arrays(data.draw, shape, dtype)
    w, b = _params(data.draw, shape[1], dtype)
    if w is None and b is not None:      # torch 2.13 fails backward with a bias alone
        w = np.ones(shape[1], dtype)
    check(lambda m, x, w, b: m.nn.functional.group_norm(x, g, w, b, eps=1e-3), x, w, b,
          grad_atol=1e-4 if dtype == np.float32 else None)


def test_group_norm_errors():
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        EF.group_norm(ember.randn(2, 6, 3), 4)
    with pytest.raises(RuntimeError, match="weight to be a vector"):
        EF.group_norm(ember.randn(2, 6, 3), 3, ember.ones(5))


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_instance_norm(dtype, data):
    shape = data.draw(st.sampled_from([(2, 2, 3), (1, 2, 2, 2)]))
    x = arrays(data.draw, shape, dtype)
    w, b = _params(data.draw, shape[1], dtype)
    check(lambda m, x, w, b: m.nn.functional.instance_norm(x, weight=w, bias=b, eps=1e-3),
          x, w, b, grad_atol=1e-4 if dtype == np.float32 else None)


def test_instance_norm_running_stats_follow_torch():
    x = np.random.default_rng(3).standard_normal((3, 2, 5)).astype(np.float32)
    e_rm, e_rv, t_rm, t_rv = ember.zeros(2), ember.ones(2), torch.zeros(2), torch.ones(2)
    for _ in range(2):
        EF.instance_norm(ember.from_numpy(x), e_rm, e_rv)
        torch.nn.functional.instance_norm(torch.from_numpy(x), t_rm, t_rv)
    assert_close(e_rm, t_rm)
    assert_close(e_rv, t_rv)
    assert_close(EF.instance_norm(ember.from_numpy(x), e_rm, e_rv, use_input_stats=False),
                 torch.nn.functional.instance_norm(torch.from_numpy(x), t_rm, t_rv,
                                                   use_input_stats=False))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        EF.instance_norm(ember.randn(2, 3, 1))


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_rms_norm(dtype, data):
    x, norm = _trailing_case(data, dtype)
    w = arrays(data.draw, norm, dtype) if data.draw(st.booleans()) else None
    eps = data.draw(st.sampled_from([None, 1e-3]))
    check(lambda m, x, w: m.nn.functional.rms_norm(x, norm, w, eps=eps), x, w)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
@given(data=st.data())
def test_normalize(p, data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = arrays(data.draw, shape, np.float64)
    if p == float("inf") and shape[dim] == 0:
        with pytest.raises(RuntimeError, match="norm.*empty"):
            EF.normalize(ember.from_numpy(x), p=p, dim=dim)
        return
    check(lambda m, x: m.nn.functional.normalize(x, p=p, dim=dim), x)


def test_normalize_zero_vector_has_zero_gradient():
    check(lambda m, x: m.nn.functional.normalize(x, dim=-1), np.zeros((2, 3)), gradcheck=False)


def test_local_response_norm():
    x = np.random.default_rng(4).standard_normal((2, 5, 3))
    check(lambda m, x: m.nn.functional.local_response_norm(x, 3, alpha=0.1), x)
    check(lambda m, x: m.nn.functional.local_response_norm(x, 2, k=2.0), x[:1, :, None],
          gradgrad=False)
    with pytest.raises(ValueError, match="3D or higher"):
        EF.local_response_norm(ember.randn(2, 3), 2)


def test_layer_norm_errors():
    x = ember.randn(2, 3)
    with pytest.raises(RuntimeError, match=r"layer_norm.*normalized_shape=\[4\]"):
        EF.layer_norm(x, (4,))
    with pytest.raises(RuntimeError, match="weight of shape \\[2\\]"):
        EF.layer_norm(x, [3], ember.ones(2))
    with pytest.raises(RuntimeError, match="layer_norm.*floating point"):
        EF.layer_norm(ember.arange(6).reshape(2, 3), (3,))
    with pytest.raises(RuntimeError, match="layer_norm.*mixed dtype"):
        EF.layer_norm(x, (3,), ember.ones(3, dtype=ember.float64))
    with pytest.raises(RuntimeError, match=r"rms_norm.*normalized_shape=\[4\]"):
        EF.rms_norm(x, (4,))


def test_layer_norm_empty_and_grad_fn_name():
    assert tuple(EF.layer_norm(ember.randn(0, 4), (4,)).shape) == (0, 4)
    y = EF.layer_norm(ember.randn(2, 3, requires_grad=True), 3)
    assert y.grad_fn.name() == "NativeLayerNormBackward0"


@pytest.mark.skipif(not jit.enabled(), reason="numba not installed")
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_layer_norm_float32_kernel_matches_torch_and_numpy(data):
    """float32 layer norm runs one numba pass per row: output and gradients against
    torch (the saved mean and 1/std feed backward), and against the NumPy code; an
    offset mean, constant rows and NaN/inf included."""
    shape = data.draw(shapes(min_dims=0, max_dims=2, min_side=1, max_side=4)
                      ) + (data.draw(st.integers(1, 40)),)
    k = data.draw(st.integers(1, len(shape)))
    norm = shape[len(shape) - k:]
    x = arrays(data.draw, shape, np.float32) + data.draw(st.sampled_from([0.0, 100.0]))
    flat = x.reshape(-1, int(np.prod(norm)))
    if data.draw(st.booleans()):
        flat[0] = 3.0
    if data.draw(st.booleans()):
        flat[-1, 0] = data.draw(st.sampled_from([np.nan, np.inf]))
    w, b = _params(data.draw, int(np.prod(norm)), np.float32)
    w, b = (None if p is None else p.reshape(norm) for p in (w, b))
    fn = lambda m, x, w, b: m.nn.functional.layer_norm(x, norm, w, b, eps=1e-5)  # noqa: E731
    with mock.patch.object(fk, "MIN_SIZE", 1):
        check(fn, x, w, b, gradcheck=False, grad_atol=1e-4, rtol=1e-4, atol=5e-5)
        fast = fn(ember, *(None if a is None else ember.from_numpy(a) for a in (x, w, b)))
    with jit.disabled():
        slow = fn(ember, *(None if a is None else ember.from_numpy(a) for a in (x, w, b)))
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=2e-5, atol=2e-5)


@pytest.mark.skipif(not jit.enabled(), reason="numba not installed")
def test_what_the_layer_norm_kernel_declines():
    x = np.random.default_rng(4).standard_normal((64, 80)).astype(np.float32)
    assert _layer_norm_fast(x, None, None, (1,), 1e-5) is not None
    assert _layer_norm_fast(x.astype(np.float64), None, None, (1,), 1e-5) is None
    assert _layer_norm_fast(np.asfortranarray(x), None, None, (1,), 1e-5) is None
    assert _layer_norm_fast(x[:4], None, None, (1,), 1e-5) is None
    with jit.disabled():
        assert _layer_norm_fast(x, None, None, (1,), 1e-5) is None
