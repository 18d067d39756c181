"""Pass ``dce``: dead nodes and unread consts go; effects, outputs and grads stay."""
import numpy as np
import pytest
import torch

import ember
import ember.nn as nn
from ember.compiler.executor import build
from ember.compiler.ir import Graph
from ember.compiler.ir_ops import copy_into
from ember.compiler.passes import PassContext, dce
from ember.compiler.tracer import trace
from ember.ops.registry import REGISTRY as R

F32 = np.float32


def _dce(g, *arrays):
    """Run dce on ``g``; assert the results equal the unoptimized graph's; return stats."""
    before = build(g)(*arrays)
    ctx = PassContext()
    dce.run(g, ctx)
    g.verify()
    after = build(g)(*arrays)
    for a, b in zip(before[0] + before[1], after[0] + after[1]):
        np.testing.assert_array_equal(a, b)
    return ctx.stats["dce"]


@pytest.mark.parametrize("shape", [(2, 3), (0, 3), ()])
def test_removes_unused_chains(shape):
    g = Graph("t")
    x = g.add_input(shape, F32)
    e = g.add_node(R["exp"], [x], {}, [(shape, F32)])
    g.add_node(R["sin"], [e.outputs[0]], {}, [(shape, F32)])
    y = g.add_node(R["mul"], [x, np.asarray(2.0, F32)], {}, [(shape, F32)])
    g.outputs = [y.outputs[0]]
    stats = _dce(g, np.ones(shape, F32))
    assert stats == {"nodes": 2, "consts": 0}
    assert g.op_counts() == {"mul": 1}


def test_keeps_what_outputs_and_grads_read():
    g = Graph("t")
    x = g.add_input((3,), F32)
    a = g.add_node(R["exp"], [x], {}, [((3,), F32)]).outputs[0]
    b = g.add_node(R["sin"], [a], {}, [((3,), F32)]).outputs[0]
    c = g.add_node(R["cos"], [x], {}, [((3,), F32)]).outputs[0]
    g.outputs = [b]
    g.grad_effects = [(ember.zeros(3), c), (ember.zeros(3), None)]
    assert _dce(g, np.arange(3, dtype=F32))["nodes"] == 0
    assert g.op_counts() == {"exp": 1, "sin": 1, "cos": 1}


def test_keeps_effects_and_their_inputs():
    p = ember.zeros(4)
    g = Graph("t")
    x = g.add_input((4,), F32)
    cap = g.add_capture(p)
    src = g.add_node(R["exp"], [x], {}, [((4,), F32)]).outputs[0]
    g.add_node(copy_into, [cap, src], {}, [])
    g.add_node(R["dropout"], [x], {"p": 0.5, "mask_shape": (4,), "alpha": False},
               [((4,), F32), ((4,), F32)])
    g.outputs = [x]
    ctx = PassContext()
    dce.run(g, ctx)
    g.verify()
    assert g.op_counts() == {"exp": 1, "copy_into": 1, "dropout": 1}
    build(g)(np.zeros(4, F32))
    np.testing.assert_array_equal(p.numpy(), np.ones(4, F32))


def test_drops_unread_consts_only():
    g = Graph("t")
    x = g.add_input((2,), F32)
    used = g.add_const(np.full(2, 3.0, F32))
    unused = g.add_const(np.zeros(2, F32))
    dead = g.add_node(R["exp"], [unused], {}, [((2,), F32)])
    y = g.add_node(R["add"], [x, used], {}, [((2,), F32)])
    g.outputs = [y.outputs[0]]
    assert _dce(g, np.ones(2, F32)) == {"nodes": 1, "consts": 1}
    assert g.consts == [used] and dead not in g.nodes


def test_returned_const_is_kept():
    g = Graph("t")
    c = g.add_const(np.ones(2, F32))
    g.outputs = [c]
    assert _dce(g) == {"nodes": 0, "consts": 0}


def test_traced_dead_code_goes_and_matches_torch():
    ember.manual_seed(0)
    lin = nn.Linear(4, 3)

    def f(x):
        (x.exp() * 2).sum()                 # dead on purpose
        return lin(x).relu()

    x = np.random.default_rng(0).standard_normal((5, 4)).astype(F32)
    g = trace(f, (ember.tensor(x),))
    _dce(g, x)
    assert set(g.op_counts()) == {"linear", "relu"}
    tl = torch.nn.Linear(4, 3)
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(lin.weight.detach().numpy()))
        tl.bias.copy_(torch.from_numpy(lin.bias.detach().numpy()))
        want = torch.relu(tl(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(build(g)(x)[0][0], want, rtol=1e-6, atol=1e-6)


def test_traced_train_step_keeps_every_update():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))
    opt = ember.optim.SGD(model.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
        return loss

    x = ember.randn(6, 4)
    g = trace(step, (x,))
    before = g.op_counts()
    ctx = PassContext()
    dce.run(g, ctx)
    g.verify()
    after = g.op_counts()
    assert after.get("dropout") == before.get("dropout") == 1
    assert sum(after.values()) == sum(before.values()) - ctx.stats["dce"]["nodes"]
    effects = [n for n in g.nodes if n.has_effects]
    assert len(effects) == 1 + len(list(model.parameters()))     # dropout + 4 updates


def test_basic_passes_together_on_a_train_step():
    from ember.compiler.passes import algebraic, constant_folding, cse
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.25), nn.Linear(8, 2))
    opt = ember.optim.SGD(model.parameters(), lr=0.1)     # no state: runs repeat exactly
    params = list(model.parameters())

    def step(x):
        opt.zero_grad()
        h = model(x)
        loss = (h * 1.0 + h.t().t()).pow(2).mean() + (h.exp() - h.exp()).sum()
        loss.backward()
        opt.step()
        return loss

    x = ember.randn(6, 4)
    start = [p.detach().numpy().copy() for p in params]
    g = trace(step, (x,))
    runs = []
    for optimize in (False, True):
        if optimize:
            ctx = PassContext()
            for p in (algebraic, constant_folding, cse, dce):
                p.run(g, ctx)
            g.verify()
            assert ctx.stats["cse"]["merged"] >= 1 and ctx.stats["algebraic"]
        for p, s in zip(params, start):
            p.detach().numpy()[...] = s
        ember.manual_seed(1)
        (loss,), grads = build(g)(x.numpy())
        runs.append([loss] + list(grads) + [p.detach().numpy().copy() for p in params])
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
