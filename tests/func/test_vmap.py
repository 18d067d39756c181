"""ember.func.vmap against torch.func.vmap: in/out axes, pytrees, nesting, errors,
randomness, chunking, the per-example fallback, and composition with grad and compile.

Cases are written once against a namespace ``m`` (ember or torch)."""
from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest
import torch
import torch.func

import ember
import ember.func
from ember.func._batching import _WARNED
from ember.ops.registry import Op

rng = np.random.default_rng(1)
pytestmark = [pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:torch")]


def R(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def tree_close(ours, ref) -> None:
    if isinstance(ref, torch.Tensor):
        assert isinstance(ours, ember.Tensor), type(ours)
        assert tuple(ours.shape) == tuple(ref.shape), (tuple(ours.shape), tuple(ref.shape))
        np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-7,
                                   atol=1e-9)
    elif isinstance(ref, dict):
        assert type(ours) is dict and list(ours) == list(ref)
        for k in ref:
            tree_close(ours[k], ref[k])
    elif isinstance(ref, (tuple, list)):
        assert type(ours) is type(ref) and len(ours) == len(ref)
        for a, b in zip(ours, ref):
            tree_close(a, b)
    else:
        assert ours == ref


def to(m, tree):
    if isinstance(tree, np.ndarray):
        return m.tensor(tree)
    if isinstance(tree, dict):
        return {k: to(m, v) for k, v in tree.items()}
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*(to(m, v) for v in tree))
    if isinstance(tree, (tuple, list)):
        return type(tree)(to(m, v) for v in tree)
    return tree


def both(case, *args, **vmap_kwargs) -> None:
    """``vmap(case(m), **vmap_kwargs)(*args)`` in ember and torch, compared."""
    ours = ember.func.vmap(case(ember), **vmap_kwargs)(*to(ember, args))
    ref = torch.func.vmap(case(torch), **vmap_kwargs)(*to(torch, args))
    tree_close(ours, ref)


def raises_both(call, exc: type, match: str) -> None:
    """``call(m, vmap)`` raises ``exc`` in torch, and in ember with ``match`` in it."""
    with pytest.raises(exc, match=match):
        call(ember, ember.func.vmap)
    with pytest.raises(exc):
        call(torch, torch.func.vmap)


# -- axes and structure --------------------------------------------------------------------

def f_mix(m):
    return lambda x, y: (x * y.sum()).softmax(-1) + m.tanh(y).mean()


@pytest.mark.parametrize("in_dims, shapes", [
    (0, [(3, 4), (3, 2)]),
    (1, [(4, 3), (2, 3)]),
    (-1, [(4, 3), (2, 3)]),
    ((0, None), [(3, 4), (2,)]),
    ((None, 1), [(4,), (2, 5)]),
    ((-2, 0), [(3, 4), (3, 2)]),
])
def test_in_dims(in_dims, shapes):
    both(f_mix, *[R(*s) for s in shapes], in_dims=in_dims)


@pytest.mark.parametrize("out_dims", [0, 1, -1, -2, (1, 0), (0, -1)])
def test_out_dims(out_dims):
    def case(m):
        return lambda x, y: (x * 2, y * x.sum())
    both(case, R(3, 4, 2), R(5), in_dims=(0, None), out_dims=out_dims)


def test_unbatched_outputs_are_expanded_and_out_dims_none_passes_them():
    both(lambda m: lambda x, y: (y, x + 1, y.sum()), R(3, 2), R(4), in_dims=(0, None))
    both(lambda m: lambda x, y: (y, 1.5, x), R(3, 2), R(4), in_dims=(0, None),
         out_dims=(None, None, 1))
    # torch.func.vmap fails on this one (expands before moving the dim); by hand:
    y = ember.tensor(R(4, 2))
    out = ember.func.vmap(lambda a: y, out_dims=1)(ember.zeros(3))
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(y.numpy()[:, None], (4, 3, 2)))


Pair = collections.namedtuple("Pair", "a b")


def test_pytrees_in_and_out():
    def case(m):
        def f(d, p, lst):
            return {"s": d["w"] * p.a + lst[0], "t": [p.b, lst[1] * d["v"]]}
        return f
    both(case, {"w": R(3, 4), "v": R(2)}, Pair(R(4), R(3, 5)), [R(4), R(3, 2)],
         in_dims=({"w": 0, "v": None}, Pair(None, 0), [None, 0]),
         out_dims={"s": 1, "t": [0, -1]})


def test_kwargs_are_not_mapped():
    x, w = R(3, 4), R(4, 2)
    ours = ember.func.vmap(lambda a, *, w: a @ w)(ember.tensor(x), w=ember.tensor(w))
    np.testing.assert_allclose(ours.numpy(), x @ w)


def test_in_dims_alias_and_positional_in_axes():
    x = ember.tensor(R(4, 3))
    a = ember.func.vmap(lambda t: t.sum(), 1)(x)
    b = ember.func.vmap(lambda t: t.sum(), in_dims=1, out_dims=0)(x)
    np.testing.assert_allclose(a.numpy(), x.sum(0).numpy())
    np.testing.assert_allclose(b.numpy(), x.sum(0).numpy())


def _small_net(m):
    return lambda x, w: ((x @ w).relu().sum(-1) + x.mean(), x.softmax(-1), x[0], x.T @ x)


def test_batch_of_one():
    both(_small_net, R(1, 2, 4), R(4, 3), in_dims=(0, None))


def test_empty_batch():
    # torch.func.vmap cannot map over 0 examples here; the shapes are those of a loop
    out = ember.func.vmap(_small_net(ember), in_dims=(0, None))(ember.tensor(R(0, 2, 4)),
                                                               ember.tensor(R(4, 3)))
    assert [tuple(o.shape) for o in out] == [(0, 2), (0, 2, 4), (0, 4), (0, 4, 4)]


def test_zero_dim_examples():
    both(lambda m: lambda x, y: (x * y, x.exp(), m.stack([x, x]), x.sum()), R(5), R(3),
         in_dims=(0, None))


def test_tensors_look_like_one_example():
    seen = {}

    def f(x):
        seen.update(shape=tuple(x.shape), ndim=x.ndim, dim=x.dim(), len=len(x),
                    size=x.size(1), numel=x.numel(), repr=repr(x))
        return x
    ember.func.vmap(f, in_dims=1)(ember.zeros(2, 7, 3))
    assert seen["shape"] == (2, 3) and seen["ndim"] == seen["dim"] == 2
    assert seen["len"] == 2 and seen["size"] == 3 and seen["numel"] == 6
    assert seen["repr"].startswith("BatchedTensor(lvl=1, bdim=0")


# -- nesting and composition -----------------------------------------------------------------

def test_nested_vmap():
    both(lambda m: lambda x, y: m.func.vmap(lambda u: m.func.vmap(
        lambda v: (u * v).sum())(y))(x), R(3, 4), R(5, 4), in_dims=(0, None))
    both(lambda m: lambda x, y: m.func.vmap(lambda u, v: u @ v, in_dims=(None, 0))(x, y),
         R(3, 4, 5), R(3, 2, 5, 6))
    both(lambda m: lambda x: m.func.vmap(lambda u: u.softmax(0) * x.sum(), in_dims=1)(x),
         R(3, 4, 5))


def _mlp_loss(m, params, x, y):
    F = m.nn.functional
    h = F.relu(F.linear(x, params["w1"], params["b1"]))
    h = F.layer_norm(h, (6,))
    return F.cross_entropy(F.linear(h, params["w2"], params["b2"]).unsqueeze(0),
                           y.unsqueeze(0))


def test_per_example_grads_of_mlp_match_torch_without_fallback():
    params = {"w1": R(6, 5), "b1": R(6), "w2": R(3, 6), "b2": R(3)}
    x, y = R(8, 5), rng.integers(0, 3, 8)

    def run(m):
        f = m.func.vmap(m.func.grad(lambda p, a, b: _mlp_loss(m, p, a, b)),
                        in_dims=(None, 0, 0))
        return f(to(m, params), m.tensor(x), m.tensor(y))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="vmap")
        ours = run(ember)
    tree_close(ours, run(torch))


def test_per_example_grads_of_module_with_functional_call():
    def build(m):
        m.manual_seed(0)
        nn = m.nn
        net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Flatten(), nn.Linear(12, 6), nn.LayerNorm(6), nn.Tanh(),
                            nn.Linear(6, 3)).double()
        return net
    tnet, enet = build(torch), build(ember)
    enet.load_state_dict({k: ember.tensor(v.detach().numpy())
                          for k, v in tnet.state_dict().items()})
    x, y = R(5, 2, 4, 4), rng.integers(0, 3, 5)

    def run(m, net):
        def loss(p, a, b):
            out = m.func.functional_call(net, p, (a.unsqueeze(0),))
            return m.nn.functional.cross_entropy(out, b.unsqueeze(0))
        params = {k: v.detach() for k, v in net.named_parameters()}
        return m.func.vmap(m.func.grad(loss), in_dims=(None, 0, 0))(params, m.tensor(x),
                                                                   m.tensor(y))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="vmap")
        ours = run(ember, enet)
    tree_close(ours, run(torch, tnet))


def test_grad_of_vmap_and_grad_of_vmap_of_grad():
    def case(m):
        f = lambda x: (m.sin(x) * x.sum()).sum()        # noqa: E731
        return lambda x: (m.func.grad(lambda a: m.func.vmap(f)(a).sum())(x),
                          m.func.grad(lambda a: m.func.vmap(m.func.grad(f))(a).pow(2).sum())(x))
    xs = R(4, 3)
    tree_close(case(ember)(ember.tensor(xs)), case(torch)(torch.tensor(xs)))


def test_vmap_of_jacobians():
    def case(m):
        f = lambda x: m.sin(x) * x.sum()                # noqa: E731
        return lambda x: (m.func.vmap(m.func.jacrev(f))(x), m.func.vmap(m.func.jacfwd(f))(x),
                          m.func.vmap(m.func.hessian(lambda a: f(a).sum()))(x))
    xs = R(3, 4)
    tree_close(case(ember)(ember.tensor(xs)), case(torch)(torch.tensor(xs)))


def test_compile_of_vmap_traces_the_batched_ops():
    f = ember.func.vmap(lambda a, b: (a @ b).relu().sum(-1), in_dims=(0, None))
    compiled = ember.compile(f, fullgraph=True)
    a, b = ember.tensor(R(5, 4, 3)), ember.tensor(R(3, 2))
    first, second = compiled(a, b), compiled(a, b)
    np.testing.assert_allclose(first.numpy(), f(a, b).numpy())
    np.testing.assert_allclose(second.numpy(), first.numpy())


def test_custom_autograd_function():
    class Cube(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g
    x = ember.tensor(R(3, 4))
    np.testing.assert_allclose(ember.func.vmap(Cube.apply)(x).numpy(), (x ** 3).numpy())
    g = ember.func.vmap(ember.func.grad(lambda a: Cube.apply(a).sum()))(x)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)


# -- randomness and chunks -------------------------------------------------------------------

def _drop(x):
    return ember.nn.functional.dropout(x, 0.5)


def test_randomness_modes():
    x = ember.ones(6, 200)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        ember.func.vmap(_drop)(x)
    same = ember.func.vmap(_drop, randomness="same")(x)
    diff = ember.func.vmap(_drop, randomness="different")(x)
    assert bool((same == same[0]).all())
    assert not bool((diff == diff[0]).all())
    assert set(np.unique(diff.numpy())) == {0.0, 2.0}
    fresh = ember.func.vmap(lambda _: _drop(ember.ones(200)), randomness="different")(x)
    assert tuple(fresh.shape) == (6, 200) and not bool((fresh == fresh[0]).all())
    one = ember.func.vmap(lambda _: _drop(ember.ones(200)), randomness="same",
                          out_dims=None)(x)
    assert tuple(one.shape) == (200,)
    alpha = ember.func.vmap(lambda a: ember.nn.functional.alpha_dropout(a, 0.5, True),
                            randomness="different")(ember.randn(4, 2000))
    assert abs(float(alpha.mean())) < 0.1 and abs(float(alpha.std()) - 1) < 0.1


def test_chunk_size():
    x = ember.tensor(R(10, 3))
    for chunk in (1, 3, 10, 50):
        out = ember.func.vmap(lambda a: (a.softmax(0), a.sum()), chunk_size=chunk)(x)
        np.testing.assert_allclose(out[0].numpy(), x.softmax(1).numpy())
        np.testing.assert_allclose(out[1].numpy(), x.sum(1).numpy())
    same = ember.func.vmap(lambda _: _drop(ember.ones(8)), randomness="same",
                           chunk_size=3)(x)
    assert bool((same == same[0]).all())


# -- the per-example fallback ----------------------------------------------------------------

class _Twice(Op):
    """An op outside the registry: no batching rule can exist for it."""

    name = "vmap_test_twice_plus_sum"

    def forward(self, xp, x, y, *, k):
        return 2 * x + y.sum() * k

    def backward(self, ctx, g):
        return 2 * g, (g * ctx.attrs["k"]).sum() * ember.ones_like(ctx.inputs[1])


def test_fallback_runs_per_example_and_warns_once():
    op = _Twice()
    _WARNED.discard(op.name)
    x, y = ember.tensor(R(4, 3)), ember.tensor(R(4, 2))
    with pytest.warns(UserWarning, match=r"op 'vmap_test_twice_plus_sum'.*once per example"):
        out = ember.func.vmap(lambda a, b: op(a, b, k=3.0))(x, y)
    np.testing.assert_allclose(out.numpy(), 2 * x.numpy() + 3 * y.numpy().sum(1)[:, None])
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="vmap")
        again = ember.func.vmap(lambda a, b: op(a, b, k=3.0), in_dims=(0, None))(x, y[0])
    np.testing.assert_allclose(again.numpy(), 2 * x.numpy() + 3 * y.numpy()[0].sum())
    empty = ember.func.vmap(lambda a, b: op(a, b, k=1.0))(x[:0], y[:0])
    assert tuple(empty.shape) == (0, 3)


def test_fallback_op_gets_per_example_grads():
    op = _Twice()
    _WARNED.add(op.name)
    g = ember.func.vmap(ember.func.grad(lambda a, b: op(a, b, k=2.0).sum(), argnums=1))(
        ember.tensor(R(4, 3)), ember.tensor(R(4, 2)))
    np.testing.assert_allclose(g.numpy(), np.full((4, 2), 6.0))


# -- errors ---------------------------------------------------------------------------------

X, Y = R(3, 4), R(5, 4)


@pytest.mark.parametrize("call, exc, match", [
    (lambda m, v: v(m.add)(m.tensor(X), m.tensor(Y)), ValueError,
     r"Expected all tensors to have the same size in the mapped dimension, got sizes "
     r"\[3, 5\] for the mapped dimension"),
    (lambda m, v: v(m.sin, in_dims=[0])(m.tensor(X)), ValueError, "expected `in_dims` to be int"),
    (lambda m, v: v(m.sin, in_dims=(0, 0))(m.tensor(X)), ValueError,
     "in_dims is not compatible with the structure of `inputs`"),
    (lambda m, v: v(m.sin, in_dims=(2,))(m.tensor(X)), ValueError,
     r"in_dim=2 .* dimensionality 2 .* -2 <= in_dim < 2"),
    (lambda m, v: v(m.sin, in_dims=(None,))(m.tensor(X)), ValueError,
     "at least one Tensor to vmap over"),
    (lambda m, v: v(m.sin, in_dims=(0.5,))(m.tensor(X)), ValueError,
     "in_dim must be either an integer dimension or None"),
    (lambda m, v: v(lambda a: a)(3.0), ValueError, "cannot vmap over non-Tensor arguments"),
    (lambda m, v: v(m.sin)(), ValueError, "got no inputs"),
    (lambda m, v: v(lambda a: a)(m.tensor(1.0)), ValueError, "dimensionality 0"),
    (lambda m, v: v(lambda a: (a, 1))(m.tensor(X)), ValueError, "must only return Tensors"),
    (lambda m, v: v(lambda a: a, out_dims=None)(m.tensor(X)), ValueError,
     "can not return a BatchedTensor when out_dim is None"),
    (lambda m, v: v(lambda a: a, out_dims=(0, 0))(m.tensor(X)), ValueError,
     "out_dims is not compatible with the structure of `outputs`"),
    (lambda m, v: v(lambda a: a, out_dims=0.5)(m.tensor(X)), ValueError,
     "`out_dims` must be an int, None"),
    (lambda m, v: v(lambda a: a, out_dims=3)(m.tensor(X)), IndexError, "out of range"),
    (lambda m, v: v(lambda a: a, randomness="foo")(m.tensor(X)), RuntimeError,
     "Only allowed values for randomness"),
    (lambda m, v: v(lambda a: a, chunk_size=0)(m.tensor(X)), ValueError,
     "chunk_size should be None or greater than 0"),
    (lambda m, v: v(lambda a: a.item())(m.tensor(X)), RuntimeError, r"calling .item\(\)"),
    (lambda m, v: v(lambda a: bool(a.sum() > 0))(m.tensor(X)), RuntimeError,
     "data-dependent control flow"),
    (lambda m, v: v(lambda a: a.nonzero())(m.tensor(X)), RuntimeError, "dynamic shape"),
    (lambda m, v: v(lambda a: a.backward())(m.tensor(X, requires_grad=True)), RuntimeError,
     r"backward\(\) called inside"),
])
def test_errors_match_torch(call, exc, match):
    raises_both(call, exc, match)


def test_escaped_batched_tensor_raises():
    leaked = []
    ember.func.vmap(lambda a: leaked.append(a) or a)(ember.tensor(X))
    with pytest.raises(RuntimeError, match="must not escape"):
        leaked[0] + 1


def test_reading_values_inside_raises_clearly():
    with pytest.raises(RuntimeError, match="read in Python"):
        ember.func.vmap(lambda a: a.tolist())(ember.tensor(X))
    with pytest.raises(RuntimeError, match="read in Python"):
        ember.func.vmap(lambda a: a.numpy())(ember.tensor(X))


def test_hooks_are_removed_after_an_error():
    from ember.ops.registry import dispatch_hooks
    before = list(dispatch_hooks)
    with pytest.raises(ZeroDivisionError):
        ember.func.vmap(lambda a: 1 / 0)(ember.tensor(X))
    assert dispatch_hooks == before
