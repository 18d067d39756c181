import warnings
from unittest import mock

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st

import ember
import ember.nn.functional as F
from conformance import arrays, check, noncontiguous, shapes
from ember.backend import jit
from ember.ops import _fast_math_kernels as fk
from ember.ops.softmax import _last_axis_fast


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_softmax_conformance(name, dtype, data):
    shape = data.draw(shapes(max_dims=3))
    dim = data.draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1))
    x = noncontiguous(arrays(data.draw, shape, dtype, -5, 5))
    check(lambda m, a: getattr(m, name)(a, dim), x)
    check(lambda m, a: getattr(a, name)(dim), x, gradcheck=False)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_dtype_argument_and_integer_input(name):
    x = np.arange(6).reshape(2, 3)
    check(lambda m, a: getattr(m, name)(a, 1, dtype=m.float64), x)
    check(lambda m, a: getattr(m, name)(a, 0, m.float64), x.astype(np.float32))
    with pytest.raises(RuntimeError, match=f"{name}.*floating point.*int64"):
        getattr(ember, name)(ember.from_numpy(x), 1)


def test_extreme_values_are_stable():
    x = np.array([[1000.0, 0.0, -1000.0], [-np.inf, 0.0, 1.0]])
    check(lambda m, a: m.softmax(a, 1), x, gradcheck=False)
    check(lambda m, a: m.log_softmax(a, 1), x, gradcheck=False)
    check(lambda m, a: m.softmax(a, 1), x.astype(np.float32) / 10, gradcheck=False)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 2), (2, 1, 2, 2)])
def test_functional_implicit_dim_warns_like_torch(name, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = getattr(F, name)(ember.from_numpy(x))
    with pytest.warns(UserWarning):
        expected = getattr(TF, name)(torch.from_numpy(x))
    assert any(issubclass(w.category, UserWarning) and "Implicit dimension" in str(w.message)
               for w in rec)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-7)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_functional_explicit_dim_and_dtype(name):
    x = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    check(lambda m, a: getattr(m.nn.functional, name)(a, dim=0, dtype=m.float64), x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(F, name)(ember.from_numpy(x), 1)


def test_dim_out_of_range():
    with pytest.raises(IndexError, match="softmax.*range"):
        ember.softmax(ember.ones(2, 3), 2)
    with pytest.raises(IndexError, match="log_softmax.*range"):
        ember.ones(2).log_softmax(-2)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((3, 70), 1), ((2, 70, 2), 1), ((2, 3, 2), 1),
                                       ((2, 3, 2), -1), ((70, 2), 0), ((2, 65), -1)])
def test_short_and_long_axes_give_contiguous_results(name, shape, dim):
    """Short reduced axes are computed moved first (a faster layout for NumPy); both
    layouts must agree with torch and return contiguous tensors, as torch does."""
    x = np.random.default_rng(2).uniform(-5, 5, shape)
    check(lambda m, a: getattr(m, name)(a, dim), x, gradcheck=False)
    check(lambda m, a: getattr(m, name)(a, dim), x.astype(np.float32))
    assert getattr(ember, name)(ember.from_numpy(x), dim).is_contiguous()


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_dim_is_required_outside_functional(name):
    x = ember.ones(2, 3)
    for fn in (lambda: getattr(ember, name)(x), lambda: getattr(x, name)()):
        with pytest.raises(TypeError):
            fn()
    with pytest.raises(TypeError):
        getattr(torch, name)(torch.ones(2, 3))


def test_functional_names_are_the_implicit_dim_versions():
    from ember.nn.functional import _activation
    for name in ("softmax", "log_softmax", "softmin"):
        assert getattr(F, name) is getattr(_activation, name)
    assert F.softmax is not ember.softmax


SPECIAL = [-np.inf, 1000.0, -1000.0, 88.0, -88.0, 0.0, -0.0, 1e-30]


@pytest.mark.skipif(not jit.enabled(), reason="numba not installed")
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_float32_last_axis_kernel_matches_torch_and_numpy(name, data):
    """float32 along the last axis runs one numba pass per row (its own exp): forward and
    gradient against torch, and against the NumPy code, special values included (rows
    fully masked with -inf, NaN, +-1000)."""
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)
                      ) + (data.draw(st.integers(1, 70)),)
    x = arrays(data.draw, shape, np.float32, -20, 20)
    flat = x.reshape(-1)
    picks = data.draw(st.lists(st.sampled_from(SPECIAL + [np.nan]), max_size=flat.size))
    flat[:len(picks)] = picks
    if data.draw(st.booleans()):
        x.reshape(-1, shape[-1])[0] = -np.inf
    with mock.patch.object(fk, "MIN_SIZE", 1):
        check(lambda m, a: getattr(m, name)(a, -1), x, gradcheck=False)
        fast = getattr(ember, name)(ember.from_numpy(x), -1).numpy()
    with jit.disabled():
        slow = getattr(ember, name)(ember.from_numpy(x), -1).numpy()
    np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-7 if name == "softmax" else 2e-6)


@pytest.mark.skipif(not jit.enabled(), reason="numba not installed")
def test_what_the_softmax_kernel_declines():
    """Other axes, other dtypes, strided arrays and small arrays take the NumPy code."""
    x = np.random.default_rng(3).standard_normal((64, 80)).astype(np.float32)
    assert _last_axis_fast(x, 1, False) is not None
    assert _last_axis_fast(x, 0, False) is None
    assert _last_axis_fast(x.astype(np.float64), 1, False) is None
    assert _last_axis_fast(np.asfortranarray(x), 1, False) is None
    assert _last_axis_fast(x[:4], 1, False) is None
    with jit.disabled():
        assert _last_axis_fast(x, 1, False) is None
