"""Batch-norm folding: eval-mode conv+BN and linear+BN1d become one conv / linear whose
weight and bias are computed in the graph from the live statistics; results match."""
import copy

import numpy as np
import pytest
import torch

import ember
import ember.nn as nn
from ember.compiler.executor import build
from ember.compiler.ir import Graph
from ember.compiler.ir_ops import copy_into
from ember.compiler.passes import PassContext, bn_folding
from ember.compiler.tracer import trace
from ember.ops.registry import REGISTRY as R

RNG = np.random.default_rng(0)


def _randomize(bn):
    """Non-trivial running statistics and affine parameters."""
    c = bn.num_features
    bn.running_mean._data[...] = RNG.standard_normal(c)
    bn.running_var._data[...] = RNG.random(c) + 0.5
    if bn.weight is not None:
        bn.weight._data[...] = RNG.standard_normal(c)
        bn.bias._data[...] = RNG.standard_normal(c)


def _conv_bn(dtype=ember.float32, bias=True, groups=1, affine=True):
    ember.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(4, 6, 3, padding=1, bias=bias, groups=groups),
                      nn.BatchNorm2d(6, affine=affine), nn.ReLU()).to(dtype)
    _randomize(m[1])
    return m.eval()


def _fold(g, inference=True):
    h = copy.copy(g)
    h.nodes = [copy.copy(n) for n in g.nodes]      # the pass rewires nodes' inputs
    ctx = PassContext(inference=inference)
    bn_folding.run(h, ctx)
    h.verify()
    return h, ctx.stats["bn_folding"]


def _trace_eval(m, x):
    with ember.no_grad():
        return trace(lambda x: m(x), (x,))


def _torch_conv_bn(m, x):
    conv, bn = m[0], m[1]
    t = lambda p: None if p is None else torch.tensor(p.detach().numpy())  # noqa: E731
    y = torch.nn.functional.conv2d(torch.tensor(x), t(conv.weight), t(conv.bias),
                                   padding=1, groups=conv.groups)
    y = torch.nn.functional.batch_norm(y, t(bn.running_mean), t(bn.running_var),
                                       t(bn.weight), t(bn.bias), training=False, eps=bn.eps)
    return torch.relu(y).numpy()


@pytest.mark.parametrize("kw", [{}, {"bias": False}, {"groups": 2}, {"affine": False},
                                {"groups": 2, "bias": False}])
def test_conv_bn_folds_into_one_conv_matching_unfolded_and_torch(kw):
    m = _conv_bn(**kw)
    x = RNG.standard_normal((2, 4, 7, 7)).astype(np.float32)
    g = _trace_eval(m, ember.tensor(x))
    h, stats = _fold(g)
    assert stats == {"folded": 1, "skipped_cost": 0}
    convs = [n for n in h.nodes if n.name == "convolution"]
    assert len(convs) == 1
    y = convs[0].outputs[0]
    assert [n.name for n in h.nodes if y in n.inputs] == ["relu"]    # no mul/add after it
    assert not any(n.name in ("mul", "add") and n.outputs[0].shape == y.shape
                   for n in h.nodes)
    (ref,), _ = build(g)(x)
    (out,), _ = build(h)(x)
    assert out.dtype == np.float32 and out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out, _torch_conv_bn(m, x), rtol=1e-4, atol=1e-5)


def test_statistics_changed_after_compiling_are_used_float64():
    m = _conv_bn(ember.float64)
    x = RNG.standard_normal((2, 4, 5, 5))
    g = _trace_eval(m, ember.tensor(x))
    h, stats = _fold(g)
    assert stats["folded"] == 1
    run = build(h)
    for _ in range(2):
        _randomize(m[1])
        m[0].weight._data[...] *= 1.5
        with ember.no_grad():
            expect = m(ember.tensor(x)).numpy()
        np.testing.assert_allclose(run(x)[0][0], expect, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(run(x)[0][0], _torch_conv_bn(m, x), rtol=1e-10,
                                   atol=1e-12)


def test_nothing_folds_outside_inference():
    m = _conv_bn()
    g = _trace_eval(m, ember.tensor(RNG.standard_normal((1, 4, 6, 6)).astype(np.float32)))
    h, stats = _fold(g, inference=False)
    assert stats["folded"] == 0 and [n.op for n in h.nodes] == [n.op for n in g.nodes]


def test_conv_output_read_elsewhere_or_returned_is_not_folded():
    m = _conv_bn()
    x = ember.tensor(RNG.standard_normal((1, 4, 6, 6)).astype(np.float32))

    def read_twice(x):
        y = m[0](x)
        return m[2](m[1](y)), y.sum()

    def returned(x):
        y = m[0](x)
        return m[1](y), y
    for fn in (read_twice, returned):
        with ember.no_grad():
            g = trace(fn, (x,))
        h, stats = _fold(g)
        assert stats["folded"] == 0 and len(h.nodes) == len(g.nodes)


def test_linear_bn1d_folds_when_cheaper_and_is_skipped_when_not():
    ember.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 5), nn.BatchNorm1d(5))
    _randomize(m[1])
    m.eval()
    for batch, folded in ((16, 1), (2, 0)):
        x = RNG.standard_normal((batch, 8)).astype(np.float32)
        g = _trace_eval(m, ember.tensor(x))
        h, stats = _fold(g)
        assert stats == {"folded": folded, "skipped_cost": 1 - folded}
        np.testing.assert_allclose(build(h)(x)[0][0], build(g)(x)[0][0], rtol=1e-5,
                                   atol=1e-5)
        lin, bn = torch.nn.Linear(8, 5), torch.nn.BatchNorm1d(5).eval()
        with torch.no_grad():
            for p, q in zip(list(m.parameters()) + list(m.buffers()),
                            list(lin.parameters()) + list(bn.parameters()) +
                            list(bn.buffers())):
                if q.dtype == torch.float32:
                    q.copy_(torch.tensor(p.detach().numpy()))
            expect = bn(lin(torch.tensor(x))).numpy()
        np.testing.assert_allclose(build(h)(x)[0][0], expect, rtol=1e-5, atol=1e-5)


def test_no_fold_across_a_write_into_the_conv_weight():
    ember.manual_seed(0)
    w = ember.tensor(RNG.standard_normal((3, 2, 1, 1)).astype(np.float32))
    g = Graph("write")
    x = g.add_input((1, 2, 4, 4), np.float32)
    new_w = g.add_input((3, 2, 1, 1), np.float32)
    s = g.add_input((3, 1, 1), np.float32)
    wv = g.add_capture(w)
    conv = g.add_node(R["convolution"], [x, wv, None],
                      {"stride": (1, 1), "pad": (0, 0, 0, 0), "dilation": (1, 1),
                       "groups": 1, "out": (4, 4)},
                      [((1, 3, 4, 4), np.float32), ((), np.float32)])
    g.add_node(copy_into, [wv, new_w], {}, [])
    y = g.add_node(R["mul"], [conv.outputs[0], s], {}, [((1, 3, 4, 4), np.float32)])
    g.outputs = [y.outputs[0]]
    h, stats = _fold(g)
    assert stats["folded"] == 0 and len(h.nodes) == 3
