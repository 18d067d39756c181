import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

import ember
from ember.ops import activations as A
from conformance import arrays, check, noncontiguous, shapes, to_ember, to_torch


def fn_of(name, **kwargs):
    """The same call on Ember's activations module and on torch.nn.functional."""
    return lambda m, x: getattr(A if m is ember else F, name)(x, **kwargs)


ACTIVATIONS = {
    "relu": {}, "relu6": {}, "leaky_relu": {}, "leaky_relu_slope": {"negative_slope": 0.2},
    "elu": {}, "elu_alpha": {"alpha": 0.5}, "selu": {}, "celu": {}, "celu_alpha": {"alpha": 2.0},
    "gelu": {}, "gelu_tanh": {"approximate": "tanh"}, "silu": {}, "mish": {}, "softplus": {},
    "softplus_beta": {"beta": 2.0, "threshold": 3.0}, "hardswish": {}, "hardsigmoid": {},
    "hardtanh": {}, "hardtanh_range": {"min_val": -0.5, "max_val": 2.0}, "logsigmoid": {},
    "softsign": {}, "tanhshrink": {}, "threshold": {"threshold": 0.5, "value": -2.0},
    "hardshrink": {}, "softshrink": {"lambd": 0.3}, "sigmoid": {}, "tanh": {},
}
INPLACE = {"relu", "relu6", "leaky_relu", "elu", "selu", "celu", "silu", "mish", "hardswish",
           "hardsigmoid", "hardtanh", "threshold"}


def base(name):
    return name.split("_slope")[0].split("_alpha")[0].split("_tanh")[0].split("_beta")[0] \
        .split("_range")[0]


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=5)
@given(data=st.data())
def test_activation(name, dtype, data):
    x = noncontiguous(arrays(data.draw, data.draw(shapes(max_dims=3, max_side=3)), dtype,
                             -4, 4))
    check(fn_of(base(name), **ACTIVATIONS[name]), x)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_special_values(name, dtype):
    """Kinks (0, thresholds, +-3, +-1, 6), saturation and non-finite values."""
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.3, -0.3, 0.5, -0.5, 1.0, -1.0, 2.0,
                  3.0, -3.0, 6.0, 19.9, 20.1, 60.0, -60.0, 800.0, -800.0], dtype)
    fn = fn_of(base(name), **ACTIVATIONS[name])
    check(fn, x, grad=False)
    finite = x[np.isfinite(x)]
    check(fn, finite, gradcheck=False)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_, np.float16])
def test_activation_other_dtypes(name, dtype):
    x = np.array([[-2, 0, 3], [1, 7, -1]]).astype(dtype)
    fn = fn_of(base(name), **ACTIVATIONS[name])
    try:
        fn(torch, to_torch(x))
    except Exception as e:  # noqa: BLE001 - the oracle decides which error is right
        with pytest.raises(type(e)):
            fn(ember, to_ember(x))
        return
    check(fn, x, grad=False)


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace(name):
    x = np.array([-3.5, -1.3, -0.2, 0.4, 2.2, 7.0])
    kwargs = ACTIVATIONS[name]

    def run(m, a):
        y = a * 1
        out = getattr(A if m is ember else F, name)(y, inplace=True, **kwargs)
        assert out is y
        return out
    check(run, x, gradgrad=False)
    t = ember.tensor(x)
    getattr(A, name)(t, inplace=True, **kwargs)
    np.testing.assert_allclose(t.numpy(), getattr(F, name)(torch.tensor(x), **kwargs).numpy())


@pytest.mark.parametrize("name", ["relu_", "leaky_relu_", "elu_", "selu_", "celu_",
                                  "hardtanh_", "threshold_"])
def test_inplace_functions(name):
    args = (0.5, -1.0) if name == "threshold_" else ()

    def run(m, a):
        y = a * 1
        mod = A if m is ember else (torch if name in ("relu_", "selu_", "celu_") else F)
        assert getattr(mod, name)(y, *args) is y
        return y
    check(run, np.array([-2.0, -0.5, 0.25, 3.0]), gradgrad=False)


def test_inplace_on_leaf_requiring_grad_refused():
    with pytest.raises(RuntimeError, match="leaf"):
        A.elu(ember.zeros(2, requires_grad=True), inplace=True)


def test_torch_level_names_and_methods():
    x = np.array([[-1.0, 2.0], [0.5, -3.0]])
    check(lambda m, a: m.relu(a), x)
    check(lambda m, a: a.relu(), x)
    check(lambda m, a: (a * 1).relu_(), x, gradgrad=False)
    check(lambda m, a: m.selu(a), x)
    check(lambda m, a: m.celu(a, alpha=1.5), x)
    check(lambda m, a: m.threshold(a, 0.1, 20.0), x)
    check(lambda m, a: m.sigmoid(a) + m.tanh(a), x)
    check(lambda m, a: a.hardshrink(0.7), x)
    check(lambda m, a, w: a.prelu(w), x, np.array([0.25, 0.5]))
    check(lambda m, a, w: m.prelu(a, w), x, np.array([0.1]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=8)
@given(data=st.data())
def test_prelu(dtype, data):
    shape = data.draw(shapes(min_dims=2, max_dims=4, min_side=1, max_side=3))
    x = arrays(data.draw, shape, dtype)
    per_channel = data.draw(st.booleans())
    w = arrays(data.draw, (shape[1] if per_channel else 1,), dtype, 0.0, 0.5)
    check(lambda m, a, b: (A if m is ember else F).prelu(a, b), x, w)


def test_prelu_low_rank_and_errors():
    check(lambda m, a, b: m.prelu(a, b), np.array(-2.0), np.array([0.3]))
    check(lambda m, a, b: m.prelu(a, b), np.array([-2.0, 1.0]), np.array(0.3))
    for x, w in [(np.zeros(3), np.ones(3)), (np.zeros((2, 3)), np.ones(4)),
                 (np.zeros((2, 3)), np.ones((3, 1))), (np.zeros(2), np.ones(1, np.float32))]:
        with pytest.raises(RuntimeError, match="prelu"):
            A.prelu(to_ember(x), to_ember(w))
        with pytest.raises(RuntimeError):
            F.prelu(to_torch(x), to_torch(w))


def test_argument_errors():
    x = ember.ones(3)
    with pytest.raises(RuntimeError, match="gelu.*approximate"):
        A.gelu(x, approximate="exact")
    with pytest.raises(ValueError, match="hardtanh.*min_val"):
        A.hardtanh(x, 1.0, -1.0)
    with pytest.raises(RuntimeError, match="celu.*alpha"):
        A.celu(x, alpha=0.0)
    with pytest.raises(RuntimeError, match="softshrink.*lambda"):
        A.softshrink(x, -0.5)
    with pytest.raises(RuntimeError, match="relu.*Boolean"):
        A.relu(ember.tensor([True]))


def test_all_exports_have_functional_signatures():
    import inspect
    for name in A.__all__:
        assert hasattr(F, name) or hasattr(torch, name), name
        if hasattr(F, name) and not name.endswith("_") and name not in ("sigmoid", "tanh"):
            try:
                tp = [p for p in inspect.signature(getattr(F, name)).parameters]
            except ValueError:      # a C builtin: no signature to compare with
                continue
            ep = [p for p in inspect.signature(getattr(A, name)).parameters]
            assert ep == tp, (name, ep, tp)
