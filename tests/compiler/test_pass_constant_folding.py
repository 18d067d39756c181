"""Pass ``constant_folding``: const-only nodes become read-only consts, nothing else does."""
import numpy as np
import pytest
import torch

import ember
from ember.compiler.executor import build
from ember.compiler.ir import Graph
from ember.compiler.ir_ops import copy_into
from ember.compiler.passes import PassContext, constant_folding
from ember.compiler.tracer import trace
from ember.ops.registry import REGISTRY as R

F32 = np.float32


def _fold(g, *arrays):
    """Fold ``g``; assert the results equal the unoptimized graph's; return the stats."""
    before = build(g)(*arrays)
    ctx = PassContext()
    constant_folding.run(g, ctx)
    g.verify()
    after = build(g)(*arrays)
    for a, b in zip(before[0] + before[1], after[0] + after[1]):
        np.testing.assert_array_equal(a, b)
    return ctx.stats["constant_folding"]


def _node(g, op, ins, shape, dtype=F32, attrs=None):
    return g.add_node(R[op], ins, attrs or {}, [(shape, dtype)]).outputs[0]


@pytest.mark.parametrize("shape", [(2, 3), (0, 3), ()])
def test_folds_const_chains_into_read_only_consts(shape):
    g = Graph("t")
    x = g.add_input(shape, F32)
    c = g.add_const(np.full(shape, 0.5, F32))
    e = _node(g, "exp", [c], shape)
    m = _node(g, "mul", [e, np.asarray(2.0, F32)], shape)
    g.outputs = [_node(g, "add", [x, m], shape)]
    assert _fold(g, np.ones(shape, F32)) == {"folded": 2, "too_large": 0}
    assert g.op_counts() == {"add": 1}
    folded = g.nodes[0].inputs[1]
    assert folded.kind == "const" and not folded.data.flags.writeable
    np.testing.assert_allclose(folded.data, np.exp(np.full(shape, 0.5, F32)) * 2)


def test_literal_only_and_multi_output_nodes():
    def f(x):
        a, b = ember.arange(6.0).split(3)
        return x + a * b

    x = np.arange(3, dtype=F32)
    g = trace(f, (ember.tensor(x),))
    assert _fold(g, x)["folded"] == 2
    assert g.op_counts() == {"add": 1}
    want = torch.from_numpy(x) + torch.arange(6.0)[:3] * torch.arange(6.0)[3:]
    np.testing.assert_array_equal(build(g)(x)[0][0], want.numpy())


def test_captures_inputs_and_effects_are_not_constants():
    p = ember.full((3,), 2.0)
    g = Graph("t")
    x = g.add_input((3,), F32)
    cap = g.add_capture(p)
    c = g.add_const(np.ones(3, F32))
    a = _node(g, "mul", [cap, c], (3,))
    b = _node(g, "exp", [x], (3,))
    d = g.add_node(R["dropout"], [c], {"p": 0.5, "mask_shape": (3,), "alpha": False},
                   [((3,), F32), ((3,), F32)]).outputs[0]
    g.outputs = [_node(g, "add", [a, b], (3,)), d]
    assert constant_folding.run(g, ctx := PassContext()) is None
    assert ctx.stats["constant_folding"]["folded"] == 0
    assert len(g.nodes) == 4
    p.fill_(5.0)                              # a capture is read afresh at every call
    (out, _), _ = build(g)(np.zeros(3, F32))
    np.testing.assert_array_equal(out, np.full(3, 6.0, F32))


def test_returned_values_are_not_folded():
    g = Graph("t")
    c = g.add_const(np.ones(3, F32))
    e = _node(g, "exp", [c], (3,))
    g.outputs = [_node(g, "reshape", [e], (1, 3), attrs={"shape": (1, 3)})]
    assert _fold(g)["folded"] == 0
    run = build(g)
    (a,), _ = run()
    (b,), _ = run()
    assert a.flags.writeable and not np.shares_memory(a, b)


def test_values_written_in_place_are_not_folded():
    g = Graph("t")
    x = g.add_input((3,), F32)
    c = g.add_const(np.ones(3, F32))
    e = _node(g, "exp", [c], (3,))
    g.add_node(copy_into, [e, x], {}, [])
    s = _node(g, "sum", [e], (), attrs={"dims": (0,), "keepdim": False, "dtype": None})
    g.outputs = [s]
    assert _fold(g, np.zeros(3, F32))["folded"] == 0
    assert build(g)(np.zeros(3, F32))[0][0] == 0.0


def test_large_results_are_left_to_run_time():
    g = Graph("t")
    c = g.add_const(np.asarray(1.0, F32))
    big = (1025, 1024)
    e = _node(g, "expand", [c], big, attrs={"shape": big})
    g.outputs = [_node(g, "sum", [e], (), attrs={"dims": (0, 1), "keepdim": False,
                                                  "dtype": None})]
    assert _fold(g) == {"folded": 0, "too_large": 1}


def test_a_forward_that_raises_raises_at_run_time():
    g = Graph("t")
    a = g.add_const(np.arange(3))
    z = g.add_const(np.zeros(3, np.int64))
    q = _node(g, "div_rounded", [a, z], (3,), np.int64, {"rounding_mode": "floor"})
    g.outputs = [_node(g, "add", [q, q], (3,), np.int64)]
    constant_folding.run(g, PassContext())
    assert g.op_counts()["div_rounded"] == 1
    with pytest.raises(RuntimeError, match="division by zero"):
        build(g)()


def test_traced_constants_fold_and_match_torch():
    def f(x):
        w = ember.linspace(0.0, 1.0, 4).reshape(2, 2)
        return x @ (w.t() * 3.0).exp()

    x = np.random.default_rng(0).standard_normal((3, 2)).astype(F32)
    g = trace(f, (ember.tensor(x),))
    stats = _fold(g, x)
    assert stats["folded"] >= 3 and len(g.nodes) == 1
    w = torch.linspace(0.0, 1.0, 4).reshape(2, 2)
    want = torch.from_numpy(x) @ (w.t() * 3.0).exp()
    np.testing.assert_allclose(build(g)(x)[0][0], want.numpy(), rtol=1e-6)
