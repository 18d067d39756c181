"""The backward engine: accumulation, broadcasting, graph lifetime, grad() and
higher-order gradients, compared with torch."""
import numpy as np
import pytest
import torch

import ember
from conformance import assert_close

RNG = np.random.default_rng(0)


def pair(a, requires_grad=True):
    return (ember.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def f(m, x, w):
    return ((x * w).exp() / (1 + x * x)).sum()


def test_backward_accumulates_over_two_calls():
    a, w = RNG.standard_normal(3), RNG.standard_normal(3)
    (ex, tx), (ew, tw) = pair(a), pair(w, False)
    for _ in range(2):
        f(ember, ex, ew).backward()
        f(torch, tx, tw).backward()
        assert_close(ex.grad, tx.grad)
    g = ex.grad
    f(ember, ex, ew).backward()
    assert ex.grad is g                       # accumulated in place, as in torch
    ex.grad = None
    f(ember, ex, ew).backward()
    f(torch, tx, tw).backward()
    assert_close(ex.grad * 3, tx.grad)


def test_broadcast_inputs_get_reduced_grads():
    a, b, c = RNG.standard_normal((2, 3)), RNG.standard_normal((3,)), RNG.standard_normal((2, 1))
    es, ts = zip(pair(a), pair(b), pair(c))
    for m, (x, y, z) in ((ember, es), (torch, ts)):
        (x * y + z * y - z).pow(2).sum().backward()
    for e, t in zip(es, ts):
        assert_close(e.grad, t.grad)
        assert e.grad.shape == e.shape


def test_retain_graph_and_second_backward_error():
    ex, tx = pair([1.0, 2.0])
    y = (ex * ex).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert ex.grad.tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    z = (ex.exp() * 2).sum()
    ember.autograd.grad(z, ex)
    with pytest.raises(RuntimeError, match="second time"):
        ember.autograd.grad(z, ex)


def test_backward_errors():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(ember.ones(3))
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="[Mm]ismatch in shape"):
        (x * 2).backward(ember.ones(2))
    with pytest.raises(RuntimeError, match="does not require grad"):
        ember.ones(2).sum().backward()
    with pytest.raises(RuntimeError, match="floating point"):
        ember.ones(2, dtype=ember.int64).requires_grad_()


def test_backward_with_gradient_matches_torch():
    a, g = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    ex, tx = pair(a)
    (ex.exp() * ex).backward(ember.tensor(g))
    (tx.exp() * tx).backward(torch.tensor(g))
    assert_close(ex.grad, tx.grad)


def test_backward_inputs_argument():
    x, y = ember.ones(2, requires_grad=True), ember.ones(2, requires_grad=True)
    (x * y * 3).sum().backward(inputs=[x])
    assert x.grad.tolist() == [3.0, 3.0] and y.grad is None


def test_grad_allow_unused_and_materialize():
    x, y = ember.ones(2, requires_grad=True), ember.ones(2, requires_grad=True)
    out = (x * 2).sum()
    with pytest.raises(RuntimeError, match="not have been used"):
        ember.autograd.grad(out, [x, y], retain_graph=True)
    gx, gy = ember.autograd.grad(out, [x, y], allow_unused=True, retain_graph=True)
    assert gx.tolist() == [2.0, 2.0] and gy is None
    gx, gy = ember.autograd.grad(out, [x, y], materialize_grads=True)
    assert gy.tolist() == [0.0, 0.0]
    assert x.grad is None                      # grad() does not accumulate


def test_grad_of_non_leaf_and_multiple_outputs():
    a = RNG.standard_normal(3)
    ex, tx = pair(a)
    eh, th = ex * 2, tx * 2
    eo = [(eh.exp()).sum(), (eh * eh).sum()]
    to = [(th.exp()).sum(), (th * th).sum()]
    for e, t in zip(ember.autograd.grad(eo, [eh, ex]), torch.autograd.grad(to, [th, tx])):
        assert_close(e, t)


def test_create_graph_second_derivative_vs_torch():
    a = RNG.standard_normal(4)
    ex, tx = pair(a)
    (eg,) = ember.autograd.grad((ex.exp() * ex * ex).sum(), ex, create_graph=True)
    (tg,) = torch.autograd.grad((tx.exp() * tx * tx).sum(), tx, create_graph=True)
    assert eg.requires_grad and eg.grad_fn is not None
    assert_close(eg, tg)
    (egg,) = ember.autograd.grad(eg.sum(), ex)
    (tgg,) = torch.autograd.grad(tg.sum(), tx)
    assert_close(egg, tgg)


def test_hessian_vector_product_vs_torch():
    a, w, v = RNG.standard_normal(3), RNG.standard_normal((3, 3)), RNG.standard_normal(3)

    def loss(m, x, W):
        return ((W @ x).exp() * x).sum() / 3

    res = []
    for m in (ember, torch):
        x = m.tensor(a, requires_grad=True)
        W = m.tensor(w)
        (g,) = m.autograd.grad(loss(m, x, W), x, create_graph=True)
        (hv,) = m.autograd.grad(g, x, grad_outputs=m.tensor(v))
        res.append(hv)
    assert_close(*res)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
def test_backward_create_graph_accumulates_differentiable_grad():
    ex, tx = pair([0.5, -1.0])
    (ex ** 3).sum().backward(create_graph=True)
    (tx ** 3).sum().backward(create_graph=True)
    assert ex.grad.requires_grad
    assert_close(ex.grad, tx.grad)
    (eg,) = ember.autograd.grad(ex.grad.sum(), ex)
    (tg,) = torch.autograd.grad(tx.grad.sum(), tx)
    assert_close(eg, tg)


def test_grad_dtype_follows_input_across_casts():
    x = ember.ones(2, dtype=ember.float64, requires_grad=True)
    (x.float() * 2).sum().backward()
    assert x.grad.dtype == ember.float64


def test_int_outputs_do_not_require_grad():
    x = ember.ones(2, requires_grad=True)
    assert not (x > 0).requires_grad


def test_next_functions_and_grad_fn_names():
    x = ember.ones(2, requires_grad=True)
    y = (x * 2).sum()
    assert y.grad_fn.name() == "SumBackward0"
    (mul, _), = y.grad_fn.next_functions
    assert mul.name() == "MulBackward0"
    assert mul.next_functions[0][0].name() == "AccumulateGrad"
    assert mul.next_functions[0][0].variable is x


def test_backward_releases_the_tensors_a_node_saved():
    import weakref
    x = ember.randn(100, requires_grad=True)
    h = x.exp()
    alive = weakref.ref(h)
    loss = (h * h).sum()            # mul saves h (and records its version)
    del h
    loss.backward()
    assert alive() is None          # freed although loss and its graph are still alive
    assert loss.grad_fn is not None
