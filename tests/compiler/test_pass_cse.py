"""Pass ``cse``: duplicates merge; effects, in-place writes and returned tensors block it."""
import numpy as np
import pytest
import torch

import ember
from ember.compiler.executor import build
from ember.compiler.ir import Graph
from ember.compiler.ir_ops import copy_into
from ember.compiler.passes import PassContext, cse, enabled_passes
from ember.compiler.passes.cse import literal_key
from ember.compiler.tracer import trace
from ember.ops.registry import REGISTRY as R

F32 = np.float32


def _cse(g, *arrays):
    """Run cse on ``g``; assert the results equal the unoptimized graph's; return the
    number of merged nodes."""
    before = build(g)(*arrays)
    ctx = PassContext()
    cse.run(g, ctx)
    g.verify()
    after = build(g)(*arrays)
    for a, b in zip(before[0] + before[1], after[0] + after[1]):
        np.testing.assert_array_equal(a, b)
    return ctx.stats["cse"]["merged"]


def _node(g, op, ins, shape, dtype=F32, attrs=None):
    return g.add_node(R[op], ins, attrs or {}, [(shape, dtype)]).outputs[0]


@pytest.mark.parametrize("shape", [(2, 3), (0, 4), ()])
def test_merges_duplicate_chains(shape):
    g = Graph("t")
    x = g.add_input(shape, F32)
    a1 = _node(g, "exp", [x], shape)
    b1 = _node(g, "sin", [a1], shape)
    a2 = _node(g, "exp", [x], shape)
    b2 = _node(g, "sin", [a2], shape)
    g.outputs = [_node(g, "add", [b1, b2], shape)]
    assert _cse(g, np.full(shape, 0.5, F32)) == 2
    assert g.op_counts() == {"exp": 1, "sin": 1, "add": 1}
    assert g.nodes[-1].inputs == [b1, b1]


def _sum(dim):
    return {"dims": (dim,), "keepdim": False, "dtype": None}


def test_literals_and_attrs_must_be_equal():
    g = Graph("t")
    x = g.add_input((2, 3), F32)
    outs = [_node(g, "mul", [x, np.asarray(2.0, F32)], (2, 3)),
            _node(g, "mul", [x, np.asarray(2.0, F32)], (2, 3)),       # merges with 1st
            _node(g, "mul", [np.asarray(2.0, F32), x], (2, 3)),       # commuted: merges
            _node(g, "mul", [x, np.asarray(3.0, F32)], (2, 3)),
            _node(g, "add", [x, np.asarray(0.0, F32)], (2, 3)),
            _node(g, "add", [x, np.asarray(-0.0, F32)], (2, 3)),      # other bits
            _node(g, "sub", [x, x], (2, 3)),
            _node(g, "sub", [x, x], (2, 3), attrs={"alpha": 2.0}),
            _node(g, "sum", [x], (3,), attrs=_sum(0)),
            _node(g, "sum", [x], (3,), attrs=_sum(0)),   # merges
            _node(g, "sum", [x], (2,), attrs=_sum(1)),
            _node(g, "cast", [x], (2, 3), np.float64, {"dtype": ember.float64}),
            _node(g, "cast", [x], (2, 3), np.float64, {"dtype": ember.float64}),     # merges
            _node(g, "cast", [x], (2, 3), np.float16, {"dtype": ember.float16})]
    g.outputs = [_node(g, "add", [o, o], o.shape, o.dtype) for o in outs]
    assert _cse(g, np.arange(-3, 3, dtype=F32).reshape(2, 3)) == 4


def test_literal_keys():
    assert len({literal_key(v) for v in (1, 1.0, True, np.float32(1), np.float64(1),
                                         np.asarray(1, np.int64))}) == 6
    assert literal_key(np.asarray(2.0, F32)) == literal_key(np.float32(2.0))
    assert literal_key(0.0) != literal_key(-0.0)
    assert literal_key((slice(0, 2), None, ...)) == literal_key((slice(0, 2), None, ...))
    assert literal_key((1, 2)) != literal_key([1, 2])
    assert literal_key({"dtype": ember.float32}) == literal_key({"dtype": ember.float32})
    assert literal_key(ember.float32) != literal_key(ember.float64)
    big = np.zeros(1000)
    assert literal_key(big) != literal_key(np.zeros(1000)) and literal_key(big) == \
        literal_key(big)


def test_effects_are_never_merged():
    g = Graph("t")
    x = g.add_input((8,), F32)
    attrs = {"p": 0.5, "mask_shape": (8,), "alpha": False}
    d1 = g.add_node(R["dropout"], [x], attrs, [((8,), F32), ((8,), F32)]).outputs[0]
    d2 = g.add_node(R["dropout"], [x], attrs, [((8,), F32), ((8,), F32)]).outputs[0]
    g.outputs = [_node(g, "add", [d1, d2], (8,))]
    cse.run(g, PassContext())
    assert g.op_counts()["dropout"] == 2


def test_no_merge_across_a_write_to_an_input():
    p = ember.ones(3)
    g = Graph("t")
    cap = g.add_capture(p)
    z = g.add_input((3,), F32)
    a = _node(g, "mul", [cap, np.asarray(2.0, F32)], (3,))
    view = _node(g, "reshape", [cap], (1, 3), attrs={"shape": (1, 3)})
    g.add_node(copy_into, [view, z], {}, [])          # writes p through a view
    b = _node(g, "mul", [cap, np.asarray(2.0, F32)], (3,))
    g.outputs = [_node(g, "sub", [b, a], (3,))]
    cse.run(g, PassContext())
    g.verify()
    assert g.op_counts()["mul"] == 2
    (out,), _ = build(g)(np.full(3, 5.0, F32))
    np.testing.assert_array_equal(out, np.full(3, 8.0, F32))


def test_no_merge_of_a_value_written_later():
    g = Graph("t")
    x = g.add_input((3,), F32)
    a = _node(g, "exp", [x], (3,))
    b = _node(g, "exp", [x], (3,))
    g.add_node(copy_into, [a, x], {}, [])
    g.outputs = [_node(g, "sub", [b, a], (3,))]
    assert _cse(g, np.ones(3, F32)) == 0


def test_returned_duplicates_stay_distinct_arrays():
    g = Graph("t")
    x = g.add_input((3,), F32)
    g.outputs = [_node(g, "exp", [x], (3,)), _node(g, "exp", [x], (3,))]
    assert _cse(g, np.ones(3, F32)) == 0
    (a, b), _ = build(g)(np.ones(3, F32))
    assert not np.shares_memory(a, b)


def test_duplicate_of_a_returned_value_may_read_it():
    g = Graph("t")
    x = g.add_input((3,), F32)
    a = _node(g, "exp", [x], (3,))
    b = _node(g, "exp", [x], (3,))
    g.outputs = [a, _node(g, "mul", [b, np.asarray(2.0, F32)], (3,))]
    assert _cse(g, np.ones(3, F32)) == 1


def test_traced_function_matches_torch():
    def f(x, y):
        return (x.exp() * y + x.exp()).sum(1) + (y * x.exp()).mean()

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 4, 5))
    g = trace(f, (ember.tensor(x), ember.tensor(y)))
    assert _cse(g, x, y) == 3          # two exp, and y * e as e * y
    assert g.op_counts()["exp"] == 1
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    want = ((tx.exp() * ty + tx.exp()).sum(1) + (ty * tx.exp()).mean()).numpy()
    np.testing.assert_allclose(build(g)(x, y)[0][0], want, rtol=1e-12)


@pytest.mark.skipif("cse" not in enabled_passes(), reason="EMBER_DISABLE_PASSES has cse")
def test_compiled_with_and_without_cse_agree():
    def f(x):
        return x.sin() * x.sin() + x.cos()

    x = ember.randn(3, 4)
    on = ember.compile(f, options={"fusion": False})
    off = ember.compile(f, options={"fusion": False, "cse": False})
    for _ in range(3):
        np.testing.assert_allclose(on(x).numpy(), off(x).numpy(), rtol=1e-6)
    assert on.graphs[0].op_counts()["sin"] == 1
    assert off.graphs[0].op_counts()["sin"] == 2
