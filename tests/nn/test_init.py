"""ember.nn.init against torch.nn.init: gains and fans exactly, deterministic fills exactly,
random fills statistically (bounds, mean and std against torch's own fill of the same
shape), plus seeding, generators, dtypes, Parameters and errors."""
import math
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember
import ember.nn.init as init
from ember.nn.parameter import Parameter

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                  "leaky_relu", "selu"]

BIG = (512, 64, 3, 3)        # ~300k elements: std estimates good to well under 1%


def _pair(shape, dtype="float32"):
    """An empty Ember Parameter and torch Parameter of ``shape``."""
    return (Parameter(ember.empty(shape, dtype=getattr(ember, dtype))),
            torch.nn.Parameter(torch.empty(shape, dtype=getattr(torch, dtype))))


def _both(name, shape, *args, **kwargs):
    """Run init.<name> on a fresh Ember and torch tensor of ``shape``; return both as
    float64 arrays, after checking Ember returned its argument unchanged in identity."""
    e, t = _pair(shape)
    assert getattr(init, name)(e, *args, **kwargs) is e
    getattr(torch.nn.init, name)(t, *args, **kwargs)
    return e.detach().numpy().astype(np.float64), t.detach().numpy().astype(np.float64)


def _same_error(fn, exc=ValueError):
    """``fn(m)`` raises ``exc`` for m = torch.nn.init and ember.nn.init, and Ember's message
    starts with torch's."""
    with pytest.raises(exc) as te:
        fn(torch.nn.init, torch)
    with pytest.raises(exc, match="^" + re.escape(str(te.value))):
        fn(init, ember)


# -- gains and fans ---------------------------------------------------------------------

@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_calculate_gain_matches_torch(nonlinearity):
    assert init.calculate_gain(nonlinearity) == torch.nn.init.calculate_gain(nonlinearity)


@pytest.mark.parametrize("param", [None, 0, 0.2, 3, math.sqrt(5), -0.5])
def test_leaky_relu_gain_param(param):
    assert init.calculate_gain("leaky_relu", param) == \
        torch.nn.init.calculate_gain("leaky_relu", param)


@pytest.mark.parametrize("args", [("leaky_relu", True), ("leaky_relu", "0.1"),
                                  ("leaky_relu", [0.1]), ("gelu",), ("Relu",)])
def test_calculate_gain_errors(args):
    _same_error(lambda m, _: m.calculate_gain(*args))


@given(shape=st.lists(st.integers(0, 6), min_size=2, max_size=5).map(tuple),
       mode=st.sampled_from(["fan_in", "fan_out", "FAN_IN", "Fan_Out"]))
def test_fans_match_torch(shape, mode):
    e, t = ember.empty(*shape), torch.empty(*shape)
    assert init._calculate_fan_in_and_fan_out(e) == \
        torch.nn.init._calculate_fan_in_and_fan_out(t)
    assert init._calculate_correct_fan(e, mode) == torch.nn.init._calculate_correct_fan(t, mode)


@pytest.mark.parametrize("shape", [(), (5,)])
def test_fans_need_two_dims(shape):
    _same_error(lambda m, lib: m._calculate_fan_in_and_fan_out(lib.empty(shape)))
    _same_error(lambda m, lib: m.xavier_uniform_(lib.empty(shape)))
    _same_error(lambda m, lib: m.kaiming_normal_(lib.empty(shape)))


def test_bad_mode():
    _same_error(lambda m, lib: m.kaiming_uniform_(lib.empty(3, 4), mode="fan_avg"))


# -- deterministic fills ------------------------------------------------------------------

@pytest.mark.parametrize("name,args", [("constant_", (0.37,)), ("constant_", (-2,)),
                                       ("zeros_", ()), ("ones_", ())])
@pytest.mark.parametrize("shape", [(), (4,), (3, 5), (2, 3, 4)])
def test_constant_fills_equal_torch(name, args, shape):
    e, t = _both(name, shape, *args)
    np.testing.assert_array_equal(e, t)


@pytest.mark.parametrize("shape", [(4, 4), (3, 6), (6, 3), (0, 3)])
def test_eye_equals_torch(shape):
    e, t = _both("eye_", shape)
    np.testing.assert_array_equal(e, t)


@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 1),
                                          ((3, 6, 2, 5), 1), ((8, 2, 3, 3), 2),
                                          ((6, 4, 3, 2, 3), 3), ((4, 3, 1), 4)])
def test_dirac_equals_torch(shape, groups):
    e, t = _both("dirac_", shape, groups)
    np.testing.assert_array_equal(e, t)


def test_shape_errors():
    _same_error(lambda m, lib: m.eye_(lib.empty(2, 3, 4)))
    _same_error(lambda m, lib: m.eye_(lib.empty(3)))
    _same_error(lambda m, lib: m.dirac_(lib.empty(3, 3)))
    _same_error(lambda m, lib: m.dirac_(lib.empty(6, 3, 3), groups=4))
    _same_error(lambda m, lib: m.orthogonal_(lib.empty(5)))
    _same_error(lambda m, lib: m.sparse_(lib.empty(5, 3, 2), 0.5))


# -- random fills: distribution against torch's own fill ---------------------------------

UNIFORM_CASES = [
    ("uniform_", {"a": -0.3, "b": 0.7}),
    ("xavier_uniform_", {}),
    ("xavier_uniform_", {"gain": 2.5}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_uniform_", {"a": 0.2, "nonlinearity": "leaky_relu"}),
]
NORMAL_CASES = [
    ("normal_", {"mean": 0.5, "std": 0.02}),
    ("xavier_normal_", {"gain": 0.5}),
    ("kaiming_normal_", {}),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "tanh"}),
    ("trunc_normal_", {"std": 0.02}),
    ("trunc_normal_", {"mean": 0.5, "std": 1.0, "a": -1.0, "b": 3.0}),
    ("orthogonal_", {"gain": 3.0}),
]


def _assert_same_distribution(e, t):
    """Mean and std of the two samples agree to a fraction of the std (the sampling error
    on ~300k draws is about 0.2%)."""
    scale = t.std()
    assert abs(e.mean() - t.mean()) < 0.01 * scale, (e.mean(), t.mean())
    assert abs(e.std() / scale - 1) < 0.02, (e.std(), scale)


@pytest.mark.parametrize("name,kwargs", UNIFORM_CASES)
def test_uniform_family(name, kwargs):
    e, t = _both(name, BIG, **kwargs)
    _assert_same_distribution(e, t)
    lo, hi = t.min(), t.max()             # torch's sample spans its [low, high] to ~1e-5
    width = hi - lo
    assert lo - 1e-4 * width <= e.min() < lo + 1e-3 * width
    assert hi - 1e-3 * width < e.max() <= hi + 1e-4 * width


@pytest.mark.parametrize("name,kwargs", NORMAL_CASES)
def test_normal_family(name, kwargs):
    e, t = _both(name, BIG, **kwargs)
    _assert_same_distribution(e, t)


def _phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _Phi(x):
    return (1 + math.erf(x / math.sqrt(2))) / 2


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 1.0, 1.5, 4.0),
                                          (0.5, 2.0, -1.0, 3.0), (1.0, 0.1, -5.0, 0.95),
                                          (0.0, 1.0, -30.0, -1.9)])
def test_trunc_normal_moments(mean, std, a, b):
    """Mean and std of a truncated normal from their closed forms (torch's sampler is
    a rejection loop that takes seconds on tail intervals, so not used here)."""
    al, be = (a - mean) / std, (b - mean) / std
    z = _Phi(be) - _Phi(al)
    d = (_phi(al) - _phi(be)) / z
    want_mean = mean + std * d
    want_std = std * math.sqrt(1 + (al * _phi(al) - be * _phi(be)) / z - d * d)
    v = init.trunc_normal_(ember.empty(300000, dtype=ember.float64), mean, std, a, b).numpy()
    assert abs(v.mean() - want_mean) < 0.01 * want_std
    assert abs(v.std() / want_std - 1) < 0.01
    assert a <= v.min() and v.max() <= b


@pytest.mark.parametrize("kwargs", [{}, {"std": 0.02}, {"mean": 0.5, "a": -1.0, "b": 3.0},
                                    {"a": 1.5, "b": 4.0}, {"a": -0.01, "b": 0.01}])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_trunc_normal_within_bounds(kwargs, dtype):
    e = ember.empty(20000, dtype=getattr(ember, dtype))
    init.trunc_normal_(e, **kwargs)
    v = e.float().numpy()
    # like torch, the bounds are compared after rounding them to the tensor's dtype
    lo, hi = (ember.tensor(kwargs.get(k, d), dtype=e.dtype).item() for k, d in
              (("a", -2.0), ("b", 2.0)))
    assert v.min() >= lo and v.max() <= hi
    assert len(np.unique(v)) > 20


@pytest.mark.parametrize("shape", [(10, 30), (30, 10), (16, 16), (8, 3, 2, 2), (20, 2, 5),
                                   (1, 7), (7, 1)])
@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_orthogonal_rows_or_cols_orthonormal(shape, gain):
    w = init.orthogonal_(ember.empty(*shape, dtype=ember.float64), gain=gain)
    m = w.numpy().reshape(shape[0], -1)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(len(gram)), atol=1e-12)


def test_sparse_zeros_per_column():
    rows, cols, sparsity = 40, 300, 0.3
    e = init.sparse_(ember.empty(rows, cols), sparsity, std=0.5)
    t = torch.nn.init.sparse_(torch.empty(rows, cols), sparsity, std=0.5)
    ev, tv = e.numpy(), t.numpy()
    np.testing.assert_array_equal((ev == 0).sum(0), (tv == 0).sum(0))
    assert abs(ev[ev != 0].std() / tv[tv != 0].std() - 1) < 0.05


# -- seeding, generators, dtypes, Parameters ----------------------------------------------

RANDOM_INITS = [(name, kw) for name, kw in UNIFORM_CASES + NORMAL_CASES] + \
    [("sparse_", {"sparsity": 0.5})]


@pytest.mark.parametrize("name,kwargs", RANDOM_INITS)
def test_seed_and_generator_reproducible(name, kwargs):
    fill = getattr(init, name)

    def draw(**gen):
        return fill(ember.empty(6, 5), **kwargs, **gen).numpy()
    ember.manual_seed(3)
    first = draw()
    ember.manual_seed(3)
    np.testing.assert_array_equal(draw(), first)
    assert not np.array_equal(draw(), first)

    ember.manual_seed(0)
    expected_default = ember.rand(4).numpy()
    ember.manual_seed(0)
    a = draw(generator=ember.Generator().manual_seed(11))
    np.testing.assert_array_equal(ember.rand(4).numpy(), expected_default)  # untouched
    np.testing.assert_array_equal(draw(generator=ember.Generator().manual_seed(11)), a)
    assert not np.array_equal(draw(generator=ember.Generator().manual_seed(12)), a)


@pytest.mark.parametrize("name,kwargs", RANDOM_INITS + [("zeros_", {}), ("eye_", {})])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_parameter_filled_in_place_keeping_dtype(name, kwargs, dtype):
    p = Parameter(ember.zeros(8, 6, dtype=getattr(ember, dtype)))
    before = p._version
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = getattr(init, name)(p, **kwargs)
    assert out is p and p.dtype == getattr(ember, dtype)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert p._version > before
    assert np.isfinite(p.detach().float().numpy()).all()
    (p.float() * 2).sum().backward()        # still a usable leaf
    np.testing.assert_array_equal(p.grad.float().numpy(), 2.0)


def test_writes_through_a_view():
    base = ember.zeros(4, 6)
    init.ones_(base[:, 2:4])
    init.xavier_uniform_(base.t()[:2])
    v = base.numpy()
    assert (v[:, 2:4] == 1).all() and (v[:, :2] != 0).all() and (v[:, 4:] == 0).all()


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
def test_kaiming_zero_element_warns_and_is_noop(name):
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        e = getattr(init, name)(ember.empty(0, 3))
    assert tuple(e.shape) == (0, 3)
    assert tuple(init.orthogonal_(ember.empty(0, 3)).shape) == (0, 3)


def test_trunc_normal_warns_when_mean_far_outside():
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        e = init.trunc_normal_(ember.empty(100), mean=10.0, std=1.0, a=-2.0, b=2.0)
    assert (e.numpy() >= -2).all() and (e.numpy() <= 2).all()


@pytest.mark.parametrize("name,kwargs", RANDOM_INITS)
def test_random_fill_of_integer_tensor_refused(name, kwargs):
    with pytest.raises(NotImplementedError):
        getattr(torch.nn.init, name)(torch.zeros(4, 3, dtype=torch.int64), **kwargs)
    with pytest.raises(NotImplementedError, match="not implemented for dtype int64"):
        getattr(init, name)(ember.zeros(4, 3, dtype=ember.int64), **kwargs)


def test_errors_name_the_function_and_shape():
    with pytest.raises(ValueError, match=r"eye_ got a tensor of shape \[2, 3, 4\]"):
        init.eye_(ember.empty(2, 3, 4))
    with pytest.raises(ValueError, match=r"dirac_ got shape \[6, 3, 3\] and groups=4"):
        init.dirac_(ember.empty(6, 3, 3), groups=4)


@pytest.mark.parametrize("old,args", [("uniform", (-1.0, 1.0)), ("normal", ()),
                                      ("constant", (2.0,)), ("eye", ()),
                                      ("xavier_uniform", ()), ("kaiming_normal", ()),
                                      ("orthogonal", ()), ("sparse", (0.5,))])
def test_deprecated_names_warn_like_torch(old, args):
    with pytest.warns(FutureWarning) as tw:
        getattr(torch.nn.init, old)(torch.empty(4, 4), *args)
    with pytest.warns(FutureWarning, match=re.escape(str(tw[0].message))):
        out = getattr(init, old)(ember.empty(4, 4), *args)
    assert tuple(out.shape) == (4, 4)
