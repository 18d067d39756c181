"""Gradients meeting at one place are summed into a buffer the engine owns, in place, and
never into a tensor anything else can still see (a gradient shared between two inputs, a
retained or hooked gradient, a view)."""
import numpy as np
import pytest
import torch

import ember
from ember.ops.registry import REGISTRY


def _count_adds(monkeypatch):
    """Count the ``add`` op's forward calls (what summing two gradients costs if not in
    place)."""
    calls = []
    op = REGISTRY["add"]
    real = op.forward
    monkeypatch.setattr(op, "forward", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def test_two_fresh_gradients_are_summed_in_place(monkeypatch):
    x = ember.randn(5, requires_grad=True)
    loss = (x * 2).sum() + (x * 3).sum()
    adds = _count_adds(monkeypatch)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(5, 5.0))
    assert adds == []


@pytest.mark.parametrize("shared_first", [True, False])
def test_a_gradient_given_to_two_inputs_is_not_written_through(shared_first):
    a = ember.randn(4, requires_grad=True)
    b = ember.randn(4, requires_grad=True)
    c = ember.randn(4)
    # mul's backward makes a fresh g * c, which add hands to both a and b
    shared, own = ((a + b) * c).sum(), (a * 3).sum()
    (shared + own if shared_first else own + shared).backward()
    np.testing.assert_allclose(b.grad.numpy(), c.numpy())
    np.testing.assert_allclose(a.grad.numpy(), c.numpy() + 3)


@pytest.mark.parametrize("shared_first", [True, False])
def test_a_gradient_given_to_two_intermediates_is_not_written_through(shared_first):
    x = ember.randn(4, requires_grad=True)
    y = ember.randn(4, requires_grad=True)
    c = ember.randn(4)
    h, k = x * 1.0, y * 1.0
    shared, own = ((h + k) * c).sum(), (h * 3).sum()
    (shared + own if shared_first else own + shared).backward()
    np.testing.assert_allclose(y.grad.numpy(), c.numpy())
    np.testing.assert_allclose(x.grad.numpy(), c.numpy() + 3, rtol=1e-6)


def test_the_same_gradient_twice():
    x = ember.randn(3, requires_grad=True)
    (x + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 2.0))


def test_retained_and_hooked_gradients_keep_their_values():
    stash = []
    x = ember.randn(6, requires_grad=True)
    h = x * 2
    h.retain_grad()
    u = h * 1.0
    u.register_hook(lambda g: stash.append(g))
    (u.sum() * 2 + (h * h).sum() + u.sum()).backward()
    xt = torch.from_numpy(x.detach().numpy()).requires_grad_()
    ht = xt * 2
    ht.retain_grad()
    ut = ht * 1.0
    stash_t = []
    ut.register_hook(lambda g: stash_t.append(g.clone()))
    (ut.sum() * 2 + (ht * ht).sum() + ut.sum()).backward()
    np.testing.assert_allclose(h.grad.numpy(), ht.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(stash[0].numpy(), stash_t[0].numpy())


def test_residual_network_gradients_match_torch():
    rng = np.random.default_rng(0)
    w1, w2 = (rng.standard_normal((8, 8)) for _ in range(2))
    x0 = rng.standard_normal((4, 8))

    def run(m, lib):
        p1, p2 = (lib(w.copy()).requires_grad_() for w in (w1, w2))
        x = lib(x0.copy()).requires_grad_()
        h = x @ p1
        h = h + (h @ p2).relu()             # the residual branch meets the identity
        h = h + (h @ p1).tanh()             # p1 used twice
        (h * h).sum().backward()
        return [t.grad.numpy() for t in (x, p1, p2)]

    for a, b in zip(run(ember, ember.from_numpy), run(torch, torch.from_numpy)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_second_order_accumulation_builds_a_graph():
    x = ember.tensor([1.5, -0.5], dtype=ember.float64, requires_grad=True)
    y = (x * x * x).sum() + (x * x).sum()
    (g,) = ember.autograd.grad(y, x, create_graph=True)
    (gg,) = ember.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.detach().numpy() + 2)
