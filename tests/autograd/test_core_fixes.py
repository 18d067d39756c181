"""Regression tests for the autograd core: gradient buffers owned by one leaf, repeated
inputs to grad(), views made stale by in-place ops, and detach() not holding the graph."""
import gc
import weakref

import pytest
import torch

import ember


def test_leaf_grads_do_not_share_memory_or_mutate_the_given_gradient():
    x = ember.ones(3, requires_grad=True)
    y = ember.ones(3, requires_grad=True)
    g = ember.ones(3)
    (x + y).backward(g)
    (x + y).backward(g)
    tx = torch.ones(3, requires_grad=True)
    ty = torch.ones(3, requires_grad=True)
    tg = torch.ones(3)
    (tx + ty).backward(tg)
    (tx + ty).backward(tg)
    assert x.grad.tolist() == tx.grad.tolist() == [2.0, 2.0, 2.0]
    assert y.grad.tolist() == ty.grad.tolist()
    assert g.tolist() == [1.0, 1.0, 1.0]


def test_retained_grad_is_not_changed_by_later_accumulation():
    x = ember.ones(2, requires_grad=True)
    h = x * 1
    h.retain_grad()
    h.sum().backward(retain_graph=True)
    h.sum().backward()
    assert h.grad.tolist() == [2.0, 2.0]
    assert x.grad.tolist() == [2.0, 2.0]


def test_grad_with_the_same_input_twice():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    ga, gb = ember.autograd.grad((a * a).sum(), [a, a])
    assert ga.tolist() == gb.tolist() == [2.0, 4.0]


def test_view_taken_before_a_recorded_inplace_op_is_refused():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    y = w * 1
    v = y[0:1]
    y.mul_(3)
    with pytest.raises(RuntimeError, match="view of a tensor whose history was changed"):
        v.sum()


def test_view_taken_after_the_inplace_op_is_fine():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    y = w * 1
    y.mul_(3)
    y[0:1].sum().backward()
    assert w.grad.tolist() == [3.0, 0.0]


def test_inplace_on_a_view_while_recording_is_refused_not_silently_dropped():
    v = ember.tensor([1.0, 2.0], requires_grad=True)
    x = ember.zeros(2, 2)
    with pytest.raises(RuntimeError, match="in-place modification of a view"):
        x[0].copy_(v)
    x[0] = v                       # the supported spelling
    (x * x).sum().backward()
    assert v.grad.tolist() == [2.0, 4.0]


def test_no_grad_inplace_on_a_view_still_works():
    p = ember.ones(2, 2, requires_grad=True)
    w = p.t()
    with ember.no_grad():
        p.mul_(2)
    (w * 1).sum().backward()      # no history change: the view stays usable
    assert p.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_detach_does_not_keep_the_graph_alive():
    a = ember.randn(3, requires_grad=True)
    y = a * 2
    node = weakref.ref(y.grad_fn)
    d = y.detach()
    del y
    gc.collect()
    assert node() is None
    assert d.shape == (3,)


def test_no_grad_decorates_generators():
    x = ember.ones(2, requires_grad=True)

    @ember.no_grad()
    def gen():
        for _ in range(2):
            yield ember.is_grad_enabled(), (x * 2).requires_grad

    assert list(gen()) == [(False, False), (False, False)]
    assert ember.is_grad_enabled()
