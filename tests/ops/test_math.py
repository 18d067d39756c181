import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from conformance import arrays, broadcastable, check, noncontiguous, shapes, to_ember, to_torch

SMALL = dict(max_dims=3, max_side=3)
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 1e-30,
                    40.0, -40.0])

# name -> (low, high) of the inputs drawn for it (inside the function's smooth domain)
UNARY = {
    "exp": (-3, 3), "exp2": (-3, 3), "expm1": (-3, 3), "log": (0.5, 3), "log2": (0.5, 3),
    "log10": (0.5, 3), "log1p": (-0.5, 3), "sqrt": (0.5, 3), "rsqrt": (0.5, 3),
    "square": (-3, 3), "reciprocal": (0.5, 3), "abs": (-3, 3), "absolute": (-3, 3),
    "sign": (-3, 3), "sgn": (-3, 3), "sin": (-3, 3), "cos": (-3, 3), "tan": (-1.2, 1.2),
    "asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atan": (-3, 3), "arcsin": (-0.9, 0.9),
    "arccos": (-0.9, 0.9), "arctan": (-3, 3), "sinh": (-3, 3), "cosh": (-3, 3),
    "tanh": (-3, 3), "asinh": (-3, 3), "acosh": (1.2, 3), "atanh": (-0.9, 0.9),
    "arcsinh": (-3, 3), "arccosh": (1.2, 3), "arctanh": (-0.9, 0.9), "sigmoid": (-5, 5),
    "erf": (-3, 3), "erfc": (-3, 3), "erfinv": (-0.95, 0.95), "floor": (-3, 3),
    "ceil": (-3, 3), "round": (-3, 3), "trunc": (-3, 3), "fix": (-3, 3), "frac": (-3, 3),
    "nan_to_num": (-3, 3), "isnan": (-3, 3), "isinf": (-3, 3), "isfinite": (-3, 3),
    "isposinf": (-3, 3), "isneginf": (-3, 3),
}
BINARY = {  # name -> ((low, high) of x, (low, high) of y)
    "maximum": ((-3, 3), (-2, 3.5)), "minimum": ((-3, 3), (-2, 3.5)),
    "fmax": ((-3, 3), (-2, 3.5)), "fmin": ((-3, 3), (-2, 3.5)), "atan2": ((-3, 3), (0.5, 3)),
    "arctan2": ((-3, 3), (0.5, 3)), "hypot": ((0.5, 3), (-3, -0.5)),
    "logaddexp": ((-3, 3), (-2, 3.5)), "logaddexp2": ((-3, 3), (-2, 3.5)),
    "xlogy": ((-3, 3), (0.5, 3)),
}
# torch's sgn backward returns a ZeroTensor, which conformance._np cannot convert; adding
# 0 * x makes torch materialize the gradient
UNARY_FN = {name: (lambda m, a, n=name: getattr(m, n)(a)) for name in UNARY}
UNARY_FN["sgn"] = lambda m, a: m.sgn(a) + 0 * a
# torch has no derivative for these in-place variants, so only their values are compared
NO_INPLACE_GRAD = {"acosh", "arccosh", "asinh", "arcsinh", "atanh", "arctanh"}
NO_INPLACE = {"isnan", "isinf", "isfinite", "isposinf", "isneginf", "maximum", "minimum",
              "fmax", "fmin", "logaddexp", "logaddexp2"}


def same_error(fn, *inputs):
    """``fn`` raises in Ember exactly when it raises in torch, with the same error type."""
    try:
        fn(torch, *[to_torch(a) for a in inputs])
    except Exception as e:  # noqa: BLE001 - the oracle decides which error is right
        with pytest.raises(type(e)):
            fn(ember, *[to_ember(a) for a in inputs])
        return True
    return False


def check_any_dtype(fn, *inputs):
    """Either both raise the same error type, or both agree on forward values and dtype."""
    if not same_error(fn, *inputs):
        check(fn, *inputs, grad=False)


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=6)
@given(data=st.data())
def test_unary(name, dtype, data):
    lo, hi = UNARY[name]
    x = noncontiguous(arrays(data.draw, data.draw(shapes(**SMALL)), dtype, lo, hi))
    check(UNARY_FN[name], x)


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_, np.float16])
def test_unary_other_dtypes(name, dtype):
    x = np.array([[-2, 0, 3], [1, 5, -1]]).astype(dtype)
    check_any_dtype(lambda m, a: getattr(m, name)(a), x)
    check_any_dtype(lambda m, a: getattr(a, name)(), x)


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_special_values(name, dtype):
    check(lambda m, a: getattr(m, name)(a), SPECIAL.astype(dtype), grad=False)


@pytest.mark.parametrize("name", sorted(set(UNARY) - NO_INPLACE))
def test_unary_inplace(name):
    lo, hi = UNARY[name]
    x = np.random.default_rng(0).uniform(lo, hi, (2, 3))
    check(lambda m, a: getattr(a * 1, name + "_")() + (0 * a if name == "sgn" else 0), x,
          gradgrad=False,
          grad=name not in NO_INPLACE_GRAD)

    def on_leaf(m, a):
        out = a.clone()
        res = getattr(out, name + "_")()
        assert res is out
        return out
    check(on_leaf, x, grad=False)


def test_unary_inplace_dtype_errors():
    assert same_error(lambda m, a: a.sigmoid_(), np.arange(3))
    assert same_error(lambda m, a: a.square_(), np.array([True, False]))
    check(lambda m, a: a.abs_(), np.array([-2, 0, 3]))


def test_gradients_at_kinks():
    x = np.array([-1.0, -0.0, 0.0, 2.0])
    for fn in (lambda m, a: m.abs(a), lambda m, a: m.sign(a), lambda m, a: m.floor(a),
               lambda m, a: m.round(a), lambda m, a: m.frac(a), lambda m, a: a.abs() ** 3,
               lambda m, a: m.sqrt(a * a)):
        check(fn, x, gradcheck=False)


def test_derivative_stability_far_out():
    x = np.array([-800.0, -40.0, 40.0, 800.0])
    check(lambda m, a: m.sigmoid(a), x, gradcheck=False)
    check(lambda m, a: m.sigmoid(a), x.astype(np.float32), gradcheck=False)
    check(lambda m, a: m.tanh(a), x, gradcheck=False)
    check(lambda m, a: m.erf(a), x, gradcheck=False)
    check(lambda m, a: m.erfc(a), x, gradcheck=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_family_accuracy(dtype):
    x = np.concatenate([np.linspace(-6, 6, 241), np.geomspace(1e-20, 8, 60)]).astype(dtype)
    check(lambda m, a: m.erf(a), x, gradcheck=False)
    check(lambda m, a: m.erfc(a), x, gradcheck=False, rtol=1e-6 if dtype == np.float64 else None)
    y = np.concatenate([np.linspace(-0.999, 0.999, 201), 1 - np.geomspace(1e-6, 0.5, 30),
                        [1.0, -1.0, 1.5, 0.0]]).astype(dtype)
    check(lambda m, a: m.erfinv(a), y, grad=False)


@pytest.mark.parametrize("decimals", [-1, 0, 1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_decimals(decimals, dtype):
    x = np.random.default_rng(decimals + 5).uniform(-300, 300, (5, 4)).astype(dtype)
    check(lambda m, a: m.round(a, decimals=decimals), x, gradcheck=False)
    check(lambda m, a: (a * 1).round_(decimals=decimals), x, gradcheck=False)
    assert same_error(lambda m, a: m.round(a, decimals=2), np.arange(3))


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=6)
@given(data=st.data())
def test_binary(name, dtype, data):
    (xl, xh), (yl, yh) = BINARY[name]
    sx, sy = data.draw(broadcastable(2, **SMALL))
    x = arrays(data.draw, sx, dtype, xl, xh)
    y = noncontiguous(arrays(data.draw, sy, dtype, yl, yh))
    check(lambda m, a, b: getattr(m, name)(a, b), x, y)
    if name not in NO_INPLACE and x.shape == np.broadcast_shapes(sx, sy):
        check(lambda m, a, b: getattr(a * 1, name + "_")(b), x, y, gradgrad=False)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtypes", [(np.int64, np.int64), (np.int32, np.float32),
                                    (np.bool_, np.uint8), (np.float32, np.float64)])
def test_binary_dtypes(name, dtypes):
    x = np.array([[-2, 0, 3], [1, 2, -1]]).astype(dtypes[0])
    y = np.array([1, 0, 3]).astype(dtypes[1])
    check_any_dtype(lambda m, a, b: getattr(m, name)(a, b), x, y)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_scalar_argument(name):
    check_any_dtype(lambda m, a: getattr(m, name)(a, 2.0), np.ones(3))


def test_max_min_ties_split_gradient():
    x = np.array([1.0, 2.0, 3.0, np.nan, 0.0])
    y = np.array([1.0, 1.0, 4.0, 1.0, 0.0])
    for name in ("maximum", "minimum", "fmax", "fmin"):
        check(lambda m, a, b: getattr(m, name)(a, b), x, y, gradcheck=False)
        check(lambda m, a, b: getattr(m, name)(a, b), y, x, gradcheck=False)


def test_binary_special_values():
    x = np.array([0.0, 0.0, 1.0, np.inf, -np.inf, np.nan, np.inf, -0.0])
    y = np.array([0.0, np.nan, 0.0, np.inf, -np.inf, 1.0, 1.0, -1.0])
    for name in BINARY:
        check(lambda m, a, b: getattr(m, name)(a, b), x, y, grad=False)
    check(lambda m, a, b: m.xlogy(a, b), np.array([0.0, 0.0, 2.0]), np.array([0.0, -1, 3]),
          gradcheck=False)


# -- clamp ---------------------------------------------------------------------------------
CLAMPS = {
    "both": lambda m, x: m.clamp(x, -1.0, 1.5),
    "min": lambda m, x: m.clamp(x, min=-0.5),
    "max": lambda m, x: x.clamp(max=0.5),
    "clip": lambda m, x: m.clip(x, 0, 1),
    "clamp_min": lambda m, x: m.clamp_min(x, 0.2),
    "clamp_max": lambda m, x: x.clamp_max(0.2),
    "reversed": lambda m, x: m.clamp(x, 1.0, -1.0),
}


@pytest.mark.parametrize("name", sorted(CLAMPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=5)
@given(data=st.data())
def test_clamp_numbers(name, dtype, data):
    x = arrays(data.draw, data.draw(shapes(**SMALL)), dtype)
    check(CLAMPS[name], x)


@pytest.mark.parametrize("name", sorted(CLAMPS))
def test_clamp_boundaries_and_dtypes(name):
    x = np.array([-1.0, -0.5, 0.0, 0.2, 0.5, 1.0, 1.5, 2.0, np.nan, -np.inf, np.inf])
    check(CLAMPS[name], x, gradcheck=False)
    check(lambda m, a: CLAMPS[name](m, a * 1).clone(), x, gradcheck=False)
    for dtype in (np.int64, np.uint8, np.bool_):
        check_any_dtype(CLAMPS[name], np.array([-2, 0, 1, 3]).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=8)
@given(data=st.data())
def test_clamp_tensor_bounds(dtype, data):
    slo, shi = data.draw(broadcastable(2, **SMALL))
    # torch's clamp backward fails when the bounds broadcast the input to a larger shape
    x = arrays(data.draw, np.broadcast_shapes(slo, shi), dtype)
    lo = arrays(data.draw, slo, dtype, -2, 0)
    hi = arrays(data.draw, shi, dtype, -0.5, 2)        # sometimes below lo
    check(lambda m, a, b, c: m.clamp(a, b, c), x, lo, hi)
    check(lambda m, a, b: m.clamp(a, min=b), x, lo)
    check(lambda m, a, c: m.clamp_max(a, c), x, hi)


def test_clamp_inplace_and_errors():
    x = np.array([-2.0, 0.3, 3.0])
    check(lambda m, a: (a * 1).clamp_(0, 1), x, gradgrad=False)
    check(lambda m, a: (a * 1).clip_(min=0.5), x, gradgrad=False)
    check(lambda m, a: (a * 1).clamp_min_(0.5), x, gradgrad=False)
    check(lambda m, a: (a * 1).clamp_max_(0.5), x, gradgrad=False)
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        ember.clamp(ember.ones(2))
    assert same_error(lambda m, a: m.clamp(a), x)
    assert same_error(lambda m, a: m.clamp(a, m.zeros(3), 0.5), x)
    assert same_error(lambda m, a: a.clamp_(min=0.5), np.arange(3))


# -- nan_to_num, lerp, addcmul, addcdiv ---------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"nan": 1.5}, {"posinf": 9.0}, {"neginf": -7.0},
                                    {"nan": -1.0, "posinf": 2.0, "neginf": -2.0}])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_to_num(kwargs, dtype):
    x = SPECIAL.astype(dtype)
    check(lambda m, a: m.nan_to_num(a, **kwargs), x, gradcheck=False)
    check(lambda m, a: (a * 1).nan_to_num_(**kwargs), x, gradcheck=False)
    check(lambda m, a: m.nan_to_num(a, **kwargs), np.array([1, -2]), grad=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=8)
@given(data=st.data())
def test_lerp(dtype, data):
    s1, s2, s3 = data.draw(broadcastable(3, **SMALL))
    a, b = arrays(data.draw, s1, dtype), arrays(data.draw, s2, dtype)
    w = arrays(data.draw, s3, dtype, -0.5, 1.5)
    check(lambda m, x, y, z: m.lerp(x, y, z), a, b, w)
    check(lambda m, x, y: m.lerp(x, y, 0.3), a, b)
    check(lambda m, x, y: x.lerp(y, 0.7), a, b)


def test_lerp_inplace_and_errors():
    a, b = np.array([0.0, 1.0, 2.0]), np.array([4.0, -1.0, 2.0])
    check(lambda m, x, y: (x * 1).lerp_(y, 0.25), a, b, gradgrad=False)
    check(lambda m, x, y: m.lerp(x, y, m.tensor(0.5, dtype=m.float64)), a.astype(np.float32),
          b.astype(np.float32))
    assert same_error(lambda m, x, y: m.lerp(x, y, 0.5), a, b.astype(np.float32))
    assert same_error(lambda m, x, y: m.lerp(x, x, y), a, b.astype(np.float32))
    assert same_error(lambda m, x, y: m.lerp(x, y, 0.5), np.arange(3), np.arange(3))


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("value", [1, 0.5, -2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=5)
@given(data=st.data())
def test_addcmul_addcdiv(name, value, dtype, data):
    s1, s2, s3 = data.draw(broadcastable(3, **SMALL))
    a, b = arrays(data.draw, s1, dtype), arrays(data.draw, s2, dtype)
    c = arrays(data.draw, s3, dtype, 0.5, 2)
    check(lambda m, x, y, z: getattr(m, name)(x, y, z, value=value), a, b, c)
    check(lambda m, x, y, z: getattr(x, name)(y, z, value=value), a, b, c)
    if a.shape == np.broadcast_shapes(s1, s2, s3):
        check(lambda m, x, y, z: getattr(x * 1, name + "_")(y, z, value=value), a, b, c,
              gradgrad=False)


@pytest.mark.parametrize("dtypes", [(np.int64,) * 3, (np.float32, np.int64, np.int64),
                                    (np.int64, np.float32, np.int64),
                                    (np.float32, np.bool_, np.bool_)])
@pytest.mark.parametrize("value", [1, 2, 0.5])
def test_addcmul_addcdiv_dtypes(dtypes, value):
    a, b, c = (np.array([3, -1, 2]).astype(d) for d in dtypes)
    check_any_dtype(lambda m, x, y, z: m.addcmul(x, y, z, value=value), a, b, c)
    check_any_dtype(lambda m, x, y, z: m.addcdiv(x, y, z, value=value), a, b, c)


def test_abs_operator_and_aliases():
    x = np.array([-1.5, 2.0])
    check(lambda m, a: abs(a), x)
    check(lambda m, a: m.absolute(a), x)
    assert ember.fix is ember.trunc and ember.clip is ember.clamp
