"""Dtype table and PyTorch's type promotion: promote_types, result_type, op results and
the default dtype."""
import itertools

import numpy as np
import pytest
import torch

import ember

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
         "float32", "float64"]


def _name(d):
    return str(d).replace("torch.", "").replace("ember.", "")


def test_dtype_objects():
    assert ember.float32 == ember.float and ember.float64 == ember.double
    assert ember.int64 == ember.long and ember.int32 == ember.int and ember.float16 == ember.half
    assert repr(ember.float32) == "ember.float32" and ember.bool.name == "bool"
    assert ember.float32.is_floating_point and not ember.int64.is_floating_point
    assert ember.float32.itemsize == 4 and ember.bfloat16.itemsize == 2
    assert len({ember.float32, ember.float, ember.int64}) == 2
    for n in NAMES:
        assert ember.ones(1, dtype=n).dtype == getattr(ember, n)
        assert ember.ones(1, dtype=getattr(torch, n)).dtype == getattr(ember, n)
    assert ember.ones(1, dtype=np.float64).dtype == ember.float64
    assert ember.ones(1, dtype=float).dtype == ember.float32
    assert ember.ones(1, dtype=int).dtype == ember.int64
    with pytest.raises(TypeError, match="dtype"):
        ember.ones(1, dtype="complex64")


@pytest.mark.parametrize("a", NAMES)
def test_promote_types_all_pairs(a):
    for b in NAMES:
        got = ember.promote_types(getattr(ember, a), getattr(ember, b))
        assert _name(got) == _name(torch.promote_types(getattr(torch, a), getattr(torch, b))), \
            (a, b)


def _operand(m, spec):
    """spec: ('t', dtype) dimensioned tensor, ('z', dtype) 0-d tensor, or a Python scalar."""
    if isinstance(spec, tuple):
        kind, dt = spec
        shape = (2,) if kind == "t" else ()
        return m.ones(shape, dtype=getattr(m, dt))
    return spec


SCALARS = [True, 2, 2.5]
OPERANDS = [("t", n) for n in NAMES] + [("z", n) for n in NAMES] + SCALARS


def test_result_type_many_combos():
    bad = []
    for x, y in itertools.product(OPERANDS, OPERANDS):
        if not isinstance(x, tuple) and not isinstance(y, tuple):
            continue
        tx, ty = _operand(torch, x), _operand(torch, y)
        ex, ey = _operand(ember, x), _operand(ember, y)
        if not isinstance(tx, torch.Tensor):
            tx, ty, ex, ey = ty, tx, ey, ex        # torch.result_type wants a tensor first
        want = _name(torch.result_type(tx, ty))
        if _name(ember.result_type(ex, ey)) != want:
            bad.append((x, y, _name(ember.result_type(ex, ey)), want))
    assert not bad, bad[:10]


@pytest.mark.parametrize("x,y,want", [
    (("t", "int32"), 2.5, "float32"), (("t", "float16"), 2.5, "float16"),
    (("t", "uint8"), ("t", "int8"), "int16"), (("t", "int32"), ("z", "float64"), None),
    (("t", "float32"), ("z", "float64"), "float32"), (("z", "int64"), ("t", "int8"), "int8"),
    (("t", "bool"), 2, "int64"), (("t", "uint8"), 300, "uint8"), (("t", "bool"), True, "bool"),
    (("z", "int32"), 2.5, "float32"), (("t", "bfloat16"), ("t", "float16"), "float32"),
])
def test_named_cases(x, y, want):
    t = _name(torch.result_type(_operand(torch, x), _operand(torch, y)))
    if want is not None:
        assert t == want                               # documents torch's answer
    assert _name(ember.result_type(_operand(ember, x), _operand(ember, y))) == t


BINOPS = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": lambda a, b: a - b,
    "div": lambda a, b: a / b, "eq": lambda a, b: a == b, "lt": lambda a, b: a < b,
}


@pytest.mark.parametrize("op", ["add", "mul", "div", "eq", "lt", "sub"])
def test_binary_op_result_dtypes(op):
    bad = []
    specs = [("t", n) for n in NAMES] + [("z", n) for n in NAMES] + SCALARS
    for x, y in itertools.product(specs, specs):
        if not isinstance(x, tuple):
            continue
        try:
            want = BINOPS[op](_operand(torch, x), _operand(torch, y))
        except RuntimeError:
            want = None
        try:
            got = BINOPS[op](_operand(ember, x), _operand(ember, y))
        except RuntimeError:
            got = None
        if want is None or got is None:
            if (want is None) != (got is None):
                bad.append((x, y, "error" if got is None else "ok",
                            "error" if want is None else "ok"))
            continue
        if _name(got.dtype) != _name(want.dtype) or tuple(got.shape) != tuple(want.shape):
            bad.append((x, y, _name(got.dtype), _name(want.dtype)))
    assert not bad, bad[:10]


def test_python_float_does_not_upcast():
    assert (ember.ones(2) * 0.5).dtype == ember.float32
    assert (ember.ones(2, dtype=ember.float16) + 1.5).dtype == ember.float16
    assert (ember.ones(2, dtype=ember.int32) * 2).dtype == ember.int32
    assert (ember.ones(2, dtype=ember.int32) * 2.0).dtype == ember.float32


def test_default_dtype(default_float64):
    assert ember.get_default_dtype() == ember.float64
    assert ember.tensor([1.5]).dtype == ember.float64
    assert ember.zeros(2).dtype == ember.float64 and ember.rand(2).dtype == ember.float64
    assert ember.arange(0, 1, 0.5).dtype == ember.float64
    assert ember.full((1,), 2.0).dtype == ember.float64
    assert ember.linspace(0, 1, 3).dtype == ember.float64
    assert (ember.ones(2, dtype=ember.int32) * 2.5).dtype == ember.float64
    assert (ember.arange(3) / 2).dtype == ember.float64
    assert ember.result_type(ember.ones(2, dtype=ember.int64), 1.0) == ember.float64
    assert (ember.ones(2, dtype=ember.float32) * 2.5).dtype == ember.float32
    assert ember.tensor([1, 2]).dtype == ember.int64


def test_set_default_dtype_rejects_non_float():
    with pytest.raises(TypeError, match="floating"):
        ember.set_default_dtype(ember.int64)
    assert ember.get_default_dtype() == ember.float32


def test_type_promotion_errors_for_inplace():
    x = ember.ones(2, dtype=ember.int64)
    with pytest.raises(RuntimeError, match="float32.*int64|can't be cast"):
        x.add_(ember.ones(2))
    y = ember.ones(2)
    y.add_(ember.ones(2, dtype=ember.float64))          # same category: allowed, like torch
    assert y.dtype == ember.float32
