import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember
from conformance import arrays, broadcastable, check, noncontiguous

BINARY = {
    "add": lambda m, x, y: m.add(x, y),
    "add_alpha": lambda m, x, y: m.add(x, y, alpha=2.5),
    "sub": lambda m, x, y: x - y,
    "mul": lambda m, x, y: x * y,
    "div": lambda m, x, y: x / y,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_binary_broadcast(name, dtype, data):
    sx, sy = data.draw(broadcastable(2))
    x = arrays(data.draw, sx, dtype)
    y = arrays(data.draw, sy, dtype, 0.5, 3.0)
    check(BINARY[name], x, y)


@given(data=st.data())
def test_pow_and_noncontiguous(data):
    sx, sy = data.draw(broadcastable(2, min_dims=2))
    x = noncontiguous(arrays(data.draw, sx, np.float64, 0.5, 2.0))
    y = noncontiguous(arrays(data.draw, sy, np.float64, -2.0, 2.0))
    check(lambda m, a, b: a ** b, x, y)


@pytest.mark.parametrize("fn", [lambda m, x: x + 2.5, lambda m, x: x * 2, lambda m, x: x / 3,
                                lambda m, x: 2 - x, lambda m, x: x // 2, lambda m, x: x % 3,
                                lambda m, x: x > 1, lambda m, x: 2 ** x])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32, np.uint8, np.float16])
def test_scalar_promotion(fn, dtype):
    x = np.arange(1, 7).reshape(2, 3).astype(dtype)
    check(fn, x, grad=False)


def test_mixed_dtype_promotion_and_grad_dtype():
    check(lambda m, x, y: x * y, np.ones((2, 3), np.float32), np.full((3,), 2.0))
    check(lambda m, x, y: x + y, np.ones((2, 3), np.int32), np.ones((), np.float64))
    check(lambda m, x, y: x + y, np.ones((2, 3), np.uint8), np.ones(3, np.int8), grad=False)


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"add.*\(2, 3\).*\(4,\)"):
        ember.ones(2, 3) + ember.ones(4)


def test_bool_sub_and_neg_refused():
    b = ember.tensor([True, False])
    with pytest.raises(RuntimeError, match="sub"):
        b - b
    with pytest.raises(RuntimeError, match="neg"):
        -b
