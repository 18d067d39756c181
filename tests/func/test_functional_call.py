"""ember.func.functional_call against torch.func.functional_call: the same module
(weights copied from torch), the same swapped tensors, the same gradients."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.func

import ember
import ember.func
from ember.func import functional_call



def data(*shape):
    """The same numbers on each call (the ember and torch runs of a case see equal data)."""
    return np.random.default_rng(0).standard_normal(shape)


def T(a, m):
    return m.tensor(np.asarray(a), dtype=m.float64)


def mlp(m):
    """A small MLP in namespace ``m``, with the same seeded weights in ember and torch."""
    model = m.nn.Sequential(m.nn.Linear(3, 4), m.nn.Tanh(), m.nn.Linear(4, 2)).double()
    local = np.random.default_rng(1)
    with m.no_grad():
        for p in model.parameters():
            p.copy_(T(local.standard_normal(tuple(p.shape)), m))
    return model


def close(ours, ref) -> None:
    if isinstance(ref, dict):
        assert list(ours) == list(ref)
        for k in ref:
            close(ours[k], ref[k])
        return
    assert tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-9,
                               atol=1e-11)


def both(case):
    close(case(ember, ember.func), case(torch, torch.func))


def test_forward_with_swapped_weights_and_restore():
    def case(m, fn):
        model = mlp(m)
        before = dict(model.named_parameters())
        x = T(data(5, 3), m)
        params = {"0.weight": T(np.ones((4, 3)), m), "2.bias": T([1.0, -1.0], m)}
        out = fn.functional_call(model, params, (x,))
        out_single = fn.functional_call(model, params, x)          # args not a tuple
        after = dict(model.named_parameters())
        assert all(after[k] is before[k] for k in before)
        close(out, out_single)
        return out
    both(case)


def test_per_param_gradients_match_torch_func():
    def case(m, fn):
        model = mlp(m)
        x = T(data(6, 3), m)
        y = T(data(6, 2) + 1, m)
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss(p, x, y):
            return ((fn.functional_call(model, p, (x,)) - y) ** 2).mean()
        return fn.grad(loss)(params, x, y)
    both(case)


def test_hessian_of_mlp_loss_wrt_params_dict():
    def case(m, fn):
        model = m.nn.Sequential(m.nn.Linear(2, 3), m.nn.Tanh(), m.nn.Linear(3, 1)).double()
        local = np.random.default_rng(2)
        params = {k: T(local.standard_normal(tuple(v.shape)), m)
                  for k, v in model.named_parameters()}
        x = T(local.standard_normal((4, 2)), m)

        def loss(p):
            return (fn.functional_call(model, p, (x,)) ** 2).mean()
        h = fn.hessian(loss)(params)
        return {f"{a}|{b}": h[a][b] for a in h for b in h[a]}
    both(case)


def test_buffers_are_swapped_and_updated():
    def case(m, fn):
        bn = m.nn.BatchNorm1d(2).double()
        rm = m.zeros(2, dtype=m.float64)
        x = T(data(4, 2), m)
        out = fn.functional_call(bn, {"running_mean": rm}, (x,))
        assert bn.running_mean.abs().sum().item() == 0      # the module's own is untouched
        return {"out": out, "rm": rm}
    both(case)


def test_kwargs_and_multiple_dicts():
    class Scale(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = ember.nn.Parameter(ember.ones(2))

        def forward(self, x, *, k=1.0):
            return self.w * x * k

    model = Scale()
    w = ember.tensor([2.0, 3.0])
    out = functional_call(model, ({"w": w}, {}), (ember.ones(2),), {"k": 10.0})
    assert out.tolist() == [20.0, 30.0]
    with pytest.raises(ValueError, match=r"\['w'\] appeared in multiple dictionaries"):
        functional_call(model, ({"w": w}, {"w": w}), (ember.ones(2),))
    with pytest.raises(ValueError, match="a dict, or a list/tuple of dicts, but got int"):
        functional_call(model, 3, (ember.ones(2),))


def tied(m):
    class Tied(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = m.nn.Linear(2, 2)
            self.b = m.nn.Linear(2, 2)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))
    model = Tied().double()
    local = np.random.default_rng(3)
    with m.no_grad():
        for p in model.parameters():
            p.copy_(T(local.standard_normal(tuple(p.shape)), m))
    return model


@pytest.mark.parametrize("tie_weights", [True, False])
def test_tied_weights(tie_weights):
    def case(m, fn):
        model = tied(m)
        x = T(np.ones((1, 2)), m)
        w = T(np.eye(2) * 2, m)
        return {"a": fn.functional_call(model, {"a.weight": w}, x, tie_weights=tie_weights),
                "b": fn.functional_call(model, {"b.weight": w}, x, tie_weights=tie_weights)}
    both(case)


def test_tied_weights_conflict():
    model = tied(ember)
    w = ember.zeros(2, 2, dtype=ember.float64)
    x = ember.ones(1, 2, dtype=ember.float64)
    with pytest.raises(ValueError, match=r"multiple values for keys \['a.weight', "
                                         r"'b.weight'\], which are tied"):
        functional_call(model, {"a.weight": w, "b.weight": w + 1}, x)
    functional_call(model, {"a.weight": w, "b.weight": w}, x)      # the same tensor: fine


def test_strict_and_unexpected_keys():
    def run(m, fn, params, **kw):
        return fn.functional_call(m.nn.Linear(2, 2), params, m.ones(1, 2), **kw)

    for m, fn in ((ember, ember.func), (torch, torch.func)):
        w, b = m.zeros(2, 2), m.ones(2)
        out = run(m, fn, {"weight": w, "bias": b, "foo": b})   # non-strict: extra key ignored
        assert out.tolist() == [[1.0, 1.0]]
        with pytest.raises(RuntimeError, match="Error\\(s\\) in reparametrizing for Linear:"
                                               "\n\tUnexpected key\\(s\\): 'foo'.\n\t"
                                               "Missing key\\(s\\): 'bias'."):
            run(m, fn, {"weight": w, "foo": b}, strict=True)
        run(m, fn, {"weight": w, "bias": b}, strict=True)
        with pytest.raises(AttributeError, match="Linear has no attribute `foo`"):
            run(m, fn, {"weight": w, "foo.bar": b})
    model = ember.nn.Linear(2, 2)
    functional_call(model, {"foo": ember.ones(1)}, ember.ones(1, 2))
    assert not hasattr(model, "foo")


def test_restores_on_error_and_rejects_non_tensors():
    class Boom(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = ember.nn.Linear(2, 2)

        def forward(self, x):
            raise ValueError("boom")

    model = Boom()
    w0 = model.lin.weight
    with pytest.raises(ValueError, match="boom"):
        functional_call(model, {"lin.weight": ember.zeros(2, 2)}, ember.ones(1, 2))
    assert model.lin.weight is w0
    with pytest.raises(TypeError, match=r"the value for 'lin.weight' is a float \(3.0\), "
                                        r"not an ember.Tensor"):
        functional_call(model, {"lin.weight": 3.0}, ember.ones(1, 2))
    with pytest.raises(TypeError, match="expected an ember.nn.Module, got function"):
        functional_call(lambda x: x, {}, ember.ones(1))
