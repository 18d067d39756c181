"""Elementwise fusion and the Fused kernel: groups form where they may and not where they
must not, and fused results equal the unfused graph's bit for bit (dtypes, shapes)."""
import copy

import numpy as np
import pytest
import torch

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.compiler.executor import build
from ember.compiler.fused import Fused, fused_op
from ember.compiler.ir import Graph
from ember.compiler.ir_ops import copy_into
from ember.compiler.passes import PassContext, fusion
from ember.compiler.tracer import trace
from ember.ops.registry import REGISTRY as R

RNG = np.random.default_rng(0)
RELU = {"threshold": 0, "value": 0}


def _f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _fused_nodes(g):
    return [n for n in g.nodes if isinstance(n.op, Fused)]


def _optimized(g):
    """A fused copy of ``g`` (nodes rebuilt; values shared) and the pass stats."""
    h = copy.copy(g)
    h.nodes = list(g.nodes)
    ctx = PassContext()
    before = {id(n): (n.op, list(n.inputs)) for n in g.nodes}
    fusion.run(h, ctx)
    h.verify()
    # the original graph must still run: restore producers the pass re-pointed
    for n in g.nodes:
        for v in n.outputs:
            v.producer = n
    assert all(before[id(n)] == (n.op, n.inputs) for n in g.nodes)
    return h, ctx.stats["fusion"]


def _same(a, b):
    """Equal shapes, dtypes and bits (NaN included)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    assert a.tobytes() == b.tobytes()


def _check(g, *arrays):
    """Fuse ``g``; the fused graph's outputs equal the unfused graph's exactly."""
    (ref,), _ = build(g)(*arrays)
    h, stats = _optimized(g)
    (out,), _ = build(h)(*arrays)
    _same(out, ref)
    return h, stats


def _relu_graph(x_shape, w_shape, dtype=np.float32):
    g = Graph("relu")
    x, w, b = (g.add_input(s, dtype) for s in (x_shape, w_shape, w_shape))
    out = np.broadcast_shapes(x_shape, w_shape)
    m = g.add_node(R["mul"], [x, w], {}, [(out, dtype)])
    a = g.add_node(R["add"], [m.outputs[0], b], {}, [(out, dtype)])
    r = g.add_node(R["relu"], [a.outputs[0]], RELU, [(out, dtype)])
    g.outputs = [r.outputs[0]]
    return g


@pytest.mark.parametrize("x_shape,w_shape", [((64, 128), (128,)), ((3, 1), (1, 4)),
                                             ((), ()), ((0, 5), (5,)), ((2, 3), ())])
def test_relu_chain_becomes_one_node_equal_to_unfused_and_torch(x_shape, w_shape):
    g = _relu_graph(x_shape, w_shape)
    x, w, b = (RNG.standard_normal(s).astype(np.float32) for s in (x_shape, w_shape, w_shape))
    h, stats = _check(g, x, w, b)
    assert len(h.nodes) == 1 and h.nodes[0].name.startswith("fused[")
    assert stats == {"groups": 1, "nodes": 3, "removed": 2}
    (out,), _ = build(h)(x, w, b)
    expect = torch.relu(torch.tensor(x) * torch.tensor(w) + torch.tensor(b)).numpy()
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expect)


def test_dag_with_a_shared_intermediate_fuses_into_one_node():
    g = Graph("dag")
    x, c = g.add_input((4, 5), np.float32), g.add_input((4, 5), np.bool_)
    t = g.add_node(R["mul"], [x, x], {}, [((4, 5), np.float32)]).outputs[0]
    s = g.add_node(R["sigmoid"], [t], {}, [((4, 5), np.float32)]).outputs[0]
    u = g.add_node(R["add"], [t, s], {}, [((4, 5), np.float32)]).outputs[0]
    r = g.add_node(R["where"], [c, u, x], {}, [((4, 5), np.float32)]).outputs[0]
    g.outputs = [r]
    x_ = _f32(4, 5)
    h, stats = _check(g, x_, x_ > 0)
    assert len(h.nodes) == 1 and stats["nodes"] == 4


def test_value_read_outside_the_group_or_returned_is_not_absorbed():
    g = Graph("escape")
    x = g.add_input((3,), np.float32)
    e = g.add_node(R["exp"], [x], {}, [((3,), np.float32)]).outputs[0]
    n = g.add_node(R["neg"], [e], {}, [((3,), np.float32)]).outputs[0]
    t = g.add_node(R["tanh"], [n], {}, [((3,), np.float32)]).outputs[0]
    s = g.add_node(R["sum"], [e], {"dims": (0,), "keepdim": False, "dtype": None},
                   [((), np.float32)]).outputs[0]
    g.outputs = [t, s, n]          # n escapes too
    x_ = _f32(3)
    refs, _ = build(g)(x_)
    h, stats = _optimized(g)
    outs, _ = build(h)(x_)
    for a, b in zip(outs, refs):
        _same(a, b)
    assert stats["groups"] == 0 and len(h.nodes) == 4


def test_no_fusion_across_a_write_into_what_the_producer_reads():
    param = ember.tensor(_f32(3))
    g = Graph("effects")
    x = g.add_input((3,), np.float32)
    p = g.add_capture(param)
    m = g.add_node(R["mul"], [p, np.asarray(2.0, np.float32)], {},
                   [((3,), np.float32)]).outputs[0]
    g.add_node(copy_into, [p, x], {}, [])
    r = g.add_node(R["add"], [m, np.asarray(1.0, np.float32)], {},
                   [((3,), np.float32)]).outputs[0]
    g.outputs = [r]
    start, x_ = param.numpy().copy(), _f32(3)
    (ref,), _ = build(g)(x_)
    param._data[...] = start
    h, stats = _optimized(g)
    (out,), _ = build(h)(x_)
    _same(out, ref)
    np.testing.assert_array_equal(out, start * 2 + 1)
    assert stats["groups"] == 0 and [n.name for n in h.nodes] == ["mul", "copy_into", "add"]


def test_random_and_non_elementwise_ops_are_not_fused():
    def f(x):
        h = F.dropout(x * 2, 0.5, training=True)
        return (h @ h.T).exp() + 1
    g = trace(f, (ember.tensor(_f32(3, 3)),))
    h, _ = _optimized(g)
    names = [n.name for n in h.nodes]
    assert "dropout" in names and "matmul" in names
    assert any(n.startswith("fused[add(exp(") for n in names)


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int32])
def test_dtypes_are_kept_exactly(dtype):
    g = _relu_graph((4, 6), (6,), dtype)
    x, w, b = (RNG.integers(-5, 5, s).astype(dtype) for s in ((4, 6), (6,), (6,)))
    h, _ = _check(g, x, w, b)
    assert h.nodes[0].outputs[0].dtype == dtype


def test_cast_and_comparison_inside_a_group_keep_their_dtypes():
    def f(x, y):
        m = (x > y).to(ember.float32)
        return (x.to(ember.float64) * 3 + m.to(ember.float64)).sqrt()
    x, y = ember.tensor(_f32(5, 2)).abs(), ember.tensor(_f32(5, 2))
    g = trace(f, (x, y))
    h, stats = _check(g, x._data, y._data)
    assert len(_fused_nodes(h)) == 1 and h.outputs[0].dtype == np.float64


# -- the kernel: each out= form equals the op's own forward bit for bit ----------------------
_X = np.concatenate([_f32(30), np.float32([0, -0.0, np.inf, -np.inf, np.nan, 3, -3])])
_UNARY = ["neg", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
          "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
          "asinh", "acosh", "atanh", "abs", "sigmoid", "silu", "floor", "ceil", "trunc",
          "isnan", "isinf", "isfinite", "erf", "gelu", "sign"]


def _single(name, args, attrs, dtype):
    """A one-step Fused of op ``name`` and the op's own forward, on ``args``."""
    refs = tuple(("i", k) for k in range(len(args)))
    f = Fused([(R[name], refs, attrs)], [dtype])
    return f, R[name].forward(np, *args, **attrs)


def _attrs(name):
    return {"gelu": {"approximate": "none"}}.get(name, {})


@pytest.mark.parametrize("name", _UNARY)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_kernels_equal_the_op(name, dtype):
    x = _X.astype(dtype).reshape(-1)
    with np.errstate(all="ignore"):
        f, ref = _single(name, (x,), _attrs(name), np.asarray(
            R[name].forward(np, x, **_attrs(name))).dtype)
        _same(f.forward(np, x), ref)
        out = np.empty_like(np.asarray(ref))
        _same(f.forward_out(np, out, x), ref)
        if out.dtype == x.dtype:            # in place into the input
            y = x.copy()
            _same(f.forward_out(np, y, y), ref)


_BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "fmax", "fmin", "atan2",
           "hypot", "logaddexp", "logaddexp2", "eq", "ne", "lt", "le", "gt", "ge", "pow",
           "remainder", "xlogy"]


@pytest.mark.parametrize("name", _BINARY)
def test_binary_kernels_equal_the_op_with_broadcasting(name):
    x, y = _X.reshape(-1, 1)[:20], _X[10:].reshape(1, -1)
    with np.errstate(all="ignore"):
        ref = R[name].forward(np, x, y)
        f, _ = _single(name, (x, y), {}, ref.dtype)
        _same(f.forward(np, x, y), ref)
        _same(f.forward_out(np, np.empty_like(ref), x, y), ref)


@pytest.mark.parametrize("name,args,attrs", [
    ("relu", (_X,), RELU),
    ("threshold", (_X,), {"threshold": 0.5, "value": -1.0}),
    ("hardtanh", (_X,), {"min_val": -1.0, "max_val": 2.0}),
    ("clamp", (_X, np.float32(-1), np.float32(1)), {}),
    ("clamp", (_X, None, np.float32(1)), {}),
    ("where", (_X > 0, _X, np.float32(7)), {}),
    ("cast", (_X,), {"dtype": ember.float64}),
    ("round", (_X * 3,), {"decimals": 0}),
    ("logical_and", (_X > 0, _X < 2), {}),
    ("bitwise_xor", (np.arange(6), np.int64(3)), {}),
    ("add", (_X, _X), {"alpha": 2}),
    ("threshold_backward", (_X, _X[::-1].copy()), {"threshold": 0}),
])
def test_kernels_with_attributes_and_literals_equal_the_op(name, args, attrs):
    with np.errstate(all="ignore"):
        ref = R[name].forward(np, *args, **attrs)
        arrays = [a for a in args if a is not None]
        k = iter(range(len(arrays)))
        refs = tuple(None if a is None else ("i", next(k)) for a in args)
        f = Fused([(R[name], refs, attrs)], [ref.dtype])
        _same(f.forward(np, *arrays), ref)
        _same(f.forward_out(np, np.empty_like(ref), *arrays), ref)


def test_ops_with_a_ufunc_form_compile_to_out_calls_and_others_call_the_op():
    f = fused_op([(R["mul"], (("i", 0), ("i", 1)), {}),
                  (R["gelu"], (("s", 0),), {"approximate": "tanh"}),
                  (R["add"], (("s", 1), ("i", 1)), {})], [np.float32] * 3)
    x = _f32(4, 3)
    src = f.plan_source(np, x, x[0])
    assert "u_multiply(a0, a1, out=out)" in src and "F1(xp" in src and "u_add" in src


def test_in_place_when_out_is_an_input_read_again_later():
    # x * sigmoid(x) as silu (alias-unsafe) and as a DAG: out is x itself
    for steps in ([(R["silu"], (("i", 0),), {})],
                  [(R["sigmoid"], (("i", 0),), {}), (R["mul"], (("i", 0), ("s", 0)), {})]):
        f = Fused(steps, [np.float32] * len(steps))
        x = _f32(6, 5)
        ref = f.forward(np, x)
        y = x.copy()
        assert f.forward_out(np, y, y) is y
        np.testing.assert_allclose(y, ref, rtol=1e-6)
        _same(y, ref)


def test_equal_expressions_share_one_op_across_batch_sizes():
    def f(x):
        return (x * 2 + 1).relu()
    g1, g2 = (trace(f, (ember.tensor(_f32(b, 3)),)) for b in (4, 9))
    h1, _ = _optimized(g1)
    h2, _ = _optimized(g2)
    assert h1.nodes[0].op is h2.nodes[0].op
    x = _f32(9, 3)
    _same(build(h2)(x)[0][0], build(g2)(x)[0][0])
    other = fused_op([(R["relu"], (("i", 0),), {"threshold": 1, "value": 1})], [np.float32])
    assert other is not fused_op([(R["relu"], (("i", 0),), RELU)], [np.float32])


def test_traced_training_step_is_unchanged_by_fusion():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 3), nn.Sigmoid())

    def step(x):
        model.zero_grad()
        loss = ((model(x) - 0.5) ** 2).mean()
        loss.backward()
        return loss
    x = ember.tensor(_f32(5, 6))
    g = trace(step, (x,))
    ref_loss, ref_grads = build(g)(x._data)
    h, stats = _optimized(g)
    loss, grads = build(h)(x._data)
    assert stats["groups"] >= 2 and len(h.nodes) < len(g.nodes)
    _same(loss[0], ref_loss[0])
    for a, b in zip(grads, ref_grads):
        _same(a, b)


def test_bad_fused_construction_and_calls_raise_clear_errors():
    with pytest.raises(ValueError, match="Fused: expected one dtype per step, got 1 steps "
                                         "and 2 dtypes"):
        Fused([(R["neg"], (("i", 0),), {})], [np.float32, np.float32])
    f = Fused([(R["add"], (("i", 0), ("i", 1)), {})], [np.float32])
    with pytest.raises(TypeError, match="fused: expected 2 inputs, got 1"):
        f.forward(np, _f32(2))
    with pytest.raises(RuntimeError, match=r"fused: inputs of shapes \[\(2,\), \(3,\)\] do "
                                           r"not broadcast in step 0 \(add\)"):
        f.forward(np, _f32(2), _f32(3))
    with pytest.raises(ValueError, match=r"fused: out has shape \(3,\) and dtype float32, the "
                                         r"result has shape \(2,\)"):
        f.forward_out(np, np.empty(3, np.float32), _f32(2), _f32(2))


def test_python_scalar_literals_are_embedded():
    g = Graph("scalars")
    x = g.add_input((4,), np.float32)
    m = g.add_node(R["minimum"], [x, 1e30], {}, [((4,), np.float32)]).outputs[0]
    a = g.add_node(R["add"], [m, 2], {}, [((4,), np.float32)]).outputs[0]
    g.outputs = [a]
    h, _ = _check(g, np.float32([1, np.inf, -np.inf, np.nan]))
    assert len(h.nodes) == 1 and h.nodes[0].inputs == [x]
    inf = Fused([(R["minimum"], (("i", 0), float("inf")), {})], [np.float32])
    _same(inf.forward(np, np.float32([1, np.inf])), np.float32([1, np.inf]))
