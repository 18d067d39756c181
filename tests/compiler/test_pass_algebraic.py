"""Pass ``algebraic``: identities and op chains simplify without changing any result."""
import numpy as np
import pytest
import torch

import ember
from ember.backend.dtypes import from_numpy_dtype
from ember.compiler.executor import build
from ember.compiler.ir import Graph
from ember.compiler.ir_ops import copy_into
from ember.compiler.passes import PassContext, algebraic
from ember.compiler.passes.algebraic import exact_cast
from ember.compiler.tracer import trace
from ember.ops.registry import REGISTRY as R

F32, F64 = np.float32, np.float64


def _simplify(g, *arrays):
    """Simplify ``g``; assert the results equal the unoptimized graph's; return stats."""
    before = build(g)(*arrays)
    ctx = PassContext()
    algebraic.run(g, ctx)
    g.verify()
    after = build(g)(*arrays)
    for a, b in zip(before[0] + before[1], after[0] + after[1]):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    return ctx.stats["algebraic"]


def _node(g, op, ins, shape, dtype=F32, attrs=None):
    return g.add_node(R[op], ins, attrs or {}, [(shape, dtype)]).outputs[0]


def _one_op(op, x_shape, other, out_shape, swap=False, x_dtype=F32, out_dtype=F32,
            attrs=None):
    """``sum(op(x, other))`` (or ``op(other, x)``), so the op's output is not returned."""
    g = Graph("t")
    x = g.add_input(x_shape, x_dtype)
    if isinstance(other, np.ndarray) and other.ndim:
        other = g.add_const(other)
    ins = [other, x] if swap else [x, other]
    y = _node(g, op, ins, out_shape, out_dtype, attrs)
    g.outputs = [_node(g, "sum", [y], (), out_dtype, {"dims": tuple(range(len(out_shape))),
                                                      "keepdim": False, "dtype": None})]
    return g, np.arange(np.prod(x_shape), dtype=x_dtype).reshape(x_shape) - 2


@pytest.mark.parametrize("op,other,swap,rule", [
    ("mul", np.asarray(1.0, F32), False, "mul_one"),
    ("mul", np.asarray(1.0, F32), True, "mul_one"),
    ("mul", np.ones((2, 3), F32), True, "mul_one"),
    ("mul", 1, False, "mul_one"),
    ("add", np.asarray(0.0, F32), False, "add_zero"),
    ("add", np.zeros((2, 3), F32), True, "add_zero"),
    ("sub", np.asarray(0.0, F32), False, "sub_zero"),
    ("div", np.asarray(1.0, F32), False, "div_one"),
    ("pow", np.asarray(1.0, F32), False, "pow_one"),
])
def test_identities_are_removed(op, other, swap, rule):
    g, x = _one_op(op, (2, 3), other, (2, 3), swap)
    assert _simplify(g, x) == {rule: 1}
    assert g.op_counts() == {"sum": 1}


@pytest.mark.parametrize("op,other,swap,x_shape,out_shape,out_dtype,attrs", [
    ("mul", np.ones((2, 3), F32), False, (3,), (2, 3), F32, None),     # broadcasts x
    ("mul", np.asarray(1.0, F64), False, (3,), (3,), F64, None),       # promotes x
    ("mul", np.asarray(2.0, F32), False, (3,), (3,), F32, None),
    ("sub", np.asarray(0.0, F32), True, (3,), (3,), F32, None),        # 0 - x
    ("add", np.asarray(0.0, F32), True, (3,), (3,), F32, {"alpha": 2}),  # 0 + 2x
    ("add", np.asarray(0.0, F32), False, (3,), (3,), F32, {"alpha": float("inf")}),
    ("div", np.asarray(1.0, F32), True, (3,), (3,), F32, None),        # 1 / x
    ("pow", np.asarray(1.0, F32), True, (3,), (3,), F32, None),        # 1 ** x
])
def test_non_identities_stay(op, other, swap, x_shape, out_shape, out_dtype, attrs):
    g, x = _one_op(op, x_shape, other, out_shape, swap, out_dtype=out_dtype, attrs=attrs)
    assert _simplify(g, x) == {}
    assert g.op_counts()[op] == 1


def test_neg_neg_and_double_transpose():
    g = Graph("t")
    x = g.add_input((2, 3, 4), F32)
    n = _node(g, "neg", [_node(g, "neg", [x], (2, 3, 4))], (2, 3, 4))
    p1 = _node(g, "permute", [n], (3, 2, 4), attrs={"dims": (1, 0, 2)})
    p2 = _node(g, "permute", [p1], (3, 4, 2), attrs={"dims": (0, 2, 1)})
    p3 = _node(g, "permute", [p2], (2, 3, 4), attrs={"dims": (2, 0, 1)})
    g.outputs = [_node(g, "exp", [p3], (2, 3, 4))]
    stats = _simplify(g, np.random.default_rng(0).standard_normal((2, 3, 4)).astype(F32))
    assert stats == {"neg_neg": 1, "permute_chain": 2, "permute_identity": 1}
    assert g.nodes[-1].inputs == [x]          # the rest is dead code, left to dce


def test_permute_chain_into_one_permute():
    g = Graph("t")
    x = g.add_input((2, 3, 4), F32)
    p1 = _node(g, "permute", [x], (3, 2, 4), attrs={"dims": (1, 0, 2)})
    p2 = _node(g, "permute", [p1], (4, 3, 2), attrs={"dims": (2, 0, 1)})
    g.outputs = [_node(g, "exp", [p2], (4, 3, 2))]
    assert _simplify(g, np.arange(24, dtype=F32).reshape(2, 3, 4)) == {"permute_chain": 1}
    assert g.nodes[1].inputs[0] is x and g.nodes[1].attrs["dims"] == (2, 1, 0)


@pytest.mark.parametrize("x_shape,shapes,removed", [
    ((2, 3), [(6,), (3, 2), (2, 3)], True),
    ((2, 3), [(6,), (1, 6), (6, 1)], False),
    ((0,), [(0, 2), (2, 0)], False)])
def test_reshape_chains(x_shape, shapes, removed):
    g = Graph("t")
    x = g.add_input(x_shape, F32)
    v = x
    for s in shapes:
        v = _node(g, "reshape", [v], s, attrs={"shape": s, "strict": True})
    g.outputs = [_node(g, "exp", [v], v.shape)]
    stats = _simplify(g, np.zeros(x_shape, F32))
    assert stats.get("reshape_chain") == len(shapes) - 1
    assert ("reshape_identity" in stats) is removed
    read = g.nodes[-1].inputs[0]
    if removed:
        assert read is x
    else:
        assert read.producer.inputs[0] is x and read.producer.attrs == {"shape": shapes[-1]}


def test_expand_and_cast_identities():
    g = Graph("t")
    x = g.add_input((2, 3), F32)
    e = _node(g, "expand", [x], (2, 3), attrs={"shape": (2, 3)})
    c = _node(g, "cast", [e], (2, 3), F32, {"dtype": ember.float32})
    g.outputs = [_node(g, "exp", [c], (2, 3))]
    assert _simplify(g, np.ones((2, 3), F32)) == {"expand_identity": 1, "cast_identity": 1}
    assert g.op_counts() == {"exp": 1}


def _dtype(np_dtype):
    return from_numpy_dtype(np.dtype(np_dtype))


@pytest.mark.parametrize("src,mid,dst,collapsed", [
    (F32, F64, F32, True), (F32, F64, np.float16, True), (np.int32, F64, F32, True),
    (F64, F32, F64, False), (np.int64, F64, np.int64, False), (F32, np.float16, F32, False),
    (np.bool_, np.int8, F32, True), (F32, np.bool_, F32, False)])
def test_cast_chains(src, mid, dst, collapsed):
    g = Graph("t")
    x = g.add_input((5,), src)
    m = _node(g, "cast", [x], (5,), mid, {"dtype": _dtype(mid)})
    d = _node(g, "cast", [m], (5,), dst, {"dtype": _dtype(dst)})
    g.outputs = [_node(g, "add", [d, d], (5,), dst)]
    if np.dtype(src).kind == "f":
        arr = np.asarray([1 + 2 ** -20, -1.5, 0.1, 7e4, 1e-8], src)
    else:
        arr = np.asarray([2 ** 31 - 1 if src == np.int64 else 3, -1, 0, 1, 7]).astype(src)
    stats = _simplify(g, arr)
    assert ("cast_chain" in stats) is collapsed


def test_exact_cast_table():
    import ml_dtypes
    bf16 = ml_dtypes.bfloat16
    assert exact_cast(np.float16, F32) and exact_cast(bf16, F64)
    assert not exact_cast(np.float16, bf16) and not exact_cast(bf16, np.float16)
    assert exact_cast(np.uint8, bf16) and not exact_cast(np.int16, bf16)
    assert exact_cast(np.uint8, np.int16) and not exact_cast(np.int8, np.uint8)
    assert not exact_cast(np.uint32, np.int32) and exact_cast(np.int32, np.int64)
    assert not exact_cast(F32, np.int64) and not exact_cast(np.int8, np.bool_)


def test_a_capture_of_ones_is_not_a_constant():
    w = ember.ones(3)
    g = Graph("t")
    x = g.add_input((3,), F32)
    y = _node(g, "mul", [x, g.add_capture(w)], (3,))
    g.outputs = [_node(g, "exp", [y], (3,))]
    assert _simplify(g, np.ones(3, F32)) == {}
    w.fill_(2.0)                                   # read afresh at every call
    np.testing.assert_allclose(build(g)(np.ones(3, F32))[0][0], np.exp(np.full(3, 2.0)))


def test_no_rewrite_across_a_write():
    p = ember.ones(3)
    g = Graph("t")
    cap = g.add_capture(p)
    z = g.add_input((3,), F32)
    y = _node(g, "mul", [cap, np.asarray(1.0, F32)], (3,))     # a snapshot of p
    g.add_node(copy_into, [cap, z], {}, [])
    g.outputs = [_node(g, "sub", [y, cap], (3,))]
    ctx = PassContext()
    algebraic.run(g, ctx)
    assert ctx.stats["algebraic"] == {}
    np.testing.assert_array_equal(build(g)(np.full(3, 4.0, F32))[0][0], np.full(3, -3.0))


def test_returned_tensors_do_not_start_sharing_memory():
    g = Graph("t")
    x = g.add_input((3,), F32)
    e = _node(g, "exp", [x], (3,))
    same_as_x = _node(g, "mul", [x, np.asarray(1.0, F32)], (3,))
    same_as_e = _node(g, "mul", [e, np.asarray(1.0, F32)], (3,))
    view_of_x = _node(g, "reshape", [x], (3,), attrs={"shape": (3,)})
    g.outputs = [same_as_x, same_as_e, view_of_x]
    stats = _simplify(g, np.ones(3, F32))
    assert stats == {"mul_one": 1, "reshape_identity": 1}    # x * 1 stays a copy of x
    arr = np.ones(3, F32)
    (a, b, c), _ = build(g)(arr)
    assert not np.shares_memory(a, arr) and np.shares_memory(c, arr)


def test_traced_function_matches_torch_and_compile():
    def f(x):
        y = (x * 1.0 + 0.0).t().t().reshape(-1).view(4, 3)
        return (-(-y.to(ember.float64).to(ember.float32)) / 1 ** 1).exp()

    x = np.random.default_rng(0).standard_normal((4, 3)).astype(F32)
    g = trace(f, (ember.tensor(x),))
    stats = _simplify(g, x)
    assert {"mul_one", "add_zero", "permute_identity", "reshape_identity", "neg_neg",
            "cast_identity", "div_one"} <= set(stats)
    tx = torch.from_numpy(x)
    want = (-(-(tx * 1.0 + 0.0).t().t().reshape(-1).view(4, 3).double().float()) / 1).exp()
    np.testing.assert_allclose(build(g)(x)[0][0], want.numpy(), rtol=1e-6)
    assert g.nodes[-1].inputs == [g.inputs[0]]
    compiled = ember.compile(f)
    for _ in range(3):
        np.testing.assert_allclose(compiled(ember.tensor(x)).numpy(), want.numpy(),
                                   rtol=1e-6)
