"""Custom autograd Functions: ctx API, second order, needs_input_grad, gradcheck, and
agreement with the same Function written for torch."""
import numpy as np
import pytest
import torch

import ember
from conformance import assert_close


def make_cube(m, wrong=False):
    """x ** 3 * k as a custom Function of module ``m`` (ember or torch)."""
    class Cube(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x * x * x * k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            scale = 2 if wrong else 3
            return g * scale * x * x * ctx.k, None
    return Cube


class SaveAndSquare(ember.autograd.Function):
    """x * x with x saved for backward; subclasses write the backward under test."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x


def test_forward_backward_and_second_order_vs_torch():
    a = np.array([0.5, -1.5, 2.0])
    res = []
    for m in (ember, torch):
        x = m.tensor(a, requires_grad=True)
        y = make_cube(m).apply(x, 2.0)
        (g,) = m.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = m.autograd.grad((g * g).sum(), x)
        res.append((y, g, gg))
    for e, t in zip(*res):
        assert_close(e, t)
    assert res[0][0].grad_fn.name() == "CubeBackward"


def test_gradcheck_and_gradgradcheck_pass_for_correct_backward():
    x = ember.tensor(np.array([0.3, -0.7]), requires_grad=True)
    Cube = make_cube(ember)
    assert ember.autograd.gradcheck(lambda t: Cube.apply(t, 1.5), (x,))
    assert ember.autograd.gradgradcheck(lambda t: Cube.apply(t, 1.5), (x,))


def test_gradcheck_catches_wrong_backward():
    x = ember.tensor(np.array([0.3, -0.7]), requires_grad=True)
    Wrong = make_cube(ember, wrong=True)
    with pytest.raises(ember.autograd.GradcheckError, match="Jacobian mismatch"):
        ember.autograd.gradcheck(lambda t: Wrong.apply(t, 1.0), (x,))
    assert not ember.autograd.gradcheck(lambda t: Wrong.apply(t, 1.0), (x,),
                                        raise_exception=False)


def test_gradgradcheck_catches_wrong_double_backward():
    class BadSecond(SaveAndSquare):
        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x.detach()     # right value, but the x-dependence is cut

    x = ember.tensor(np.array([0.3, -0.7]), requires_grad=True)
    assert ember.autograd.gradcheck(BadSecond.apply, (x,))
    with pytest.raises(ember.autograd.GradcheckError):
        ember.autograd.gradgradcheck(BadSecond.apply, (x,))


def test_needs_input_grad_and_non_tensor_args():
    seen = {}

    class Mul(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, note):
            ctx.save_for_backward(a, b)
            seen["fwd"] = ctx.needs_input_grad
            seen["grad_enabled_in_forward"] = ember.is_grad_enabled()
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            seen["bwd"] = ctx.needs_input_grad
            ga = g * b if ctx.needs_input_grad[0] else None
            gb = g * a if ctx.needs_input_grad[1] else None
            return ga, gb, None

    a = ember.tensor([1.0, 2.0], requires_grad=True)
    b = ember.tensor([3.0, 4.0])
    out = Mul.apply(a, b, "hello")
    assert not out.is_leaf and out.requires_grad
    out.sum().backward()
    assert seen["fwd"] == seen["bwd"] == (True, False, False)
    assert seen["grad_enabled_in_forward"] is False
    assert a.grad.tolist() == [3.0, 4.0]
    r = Mul.apply(b, b, None)                   # nothing requires grad: no graph
    assert not r.requires_grad and r.grad_fn is None


def test_saved_tensors_freed_after_backward():
    x = ember.ones(2, requires_grad=True)
    Cube = make_cube(ember)
    y = Cube.apply(x, 1.0)
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()
    with pytest.raises(RuntimeError, match="freed"):
        y.grad_fn.fctx.saved_tensors


def test_saved_tensor_modified_in_place_raises():
    for m in (ember, torch):
        x = m.ones(2, requires_grad=True)
        h = x * 1
        y = make_cube(m).apply(h, 1.0)
        h.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def make_split(m, materialize=True):
    class Split(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(materialize)
            idx = (x > 0).long()
            ctx.mark_non_differentiable(idx)
            return x * 2, x * 3, idx

        @staticmethod
        def backward(ctx, g1, g2, gidx):
            ctx.got = (g1 is None, g2 is None)
            if g1 is None:
                return g2 * 3
            return g1 * 2 + g2 * 3
    return Split


@pytest.mark.parametrize("materialize", [True, False])
def test_multiple_outputs_materialize_and_non_differentiable(materialize):
    res = []
    for m in (ember, torch):
        x = m.tensor([1.0, -2.0], requires_grad=True)
        a, b, idx = make_split(m, materialize).apply(x)
        assert not idx.requires_grad and a.requires_grad
        b.sum().backward()                       # a's gradient is missing
        res.append((x.grad, a.grad_fn))
    assert_close(res[0][0], res[1][0])
    assert res[0][1].fctx.got == (not materialize, False)


def test_returning_input_and_setup_context_style():
    class Ident(ember.autograd.Function):
        @staticmethod
        def forward(x, scale):
            return x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.scale = inputs[1]

        @staticmethod
        def backward(ctx, g):
            return g * ctx.scale, None

    x = ember.ones(2, requires_grad=True)
    y = Ident.apply(x, 5.0)
    assert y is not x and not y.is_leaf
    y.sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_wrong_number_of_grads_and_shape_errors():
    class TooMany(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g, g

    class BadShape(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return ember.ones(5)

    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        TooMany.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="shape"):
        BadShape.apply(x).sum().backward()


def test_once_differentiable():
    from ember.autograd.function import once_differentiable

    class Sq(SaveAndSquare):
        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert not ember.is_grad_enabled()
            return 2 * x * g

    x = ember.tensor([3.0], requires_grad=True)
    (g,) = ember.autograd.grad((Sq.apply(x) * x).sum(), x, create_graph=True)
    assert g.tolist() == [27.0] and g.requires_grad
    # torch silently drops this path from autograd.grad; Ember refuses loudly
    with pytest.raises(RuntimeError, match="once_differentiable"):
        ember.autograd.grad(g.sum(), x)


def test_function_inside_composed_graph_and_no_grad():
    Cube = make_cube(ember)
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    ((Cube.apply(x * 2, 1.0) + x).exp() * 0 + Cube.apply(x, 1.0)).sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]
    with ember.no_grad():
        assert not Cube.apply(x, 1.0).requires_grad
    with pytest.raises(RuntimeError, match="apply"):
        Cube()(x)
