"""A compiled function frees each intermediate array after its last use, as eager mode
does, instead of keeping every one alive until it returns."""
import tracemalloc

import numpy as np

import ember


def _peak_bytes(fn, *args):
    fn(*args)
    fn(*args)                           # the first calls run eagerly and trace
    tracemalloc.start()                 # NumPy reports its data buffers to tracemalloc
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_intermediates_are_freed_after_their_last_use():
    def chain(x, w):
        h = x
        for _ in range(8):
            h = h @ w
        return h.sum()

    x, w = ember.randn(256, 256), ember.randn(256, 256) * 0.05
    one = 256 * 256 * 4
    compiled = ember.compile(chain)
    assert _peak_bytes(compiled, x, w) < 3 * one          # not 8 arrays alive at once
    np.testing.assert_allclose(compiled(x, w).numpy(), chain(x, w).numpy(), rtol=1e-5)


def test_values_returned_or_read_late_survive():
    def f(x):
        a = x * 2
        b = a.exp()
        return a, b + a            # a is read again after b and returned

    x = ember.randn(5)
    got = ember.compile(f)(x)
    want = f(x)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6)


def _graph_ops(compiled, *args):
    [graph] = compiled.explain(*args).graphs
    return [n.op.name for n in graph.nodes]


def _tied_model_step():
    ember.manual_seed(0)
    emb = ember.nn.Embedding(50, 16)
    head = ember.nn.Linear(16, 50, bias=False)
    head.weight = emb.weight                    # tied, as in GPT-2
    opt = ember.optim.SGD(emb.parameters(), lr=0.5)

    def step(t):
        opt.zero_grad()
        logits = head(emb(t) * 2.0)
        loss = ember.nn.functional.cross_entropy(logits.reshape(-1, 50), t.reshape(-1))
        loss.backward()
        opt.step()
        return loss.detach()
    return step, emb


def test_gradients_meeting_at_a_tied_weight_are_summed_into_one_of_them():
    tokens = ember.randint(0, 50, (4, 6))
    eager_step, eager_emb = _tied_model_step()
    step, emb = _tied_model_step()
    compiled = ember.compile(step)
    for _ in range(4):
        np.testing.assert_allclose(compiled(tokens).numpy(), eager_step(tokens).numpy(),
                                   rtol=1e-5)
    np.testing.assert_allclose(emb.weight.detach().numpy(),
                               eager_emb.weight.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert "add_into" in _graph_ops(compiled, tokens)
    [graph] = compiled.explain(tokens).graphs
    [dense] = [n for n in graph.nodes if n.op.name == "embedding_backward"]
    assert dense.buffer is not None         # the (vocab, dim) gradient reuses one buffer


def test_an_add_whose_input_is_read_later_is_not_done_in_place():
    def f(x):
        a = x.exp()
        b = a + 1.0
        return b * a                # a is read after the add

    x = ember.randn(8)
    compiled = ember.compile(f)
    compiled(x)
    compiled(x)
    assert "add_into" not in _graph_ops(compiled, x)
    np.testing.assert_allclose(compiled(x).numpy(), f(x).numpy(), rtol=1e-6)
