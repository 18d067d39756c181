"""gradcheck / gradgradcheck themselves: they pass on correct gradients and catch wrong
first and second derivatives."""
import numpy as np
import pytest

import ember


def test_passes_on_builtin_ops_with_several_inputs():
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    y = ember.tensor(rng.standard_normal(3), requires_grad=True)
    c = ember.tensor(rng.standard_normal(3))             # not differentiated

    def fn(a, b, k):
        return (a * b).exp() / (1 + b * b) + k, a.sum()
    assert ember.autograd.gradcheck(fn, (x, y, c))
    assert ember.autograd.gradgradcheck(fn, (x, y, c))


def _with_wrong_backward(first_ok):
    """x ** 3 whose backward is right (first_ok) but whose own derivative is wrong,
    or whose backward is simply wrong."""
    class Cube(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            if first_ok:   # value right; derivative wrt x is 3x^2 -> 4x^2 * x / x...
                return g * (x ** 4 / x.detach() ** 2) * 3
            return g * x * x
    return Cube.apply


def test_catches_wrong_first_derivative():
    x = ember.tensor([0.4, -1.1], dtype=ember.float64, requires_grad=True)
    with pytest.raises(ember.autograd.GradcheckError, match="input 0"):
        ember.autograd.gradcheck(_with_wrong_backward(False), (x,))


def test_catches_wrong_second_derivative_only():
    x = ember.tensor([0.4, -1.1], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(_with_wrong_backward(True), (x,))
    with pytest.raises(ember.autograd.GradcheckError):
        ember.autograd.gradgradcheck(_with_wrong_backward(True), (x,))
    assert not ember.autograd.gradgradcheck(_with_wrong_backward(True), (x,),
                                            raise_exception=False)


def test_requires_a_differentiable_input_and_warns_on_float32():
    with pytest.raises(ValueError, match="require"):
        ember.autograd.gradcheck(lambda a: a * 2, (ember.ones(2, dtype=ember.float64),))
    x = ember.tensor([0.5], requires_grad=True)
    with pytest.warns(UserWarning, match="float64"):
        ember.autograd.gradcheck(lambda a: a * 2, (x,), atol=1e-2, rtol=1e-2)
