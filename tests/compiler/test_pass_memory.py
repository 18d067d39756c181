"""Memory planning: fused nodes get reused, preallocated buffers (in place where safe), and
results equal the unplanned graph's on every call; never for outputs, views or writes."""
import copy

import numpy as np
import pytest
import torch

import ember
import ember.nn as nn
from ember.compiler.executor import build
from ember.compiler.fused import Fused
from ember.compiler.ir import Graph
from ember.compiler.ir_ops import copy_into
from ember.compiler.passes import PassContext, fusion, memory
from ember.compiler.tracer import trace
from ember.ops.registry import REGISTRY as R

RNG = np.random.default_rng(0)


def _f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _fused(g, x, *names):
    """Append a one-input Fused node chaining unary ops ``names`` on ``x``."""
    steps = [(R[n], (("i", 0) if j == 0 else ("s", j - 1),), {}) for j, n in enumerate(names)]
    return g.add_node(Fused(steps, [x.dtype] * len(steps)), [x], {},
                      [(x.shape, x.dtype)]).outputs[0]


def _node(g, name, inputs, out_shape, **attrs):
    return g.add_node(R[name], inputs, attrs, [(out_shape, np.float32)]).outputs[0]


def _plan(g):
    ctx = PassContext()
    memory.run(g, ctx)
    g.verify()
    return ctx.stats["memory"]


def _runs_equal(g, make_inputs, calls=3):
    """Planned and unplanned runs agree on several calls with fresh inputs (a buffer
    overwritten too early, or an output left in a buffer, shows on a later call)."""
    plain = copy.copy(g)
    plain.nodes = [copy.copy(n) for n in g.nodes]
    for n in plain.nodes:
        n.buffer = None
    stats = _plan(g)
    ref_run, run = build(plain), build(g)
    kept = []
    for _ in range(calls):
        arrays = make_inputs()
        ref, out = ref_run(*arrays)[0], run(*arrays)[0]
        for a, b in zip(ref, out):
            np.testing.assert_array_equal(a, b)
        kept.append((ref, out))
    for ref, out in kept:          # earlier results were not overwritten by later calls
        for a, b in zip(ref, out):
            np.testing.assert_array_equal(a, b)
    return stats


def test_chain_of_fused_nodes_reuses_buffers_and_computes_in_place():
    g = Graph("chain")
    x = g.add_input((4, 8), np.float32)
    a = _fused(g, x, "exp", "tanh")
    b = _fused(g, a, "sin", "neg")           # reads a for the last time: in place
    c = _fused(g, b, "cos", "abs")
    d = _node(g, "sum", [c], (), dims=(0, 1), keepdim=False, dtype=None)
    g.outputs = [d]
    stats = _runs_equal(g, lambda: (_f32(4, 8),))
    bufs = [n.buffer for n in g.nodes[:3]]
    assert bufs[0] is bufs[1] is bufs[2]
    assert stats == {"nodes": 3, "buffers": 1, "inplace": 2, "bytes": 128, "bytes_saved": 256,
                     "add_into": 0}


def test_dead_buffer_is_reused_but_not_while_still_read():
    g = Graph("reuse")
    x = g.add_input((3, 3), np.float32)
    a = _fused(g, x, "exp", "neg")
    m = _node(g, "matmul", [a, a], (3, 3))
    b = _fused(g, x, "sin", "neg")         # a is dead: b takes a's buffer
    c = _fused(g, m, "cos", "neg")         # b is alive: c gets another one
    s = _node(g, "add", [b, c], (3, 3))
    g.outputs = [s]
    _runs_equal(g, lambda: (_f32(3, 3),))
    fa, fb, fc = (n for n in g.nodes if isinstance(n.op, Fused))
    assert fb.buffer is fa.buffer and fc.buffer is not fb.buffer


def test_outputs_and_values_aliased_by_live_views_get_no_buffer():
    g = Graph("views")
    x = g.add_input((2, 6), np.float32)
    a = _fused(g, x, "exp", "neg")
    v = _node(g, "reshape", [a], (3, 4), shape=(3, 4))
    b = _fused(g, x, "sin", "neg")             # must not take a's buffer: v is alive
    w = _node(g, "reshape", [b], (3, 4), shape=(3, 4))
    s = _node(g, "add", [v, w], (3, 4))
    o = _fused(g, x, "cos", "neg")             # a graph output: no buffer
    t = _fused(g, x, "tan", "neg")
    tv = _node(g, "permute", [t], (6, 2), dims=(1, 0))   # an output through a view
    g.outputs = [s, o, tv]
    _runs_equal(g, lambda: (_f32(2, 6),))
    fa, fb, fo, ft = (n for n in g.nodes if isinstance(n.op, Fused))
    assert fa.buffer is not None and fb.buffer is not None and fb.buffer is not fa.buffer
    assert fo.buffer is None and ft.buffer is None


def test_no_in_place_when_the_node_also_reads_a_view_of_the_dying_value():
    g = Graph("inplace_view")
    x = g.add_input((4,), np.float32)
    a = _fused(g, x, "exp", "neg")
    v = _node(g, "reshape", [a], (4,), shape=(4,))
    steps = [(R["mul"], (("i", 0), ("i", 1)), {}), (R["sin"], (("s", 0),), {})]
    b = g.add_node(Fused(steps, [np.float32] * 2), [v, a], {}, [((4,), np.float32)])
    r = _node(g, "sum", [b.outputs[0]], (), dims=(0,), keepdim=False, dtype=None)
    g.outputs = [r]
    stats = _runs_equal(g, lambda: (_f32(4),))
    assert stats["inplace"] == 0 and b.buffer is not g.nodes[0].buffer


def test_values_written_in_place_and_non_fused_nodes_get_no_buffer():
    param = ember.tensor(_f32(5))
    g = Graph("mutated")
    x = g.add_input((5,), np.float32)
    p = g.add_capture(param)
    a = _fused(g, x, "exp", "neg")
    g.add_node(copy_into, [a, x], {}, [])           # a is written: no buffer
    b = _node(g, "mul", [a, p], (5,))
    g.outputs = [b]
    _plan(g)
    assert all(n.buffer is None for n in g.nodes)


def test_size_zero_and_zero_d_values_plan_fine():
    g = Graph("small")
    x, y = g.add_input((0, 3), np.float32), g.add_input((), np.float32)
    a = _fused(g, x, "exp", "neg")
    b = _fused(g, y, "exp", "neg")
    g.outputs = [_node(g, "sum", [a], (), dims=(0, 1), keepdim=False, dtype=None),
                 _node(g, "neg", [b], ())]
    _runs_equal(g, lambda: (_f32(0, 3), np.float32(RNG.standard_normal())))


def test_traced_mlp_with_all_passes_matches_eager_and_torch_over_calls():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), nn.SiLU(),
                          nn.Linear(16, 4))
    model.eval()
    tm = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16),
                             torch.nn.SiLU(), torch.nn.Linear(16, 4))
    with torch.no_grad():
        for p, q in zip(model.parameters(), tm.parameters()):
            q.copy_(torch.tensor(p.detach().numpy()))

    def f(x):
        h = model[1](model[0](x)) * 2 - 1
        h = model[3](model[2](h) + 0.5)
        return model[4](h).sigmoid()
    x = ember.tensor(_f32(6, 8))
    with ember.no_grad():
        g = trace(f, (x,))
    ctx = PassContext(inference=True)
    fusion.run(g, ctx)
    memory.run(g, ctx)
    g.verify()
    run = build(g)
    assert ctx.stats["memory"]["nodes"] >= 2
    outs = []
    for _ in range(3):
        x_ = _f32(6, 8)
        (out,), _ = run(x_)
        with ember.no_grad():
            np.testing.assert_allclose(out, f(ember.tensor(x_)).numpy(), rtol=1e-6)
        xt = torch.tensor(x_)
        with torch.no_grad():
            h = tm[1](tm[0](xt)) * 2 - 1
            expect = tm[4](tm[3](tm[2](h) + 0.5)).sigmoid().numpy()
        np.testing.assert_allclose(out, expect, rtol=1e-5, atol=1e-6)
        outs.append((out, out.copy()))
    assert all(np.array_equal(a, b) for a, b in outs)   # outputs never reused


def test_compiled_training_step_with_adam_matches_eager():
    def setup():
        ember.manual_seed(1)
        model = nn.Sequential(nn.Linear(6, 12), nn.GELU(), nn.Linear(12, 3))
        opt = ember.optim.Adam(model.parameters(), lr=1e-2)

        def step(x, y):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return model, step
    (m1, s1), (m2, s2) = setup(), setup()
    s2 = ember.compile(s2)
    for _ in range(4):
        x, y = ember.tensor(_f32(5, 6)), ember.tensor(_f32(5, 3))
        np.testing.assert_allclose(s1(x, y).item(), s2(x, y).item(), rtol=1e-5)
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_planned_fused_nodes_get_kernels_specialized_to_their_static_shapes():
    g = Graph("spec")
    x = g.add_input((3,), np.float32)
    a = _fused(g, x, "exp", "neg")
    g.outputs = [_node(g, "sum", [a], (), dims=(0,), keepdim=False, dtype=None)]
    _plan(g)
    op = g.nodes[0].op
    assert isinstance(op, Fused) and "forward_out" in vars(op)
    with pytest.raises(ValueError, match="fused: out has shape"):
        Fused(op.steps, op.dtypes).forward_out(np, np.empty(4, np.float32), _f32(3))
