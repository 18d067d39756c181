"""The Optimizer API against torch.optim: argument checks, param groups, zero_grad,
closures, hooks, repr and load_state_dict errors."""
import re

import numpy as np
import pytest
import torch

import ember
import ember.optim

ALL = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"]


def leaves(lib, n=3):
    return [lib.tensor(np.arange(i + 2, dtype=np.float32), requires_grad=True)
            for i in range(n)]


def same_error(make):
    """``make(lib)`` raises the same error type and message in Ember as in PyTorch (with
    PyTorch's tensor type names read as ``ember.Tensor``)."""
    with pytest.raises(Exception) as t_err:
        make(torch)
    message = re.sub(r"torch\.\w*Tensor", "ember.Tensor", str(t_err.value))
    with pytest.raises(type(t_err.value), match=re.escape(message)):
        make(ember)


BAD_ARGS = [
    ("SGD", dict(lr=-1)), ("SGD", dict(momentum=-0.5)), ("SGD", dict(weight_decay=-1e-3)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(momentum=0.9, dampening=0.1, nesterov=True)),
    ("Adam", dict(lr=-1)), ("Adam", dict(eps=-0.1)), ("Adam", dict(betas=(1.0, 0.9))),
    ("Adam", dict(betas=(0.9, 1.0))), ("Adam", dict(betas=(0.9, -0.1))),
    ("Adam", dict(weight_decay=-1)), ("Adam", dict(betas=(0, 0.9))),
    ("AdamW", dict(lr=-0.5)), ("AdamW", dict(betas=(0.9, 1.5))),
    ("RMSprop", dict(alpha=-1)), ("RMSprop", dict(momentum=-1)), ("RMSprop", dict(eps=-1)),
    ("Adagrad", dict(lr_decay=-1)), ("Adagrad", dict(initial_accumulator_value=-1)),
    ("Adagrad", dict(eps=-1)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(lr=-2)),
    ("Adamax", dict(betas=(0.9, 1.0))), ("NAdam", dict(momentum_decay=-1)),
    ("RAdam", dict(betas=(-0.1, 0.9))), ("RAdam", dict(weight_decay=-0.1)),
]


@pytest.mark.parametrize("name,kwargs", BAD_ARGS, ids=[f"{n}-{list(k)[0]}" for n, k in BAD_ARGS])
def test_bad_hyper_parameters(name, kwargs):
    same_error(lambda lib: getattr(lib.optim, name)(leaves(lib), **kwargs))


def test_lion_bad_hyper_parameters():
    p = leaves(ember)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        ember.optim.Lion(p, lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        ember.optim.Lion(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid weight_decay value: -1"):
        ember.optim.Lion(p, weight_decay=-1)


@pytest.mark.parametrize("make", [
    lambda lib, p: lib.optim.SGD([], lr=0.1),
    lambda lib, p: lib.optim.Adam(p[0]),
    lambda lib, p: lib.optim.Adam([p[0], 3.0]),
    lambda lib, p: lib.optim.Adam([p[0] * 2]),
    lambda lib, p: lib.optim.Adam([{"params": set(p)}]),
    lambda lib, p: lib.optim.SGD([{"params": p[:2]}, {"params": p[1:]}], lr=0.1),
    lambda lib, p: lib.optim.SGD([{"params": p[:1]}, {"params": [("b", p[1])]}], lr=0.1),
    lambda lib, p: lib.optim.SGD([("a", p[0]), p[1]], lr=0.1),
    lambda lib, p: lib.optim.Adam(p).add_param_group([p[0]]),
    lambda lib, p: lib.optim.Adam(p).add_param_group({"params": p[0]}),
], ids=["empty", "tensor", "non-tensor", "non-leaf", "set", "duplicate", "mixed-names",
        "missing-names", "group-not-dict", "group-duplicate"])
def test_bad_params(make):
    same_error(lambda lib: make(lib, leaves(lib)))


def test_messages_name_the_problem():
    p = leaves(ember)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        ember.optim.Adam([])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter "
                                         "group"):
        ember.optim.SGD([{"params": p[:2]}, {"params": p[1:]}], lr=0.1)


@pytest.mark.parametrize("name", ALL)
def test_defaults_and_groups_match_torch(name):
    def groups(lib):
        p = leaves(lib)
        opt = getattr(lib.optim, name)([{"params": p[:1], "lr": 0.5}, {"params": p[1:]}])
        opt.add_param_group({"params": [lib.tensor([1.0], requires_grad=True)],
                             "weight_decay": 0.25})
        return [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups], \
            opt.defaults, repr(opt)
    assert groups(ember) == groups(torch)


def test_named_params_keep_their_names():
    for lib in (ember, torch):
        p = leaves(lib, 2)
        opt = lib.optim.Adam([("w", p[0]), ("b", p[1])])
        assert opt.param_groups[0]["param_names"] == ["w", "b"]
        assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


def test_required_group_value():
    class Opt(ember.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": ember.optim.optimizer.required})
    p = leaves(ember)
    assert Opt([{"params": p, "lr": 0.1}]).param_groups[0]["lr"] == 0.1
    with pytest.raises(ValueError, match="didn't specify a value of required optimization "
                                         "parameter lr"):
        Opt(p)


def test_load_state_dict_checks_groups():
    def make(lib):
        p = leaves(lib)
        return lib.optim.Adam([{"params": p[:1]}, {"params": p[1:]}]), \
            lib.optim.Adam(p), lib.optim.Adam([{"params": p[:2]}, {"params": p[2:]}])
    for two, one, other_sizes in (make(ember), make(torch)):
        with pytest.raises(ValueError, match="loaded state dict has a different number of "
                                             "parameter groups"):
            two.load_state_dict(one.state_dict())
        with pytest.raises(ValueError, match="loaded state dict contains a parameter group "
                                             "that doesn't match the size of optimizer's group"):
            two.load_state_dict(other_sizes.state_dict())


def fill_grads(params):
    for p in params:
        (p * p).sum().backward()


def test_zero_grad_to_none_and_to_zeros():
    p = leaves(ember)
    opt = ember.optim.SGD(p, lr=0.1)
    fill_grads(p)
    grads = [q.grad for q in p]
    opt.zero_grad(set_to_none=False)
    for q, g in zip(p, grads):
        assert q.grad is g and not g.requires_grad
        np.testing.assert_array_equal(g.numpy(), np.zeros(g.shape))
    opt.zero_grad()
    assert all(q.grad is None for q in p)
    opt.zero_grad()                              # nothing to reset: no error


def test_step_skips_params_without_grad_and_keeps_no_state_for_them():
    p = leaves(ember)
    opt = ember.optim.Adam(p, lr=0.1)
    (p[0] * p[0]).sum().backward()
    before = [q.detach().numpy().copy() for q in p]
    opt.step()
    assert not np.array_equal(p[0].detach().numpy(), before[0])
    for q, b in zip(p[1:], before[1:]):
        np.testing.assert_array_equal(q.detach().numpy(), b)
    assert list(opt.state_dict()["state"]) == [0]


@pytest.mark.parametrize("name", ALL + ["Lion"])
def test_closure_is_called_once_with_grad_enabled_and_its_loss_returned(name):
    p = leaves(ember)
    opt = getattr(ember.optim, name)(p)
    calls = []

    def closure():
        calls.append(ember.is_grad_enabled())
        opt.zero_grad()
        loss = sum((q * q).sum() for q in p)
        loss.backward()
        return loss
    with ember.no_grad():
        loss = opt.step(closure)
    assert calls == [True]
    assert float(loss) == pytest.approx(sum(float((q * q).sum()) for q in leaves(ember)))
    assert opt.step() is None


def test_step_hooks():
    p = leaves(ember)
    opt = ember.optim.SGD(p, lr=0.1)
    seen = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: seen.append(("pre", o)))
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append(("post", o)))
    opt.step()
    assert seen == [("pre", opt), ("post", opt)]
    pre.remove()
    opt.step()
    assert seen[2:] == [("post", opt)]


def test_custom_optimizer_subclass():
    class SignSGD(ember.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        def step(self, closure=None):
            with ember.no_grad():
                for group in self.param_groups:
                    for q in group["params"]:
                        if q.grad is not None:
                            q.sub_(ember.sign(q.grad) * group["lr"])
                            self.state[q]["n"] = self.state[q].get("n", 0) + 1

    p = leaves(ember)
    opt = SignSGD(p)
    seen = []
    opt.register_step_post_hook(lambda *a: seen.append(1))
    fill_grads(p)
    opt.step()
    assert seen == [1]
    np.testing.assert_allclose(p[1].detach().numpy(), [0.0, 0.9, 1.9])
    assert opt.state_dict()["state"] == {0: {"n": 1}, 1: {"n": 1}, 2: {"n": 1}}


def test_step_bumps_the_parameter_version():
    p = leaves(ember, 1)[0]
    opt = ember.optim.Adam([p])
    (p * p).sum().backward()
    v = p._version
    opt.step()
    assert p._version > v


def test_tensor_lr_is_read_at_each_step():
    results = []
    for lib in (ember, torch):
        p = leaves(lib, 1)
        lr = lib.tensor(0.1)
        opt = lib.optim.SGD(p, lr=lr)
        fill_grads(p)
        opt.step()
        results.append(p[0].detach().numpy().copy())
    np.testing.assert_allclose(*results, rtol=1e-6)
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        ember.optim.Adam(leaves(ember), lr=ember.tensor([0.1, 0.2]))


@pytest.mark.parametrize("name", ALL)
def test_state_of_another_dtype_is_refused_like_torch(name):
    """A model converted after its optimizer stepped: Adam-like rules refuse the stale
    state, as PyTorch's do; SGD, RMSprop, Adagrad and Adadelta go on, as PyTorch's do."""
    for lib in (torch, ember):
        model = lib.nn.Linear(3, 2)
        opt = getattr(lib.optim, name)(model.parameters(), lr=0.1)
        model(lib.ones(4, 3)).sum().backward()
        opt.step()
        model.double()
        model(lib.ones(4, 3, dtype=lib.float64)).sum().backward()
        if name in ("SGD", "RMSprop", "Adagrad", "Adadelta"):
            opt.step()
            assert model.weight.dtype == lib.float64
        else:
            with pytest.raises(RuntimeError):
                opt.step()
