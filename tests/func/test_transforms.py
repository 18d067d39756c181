"""ember.func transforms against torch.func on the same functions: each case is written
once against a namespace ``m`` (ember or torch) and its transforms ``fn`` (m.func)."""
from __future__ import annotations

import collections

import numpy as np
import pytest
import torch
import torch.func

import ember
import ember.func

rng = np.random.default_rng(0)


def arr(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def assert_tree_close(ours, ref) -> None:
    """Same pytree structure, same shapes, same values (float64 tolerance)."""
    if isinstance(ref, torch.Tensor):
        assert isinstance(ours, ember.Tensor), type(ours)
        assert tuple(ours.shape) == tuple(ref.shape)
        np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(),
                                   rtol=1e-9, atol=1e-11)
    elif isinstance(ref, dict):
        assert type(ours) is dict and list(ours) == list(ref)
        for k in ref:
            assert_tree_close(ours[k], ref[k])
    elif isinstance(ref, (tuple, list)):
        assert type(ours) is type(ref) and len(ours) == len(ref), (ours, ref)
        for a, b in zip(ours, ref):
            assert_tree_close(a, b)
    else:
        assert ours == ref


def both(case, *arrays: np.ndarray) -> None:
    """Run ``case(m, fn, *tensors)`` on ember and torch (float64) and compare."""
    ours = case(ember, ember.func, *[ember.tensor(a, dtype=ember.float64) for a in arrays])
    ref = case(torch, torch.func, *[torch.tensor(a, dtype=torch.float64) for a in arrays])
    assert_tree_close(ours, ref)


def raises_both(case, exc: type, match: str) -> None:
    """Ember raises ``exc`` with a message matching ``match``; torch raises ``exc`` too."""
    with pytest.raises(exc, match=match):
        case(ember, ember.func, ember.tensor(arr(3), dtype=ember.float64))
    with pytest.raises(exc):
        case(torch, torch.func, torch.tensor(arr(3), dtype=torch.float64))


def f_scalar(m):
    return lambda x: (m.sin(x) * x).sum() + (x ** 3).sum()


def f_vec(m):
    return lambda x: m.tanh(x) * x.sum() + x ** 2


SHAPES = [(), (1,), (4,), (2, 3), (0,), (2, 0)]


# -- grad / value_and_grad ------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
def test_grad_shapes(shape):
    both(lambda m, fn, x: fn.grad(f_scalar(m))(x), arr(*shape))


def test_grad_argnums():
    def f(x, y, z):
        return (x * y).sum() + (y ** 2).sum()
    for argnums in (0, 1, 2, -1, (0, 1), (2, 0), (1,)):
        both(lambda m, fn, *a: fn.grad(f, argnums=argnums)(*a), arr(3), arr(3), arr(3))


def test_grad_pytree_input_and_kwargs():
    def f(p, x, *, scale):
        return (p["w"] * x).sum() * scale + (p["b"][0] ** 2).sum() + p["b"][1].sum()
    both(lambda m, fn, w, b0, b1, x: fn.grad(f)({"w": w, "b": [b0, b1]}, x, scale=2.0),
         arr(2, 3), arr(3), arr(1), arr(2, 3))


Pair = collections.namedtuple("Pair", "a b")


def test_pytree_node_types_are_kept():
    def case(m, fn, x, y):
        def f(p):
            return (p.a * p.b[0]).sum() + p.b[1]["k"].sum()
        g = fn.grad(f)(Pair(x, [y, collections.OrderedDict(k=x)]))
        assert type(g) is Pair and type(g.b[1]) is collections.OrderedDict
        return tuple(g[:1]) + (g.b[0], dict(g.b[1]))
    both(case, arr(3), arr(3))


def test_grad_has_aux_and_value_and_grad():
    def case(m, fn, x):
        def f(x):
            y = m.sin(x)
            return (y ** 2).sum(), {"y": y, "n": [x.sum()]}
        if m is torch:
            g, (v, aux) = fn.grad_and_value(f, has_aux=True)(x)
        else:
            (v, aux), g = fn.value_and_grad(f, has_aux=True)(x)
            assert not v.requires_grad and not aux["y"].requires_grad
        g2, aux2 = fn.grad(f, has_aux=True)(x)
        return g, v, aux, g2, aux2

    both(case, arr(4))


def test_value_and_grad_order():
    x = ember.tensor([1.0, 2.0], dtype=ember.float64)
    value, g = ember.func.value_and_grad(lambda x: (x ** 2).sum())(x)
    assert value.item() == 5.0 and g.tolist() == [2.0, 4.0]


def test_grad_of_constant_and_unused_is_zero():
    both(lambda m, fn, x, y: fn.grad(lambda x, y: (y * 2).sum(), argnums=(0, 1))(x, y),
         arr(3), arr(2))
    both(lambda m, fn, x: fn.grad(lambda x: m.ones(()))(x), arr(3))


def test_grad_results_are_detached():
    x = ember.tensor(arr(3), dtype=ember.float64)
    g = ember.func.grad(lambda x: (x ** 3).sum())(x)
    assert not g.requires_grad and g.grad_fn is None


# -- vjp / jvp -------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
def test_vjp_shapes(shape):
    def case(m, fn, x, ct):
        out, vjp_fn = fn.vjp(f_vec(m), x)
        return out, vjp_fn(ct), vjp_fn(ct * 2)       # vjp_fn can be called again
    both(case, arr(*shape), arr(*shape))


def test_vjp_pytree_outputs_primals_and_aux():
    def case(m, fn, x, y, c1, c2, c3):
        def f(p, q):
            return {"a": p * q[0], "b": (p.sum(), q[1] ** 2)}, p.sum()
        out, vjp_fn, aux = fn.vjp(f, x, [y, x], has_aux=True)
        return out, aux, vjp_fn({"a": c1, "b": (c2, c3)})
    both(case, arr(3), arr(3), arr(3), arr(), arr(3))


@pytest.mark.parametrize("shape", SHAPES)
def test_jvp_shapes(shape):
    both(lambda m, fn, x, t: fn.jvp(f_vec(m), (x,), (t,)), arr(*shape), arr(*shape))


def test_jvp_multiple_primals_pytree_output_and_aux():
    def case(m, fn, x, y, tx, ty):
        def f(x, y):
            return [m.sin(x) * y, {"s": (x * y).sum()}], x.sum()
        return fn.jvp(f, (x, y), (tx, ty), has_aux=True)
    both(case, arr(2, 3), arr(3), arr(2, 3), arr(3))


def test_jvp_output_independent_of_inputs():
    both(lambda m, fn, x, t: fn.jvp(lambda x: m.zeros(2, dtype=m.float64), (x,), (t,)),
         arr(3), arr(3))
    raises_both(lambda m, fn, x: fn.jvp(lambda x: m.zeros(2), (x,), (x,), strict=True),
                RuntimeError, r"jvp\(f, primals, tangents\), strict=True.*independent")


# -- jacobians and hessian ---------------------------------------------------------------

@pytest.mark.parametrize("which", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("shape", SHAPES)
def test_jacobian_shapes(which, shape):
    def case(m, fn, x):
        if m is torch and x.numel() == 0:
            which_ = "jacrev"        # torch's jacfwd fails on empty inputs (vmap of size 0)
        else:
            which_ = which
        jac = getattr(fn, which_)
        return jac(f_vec(m))(x), jac(f_scalar(m))(x)
    both(case, arr(*shape))


@pytest.mark.parametrize("which", ["jacrev", "jacfwd"])
def test_jacobian_argnums_pytrees_and_aux(which):
    def case(m, fn, x, y):
        def f(x, y):
            return {"a": x[:, None] * y, "b": [(x ** 2).sum()]}, m.cos(y)
        jac = getattr(fn, which)
        return (jac(f, argnums=(0, 1), has_aux=True)(x, y),
                jac(f, argnums=1, has_aux=True)(x, y),
                jac(lambda p: p["u"] * p["v"].sum())({"u": x, "v": y}))
    both(case, arr(2), arr(3))


def test_hessian_of_mlp_loss():
    def case(m, fn, w1, b1, w2, x, y):
        def loss(w1, b1, w2):
            h = m.tanh(x @ w1 + b1)
            return (((h @ w2) - y) ** 2).mean()
        return fn.hessian(loss)(w1, b1, w2), fn.hessian(loss, argnums=(0, 1, 2))(w1, b1, w2)
    both(case, arr(3, 4), arr(4), arr(4, 1), arr(5, 3), arr(5, 1))


# -- nesting and composition with autograd ------------------------------------------------

def test_nested_transforms():
    def case(m, fn, x):
        f = f_scalar(m)
        return (fn.grad(fn.grad(lambda x: f(x.sum() * x)))(x) if x.dim() == 0 else None,
                fn.grad(lambda x: fn.grad(f)(x).sum())(x),
                fn.jacrev(fn.jacfwd(f))(x), fn.jacfwd(fn.jacfwd(f))(x),
                fn.jacrev(fn.jacrev(f_vec(m)))(x),
                fn.grad(lambda x: fn.jvp(f_vec(m), (x,), (m.ones_like(x),))[1].sum())(x),
                fn.grad(lambda x: fn.vjp(f_vec(m), x)[1](m.sin(x))[0].sum())(x),
                fn.jacfwd(fn.grad(f))(x))
    both(case, arr(3))
    both(case, arr())


def test_nested_grad_keeps_levels_apart():
    # the inner function closes over the outer x: d/dx [x * d(x*y)/dy] = 2x, not 4x
    both(lambda m, fn, x: fn.grad(lambda x: x * fn.grad(lambda y: x * y)(x))(x), arr())


def test_composes_with_autograd():
    def case(m, fn, w, x):
        w.requires_grad_(True)
        g = fn.grad(lambda x: (m.sin(x * w) * x).sum())(x)        # closes over w
        h = fn.grad(lambda w: (w ** 3).sum())(w)                   # input is w itself
        (dw,) = m.autograd.grad((g ** 2).sum() + h.sum(), w)
        return g, h, dw
    both(case, arr(3), arr(3))


def test_transforms_ignore_outer_no_grad():
    def case(m, fn, x):
        x.requires_grad_(True)
        with m.no_grad():
            g = fn.grad(lambda x: (x ** 3).sum())(x)
            j = fn.jacrev(m.sin)(x)
        assert not g.requires_grad and not j.requires_grad
        return g, j
    both(case, arr(3))


# -- errors -------------------------------------------------------------------------------

def test_grad_errors():
    raises_both(lambda m, fn, x: fn.grad(lambda x: x * 2)(x), RuntimeError,
                r"grad\(f\)\(\*args\): Expected f\(\*args\) to return a scalar Tensor, got "
                r"tensor with 1 dims \(shape \(3,\)\)")
    raises_both(lambda m, fn, x: fn.grad(lambda x: 3.0)(x), RuntimeError,
                r"grad\(f\)\(\*args\): Expected f\(\*args\) to return a Tensor, got .*float")
    raises_both(lambda m, fn, x: fn.grad(lambda x: x.sum())(3.0), ValueError,
                r"grad\(f\)\(\*args\): Thing passed to transform API must be Tensor, got .*float")
    raises_both(lambda m, fn, x: fn.grad(lambda x: x.sum())(m.arange(3)), RuntimeError,
                r"grad\(f\)\(\*args\): cannot differentiate .*int64 input of shape \(3,\)")
    raises_both(lambda m, fn, x: fn.grad(lambda x: x.sum(), has_aux=True)(x), RuntimeError,
                r"output of function f should be a tuple: \(output, aux\)")
    raises_both(lambda m, fn, x: fn.grad(lambda x: x.sum())(), RuntimeError,
                r"Got argnum=0, but only 0 positional inputs")


@pytest.mark.parametrize("argnums,match", [
    (2, r"Got argnum=2, but only 1 positional inputs"),
    (-2, r"Got argnum=-2, but only 1 positional inputs"),
    ((0, 0), r"argnums elements must be unique, got \(0, 0\)"),
    ((), r"argnums must be non-empty"),
    ([0], r"argnums must be int or Tuple\[int, \.\.\.\], got: <class 'list'>"),
    (1.0, r"argnums must be int or Tuple\[int, \.\.\.\], got: <class 'float'>"),
])
@pytest.mark.parametrize("which", ["grad", "jacrev", "jacfwd"])
def test_argnums_errors(which, argnums, match):
    raises_both(lambda m, fn, x: getattr(fn, which)(lambda x: x.sum(), argnums=argnums)(x),
                RuntimeError, f"{which}.*" + match)


def test_vjp_errors():
    raises_both(lambda m, fn, x: fn.vjp(lambda x: x * 2, x)[1](m.ones(2, dtype=x.dtype)),
                RuntimeError, r"Mismatch in shape: grad_output\[0\] has a shape of \(2,\)")
    raises_both(lambda m, fn, x: fn.vjp(lambda x: x * 2, x)[1]((x,)), RuntimeError,
                r"vjp_fn: Expected pytree structure of cotangents .* cotangents: \(\*,\), "
                r"primal output: \*")
    raises_both(lambda m, fn, x: fn.vjp(lambda x: (x * 2).long(), x), RuntimeError,
                r"vjp\(f, \*primals\): All outputs of f must be floating-point .*int64")
    raises_both(lambda m, fn, x: fn.vjp(lambda x: 3, x), RuntimeError,
                r"vjp\(f, \*primals\): expected f\(\*primals\) to return only tensors")
    raises_both(lambda m, fn, x: fn.vjp(lambda x: x, 3.0), ValueError,
                r"Thing passed to transform API must be Tensor")
    raises_both(lambda m, fn, x: fn.jacrev(lambda x: [])(x), RuntimeError,
                r"jacrev\(f\)\(\*args\): Expected f to be a function that has non-empty output")


def test_jvp_errors():
    raises_both(lambda m, fn, x: fn.jvp(lambda x: x, x, x), RuntimeError,
                r"jvp\(f, primals, tangents\): Expected primals to be a tuple")
    raises_both(lambda m, fn, x: fn.jvp(lambda x: x, (x,), [x]), RuntimeError,
                r"same python structure. Got primals with structure \(\*,\) and tangents "
                r"with structure \[\*\]")
    raises_both(lambda m, fn, x: fn.jvp(lambda x: x, (x,), (x[:2],)), RuntimeError,
                r"jvp\(f, primals, tangents\): tangent 0 has shape \(2,\) but its primal has "
                r"shape \(3,\)")
    raises_both(lambda m, fn, x: fn.jvp(lambda x: x, (3.0,), (1.0,)), RuntimeError,
                r"Expected primals to only contain Tensors, got <class 'float'>")
    raises_both(lambda m, fn, x: fn.jvp(lambda x: x, (), ()), RuntimeError,
                r"Expected primals to contain at least one Tensor")
    raises_both(lambda m, fn, x: fn.jvp(lambda x: 3.0, (x,), (x,)), RuntimeError,
                r"expected f\(\*primals\) to return only tensors, got unsupported type")
    raises_both(lambda m, fn, x: fn.jvp(lambda x: x, (x,), (x,), has_aux=True), RuntimeError,
                r"output of function f should be a tuple: \(output, aux\)")
