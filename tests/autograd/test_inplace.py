"""In-place operations and autograd: version counters, leaves, non-leaves, views."""
import pytest
import torch

import ember
from conformance import assert_close


def test_modifying_saved_output_raises_like_torch():
    for m in (ember, torch):
        x = m.ones(3, requires_grad=True)
        y = x.exp()                       # exp saves its output
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_modifying_saved_input_raises():
    for m in (ember, torch):
        x = m.ones(3, requires_grad=True)
        a = x * 2
        b = a * a                         # mul saves its inputs
        a.mul_(3)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            b.sum().backward()


def test_version_counter_bumps_and_is_shared_with_views():
    x = ember.zeros(4)
    v0 = x._version
    x.add_(1)
    assert x._version == v0 + 1
    d = x.detach()
    d.mul_(2)
    assert x._version == d._version == v0 + 2


def test_inplace_on_non_leaf_is_differentiable():
    res = []
    for m in (ember, torch):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y.add_(1)
        y.mul_(3)
        y.sum().backward()
        res.append((y, x.grad))
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][1], res[1][1])


def test_inplace_reading_itself_raises_like_torch():
    for m in (ember, torch):
        y = m.ones(2, requires_grad=True) * 2
        y.mul_(y)                         # the saved operand is the modified tensor
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_inplace_history_rebased():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    y.exp_()
    assert y.grad_fn.name().startswith("Exp")
    y.sum().backward()
    tx = torch.ones(2, requires_grad=True)
    (tx * 2).exp_().sum().backward()
    assert_close(x.grad, tx.grad)


def test_inplace_on_leaf_requiring_grad_raises():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="leaf"):
        x.mul_(ember.ones(2))
    with ember.no_grad():
        x.add_(1)
    assert x.tolist() == [2.0, 2.0]


def test_inplace_with_grad_operand_on_plain_tensor():
    res = []
    for m in (ember, torch):
        w = m.tensor([1.0, 2.0], requires_grad=True)
        buf = m.zeros(2)
        buf.add_(w * 3)
        assert buf.requires_grad
        buf.sum().backward()
        res.append(w.grad)
    assert_close(*res)


def test_modified_after_backward_is_fine():
    x = ember.ones(2, requires_grad=True)
    y = x.exp()
    y.sum().backward()
    y.detach().add_(1)
    assert x.grad is not None
