"""Tensor.register_hook, handle.remove() and retain_grad(), against torch."""
import pytest
import torch

import ember
from conformance import assert_close


def run(m, hook_leaf=None, hook_mid=None, retain=False):
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    hs = []
    if hook_leaf:
        hs.append(x.register_hook(hook_leaf))
    y = x * x
    if hook_mid:
        hs.append(y.register_hook(hook_mid))
    if retain:
        y.retain_grad()
    (y * 3).sum().backward()
    return x, y, hs


def test_leaf_hook_modifies_grad():
    ex, _, _ = run(ember, hook_leaf=lambda g: g * 10)
    tx, _, _ = run(torch, hook_leaf=lambda g: g * 10)
    assert_close(ex.grad, tx.grad)


def test_non_leaf_hook_modifies_downstream_grad():
    ex, _, _ = run(ember, hook_mid=lambda g: g + 1)
    tx, _, _ = run(torch, hook_mid=lambda g: g + 1)
    assert_close(ex.grad, tx.grad)


def test_hook_observes_without_changing():
    seen = []
    ex, _, _ = run(ember, hook_mid=lambda g: seen.append(g.tolist()))
    assert seen == [[3.0, 3.0, 3.0]] and ex.grad.tolist() == [6.0, 12.0, 18.0]


def test_handle_remove():
    calls = []
    x = ember.ones(2, requires_grad=True)
    h = x.register_hook(lambda g: calls.append(1) or g * 0)
    (x * 2).sum().backward()
    assert calls == [1] and x.grad.tolist() == [0.0, 0.0]
    h.remove()
    (x * 2).sum().backward()
    assert calls == [1] and x.grad.tolist() == [2.0, 2.0]
    y = x * 1
    h2 = y.register_hook(lambda g: g * 100)
    h2.remove()
    x.grad = None
    (y * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="doesn't require"):
        ember.ones(2).register_hook(lambda g: g)


def test_retain_grad():
    _, ey, _ = run(ember, retain=True)
    _, ty, _ = run(torch, retain=True)
    assert ey.retains_grad and ey.grad is not None
    assert_close(ey.grad, ty.grad)
    _, ey, _ = run(ember)
    assert ey.grad is None and not ey.retains_grad
    x = ember.ones(2, requires_grad=True)
    x.retain_grad()                                   # no-op on leaves
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        ember.ones(2).retain_grad()


def test_retain_grad_sees_hook_result_and_accumulates():
    ex = ember.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    for m, x in ((ember, ex), (torch, tx)):
        y = x * 2
        y.retain_grad()
        y.register_hook(lambda g: g * 2)
        (y * y).sum().backward(retain_graph=True)
        (y * y).sum().backward()
        x.y = y
    assert_close(ex.y.grad, tx.y.grad)
    assert_close(ex.grad, tx.grad)
