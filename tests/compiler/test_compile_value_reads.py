"""Library code that looks at tensor values outside an op's forward must not make a traced
graph replay the trace-time decision: each compiled function is called twice with values
that take one branch (call 1 runs eagerly, call 2 traces), then with values that take the
other, and compared with eager Ember and torch; where the read cannot be part of a graph,
``fullgraph=True`` must raise GraphBreak."""
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.compiler import GraphBreak


def _calls(fn, first, then, fullgraph=True):
    """``ember.compile(fn)`` called on ``first`` twice (eager, then traced), then on each
    argument tuple of ``then``; returns the results of the later calls and the function."""
    compiled = ember.compile(fn, fullgraph=fullgraph)
    compiled(*first)
    compiled(*first)
    return [compiled(*args) for args in then], compiled


def _np(t):
    return t.detach().numpy()


# -- scaled_dot_product_attention: rows that may attend to no key ------------------------

def _mask(dead_row=None):
    m = np.tril(np.ones((4, 4), dtype=bool))
    if dead_row is not None:
        m[dead_row] = False
    return m


@pytest.mark.parametrize("trace_dead", [False, True])
def test_sdpa_rows_without_keys_follow_each_calls_mask(trace_dead):
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 2, 4, 3)).astype(np.float32)
    masks = [_mask(2), _mask()] if trace_dead else [_mask(), _mask(2)]

    def attend_and_grad(q, m):
        out = F.scaled_dot_product_attention(q, q, q, m)
        (g,) = ember.autograd.grad((out * out).sum(), [q])
        return out, g

    def args(m):
        return ember.from_numpy(q.copy()).requires_grad_(True), ember.from_numpy(m)

    outs, compiled = _calls(attend_and_grad, args(masks[0]), [args(m) for m in masks])
    assert len(compiled.graphs) == 1
    for (out, g), m in zip(outs, masks):
        e_out, e_g = attend_and_grad(*args(m))
        np.testing.assert_allclose(_np(out), _np(e_out), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_np(g), _np(e_g), rtol=1e-5, atol=1e-6)
        tq = torch.tensor(q, requires_grad=True)
        t_out = torch.nn.functional.scaled_dot_product_attention(tq, tq, tq, torch.tensor(m))
        (t_out * t_out).sum().backward()
        np.testing.assert_allclose(_np(out), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_np(g), tq.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert not np.isnan(_np(outs[0][0])).any() and not np.isnan(_np(outs[1][0])).any()


def test_sdpa_rows_without_keys_under_vmap():
    # vmap is the other dispatch hook that cannot branch on one example's values
    q = ember.randn(3, 2, 4, 5)
    m = ember.from_numpy(_mask(2))
    ours = ember.func.vmap(lambda q: F.scaled_dot_product_attention(q, q, q, m))(q)
    ref = ember.stack([F.scaled_dot_product_attention(e, e, e, m) for e in q])
    np.testing.assert_allclose(_np(ours), _np(ref), rtol=1e-6, atol=1e-7)


# -- masked_scatter: how many source elements a call's mask takes ------------------------

def test_masked_scatter_reads_each_calls_mask():
    x = np.zeros((2, 4), dtype=np.float32)
    src = np.arange(10, 18, dtype=np.float32).reshape(2, 4)
    masks = [np.array([True, False, True, False]), np.array([True, True, False, True]),
             np.array([False, False, False, False])]

    def scatter_and_grads(x, m, s):
        out = x.masked_scatter(m, s)
        gx, gs = ember.autograd.grad((out * ember.arange(8.0).reshape(2, 4)).sum(), [x, s])
        return out, gx, gs

    def args(m):
        return (ember.from_numpy(x.copy()).requires_grad_(True), ember.from_numpy(m),
                ember.from_numpy(src.copy()).requires_grad_(True))

    outs, compiled = _calls(scatter_and_grads, args(masks[0]), [args(m) for m in masks])
    assert len(compiled.graphs) == 1
    for res, m in zip(outs, masks):
        eager = scatter_and_grads(*args(m))
        for c, e in zip(res, eager):
            np.testing.assert_array_equal(_np(c), _np(e))
        tx = torch.tensor(x, requires_grad=True)
        ts = torch.tensor(src, requires_grad=True)
        t_out = tx.masked_scatter(torch.tensor(m), ts)
        (t_out * torch.arange(8.0).reshape(2, 4)).sum().backward()
        np.testing.assert_array_equal(_np(res[0]), t_out.detach().numpy())
        np.testing.assert_array_equal(_np(res[1]), tx.grad.numpy())
        np.testing.assert_array_equal(_np(res[2]), ts.grad.numpy())


def test_masked_scatter_graph_checks_the_source_size_each_call():
    compiled = ember.compile(lambda x, m, s: x.masked_scatter(m, s), fullgraph=True)
    x, s = ember.zeros(4), ember.ones(2)
    few = ember.tensor([True, False, False, True])
    for _ in range(3):
        compiled(x, few, s)
    with pytest.raises(RuntimeError, match="Number of elements of source"):
        compiled(x, ember.tensor([True, True, True, False]), s)


# -- values read into Python: the graph must stop -----------------------------------------

def _branch_on_equal(x, y):
    return x * 2 if ember.equal(x, y) else x * 3


def test_equal_stops_the_graph():
    a, b = ember.arange(4.0), ember.arange(4.0)
    with pytest.raises(GraphBreak, match="equal"):
        _calls(_branch_on_equal, (a, b), [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs, _ = _calls(_branch_on_equal, (a, b), [(a, ember.zeros(4)), (a, b)],
                         fullgraph=False)
    np.testing.assert_array_equal(_np(outs[0]), _np(a) * 3)
    np.testing.assert_array_equal(_np(outs[1]), _np(a) * 2)


def test_tensor_of_a_traced_tensor_stops_the_graph():
    x = ember.arange(3.0)
    with pytest.raises(GraphBreak, match="ember.tensor"):
        _calls(lambda x: ember.tensor(x) * 2, (x,), [])
    with pytest.raises(GraphBreak, match="ember.tensor"):
        _calls(lambda x: ember.tensor([x.sum(), x.max()]) * 2, (x,), [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs, _ = _calls(lambda x: ember.tensor([x.sum(), x.max()]) * 2, (x,),
                         [(ember.ones(3),)], fullgraph=False)
    np.testing.assert_array_equal(_np(outs[0]), [6.0, 2.0])


def test_tensor_of_a_tensor_made_inside_still_traces():
    outs, compiled = _calls(lambda x: x + ember.tensor(ember.ones(3)), (ember.zeros(3),),
                            [(ember.arange(3.0),)])
    np.testing.assert_array_equal(_np(outs[0]), [1.0, 2.0, 3.0])
    assert len(compiled.graphs) == 1


# -- nn.TransformerEncoder: is the mask the causal one? -----------------------------------

def test_transformer_mask_detection_does_not_bake_the_mask():
    ember.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    enc = nn.TransformerEncoder(layer, 2).eval()
    x = ember.randn(2, 4, 8)
    causal = nn.Transformer.generate_square_subsequent_mask(4)
    other = ember.from_numpy(np.where(np.eye(4, dtype=bool), -np.inf, 0.0).astype(np.float32))
    with ember.no_grad():
        outs, compiled = _calls(lambda x, m: enc(x, mask=m), (x, causal),
                                [(x, causal), (x, other)])
        assert len(compiled.graphs) == 1
        for out, m in zip(outs, (causal, other)):
            np.testing.assert_allclose(_np(out), _np(enc(x, mask=m)), rtol=1e-5, atol=1e-6)
    assert not np.allclose(_np(outs[0]), _np(outs[1]))


def test_max_unpool_graph_checks_each_calls_indices():
    x = ember.randn(2, 3, 4, 4)
    y, idx = F.max_pool2d(x, 2, return_indices=True)

    def unpool(y, i):
        return F.max_unpool2d(y, i, 2) * 2

    compiled = ember.compile(unpool, fullgraph=True)
    for _ in range(3):
        out = compiled(y, idx)
    assert len(compiled.graphs) == 1
    np.testing.assert_array_equal(out.numpy(), unpool(y, idx).numpy())
    bad = idx.clone()
    bad[1, 2, 0, 1] = 16
    for fn in (unpool, compiled):
        with pytest.raises(RuntimeError, match="max_unpool2d: Found an invalid max index"):
            fn(y, bad)
