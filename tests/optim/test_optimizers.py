"""Every optimizer's trajectory and state dict against torch.optim on the same small MLP.

The model is written with plain leaf tensors (W1, b1, W2, b2) plus one leaf that never gets
a gradient, and is trained for 20 steps on the same data in Ember and in PyTorch.
"""
import copy

import numpy as np
import pytest
import torch

import ember
import ember.optim

SHAPES = {"W1": (6, 4), "b1": (6,), "W2": (3, 6), "b2": (3,), "unused": (2,)}
STEPS = 20

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.2, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, alpha=0.9, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]
NAMES = sorted({name for name, _ in CASES})


def init_arrays(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return {k: (rng.standard_normal(s) * 0.5).astype(dtype) for k, s in SHAPES.items()}


def batches(dtype, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((8, 4)).astype(dtype), rng.standard_normal((8, 3)).astype(dtype))
            for _ in range(STEPS)]


def loss_fn(lib, p, x, y):
    """A 2-layer tanh MLP's mean squared error; ``p["unused"]`` never gets a gradient."""
    h = lib.tanh(x @ p["W1"].T + p["b1"])
    return ((h @ p["W2"].T + p["b2"] - y) ** 2).mean()


class Run:
    """One library's parameters, optimizer and training loop."""

    def __init__(self, lib, name, kwargs, arrays, groups=None):
        self.lib = lib
        self.params = {k: lib.tensor(a.copy(), requires_grad=True) for k, a in arrays.items()}
        optim = getattr(lib.optim, name)
        if groups is None:
            self.opt = optim(list(self.params.values()), **kwargs)
        else:
            self.opt = optim([dict(g, params=[self.params[k] for k in g["params"]])
                              for g in groups], **kwargs)

    def step(self, x, y):
        lib = self.lib
        self.opt.zero_grad()
        loss_fn(lib, self.params, lib.tensor(x), lib.tensor(y)).backward()
        self.opt.step()

    def values(self):
        return {k: p.detach().numpy().copy() for k, p in self.params.items()}


def assert_params_close(e_vals, t_vals, rtol, atol, where=""):
    for k in SHAPES:
        np.testing.assert_allclose(e_vals[k], t_vals[k], rtol=rtol, atol=atol,
                                   err_msg=f"{k} {where}")


def run_pair(name, kwargs, dtype, rtol, atol, groups=None):
    arrays = init_arrays(dtype)
    er = Run(ember, name, kwargs, arrays, groups)
    tr = Run(torch, name, kwargs, arrays, groups)
    for i, (x, y) in enumerate(batches(dtype)):
        er.step(x, y)
        tr.step(x, y)
        assert_params_close(er.values(), tr.values(), rtol, atol, f"after step {i + 1}")
    np.testing.assert_array_equal(er.values()["unused"], arrays["unused"])
    return er, tr


def as_numpy(v):
    return v.detach().numpy() if hasattr(v, "detach") else v


def assert_state_dicts_equal(e_sd, t_sd, rtol=1e-12):
    """Same layout (keys, nesting, group entries) and the same values."""
    assert e_sd["param_groups"] == t_sd["param_groups"]
    assert e_sd["state"].keys() == t_sd["state"].keys()
    for i, t_state in t_sd["state"].items():
        e_state = e_sd["state"][i]
        assert e_state.keys() == t_state.keys(), i
        for key, tv in t_state.items():
            ev = e_state[key]
            assert isinstance(ev, ember.Tensor), (i, key)
            assert str(ev.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], (i, key)
            assert tuple(ev.shape) == tuple(tv.shape), (i, key)
            np.testing.assert_allclose(as_numpy(ev), as_numpy(tv), rtol=rtol, atol=1e-14,
                                       err_msg=f"state[{i}][{key!r}]")


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_trajectory_float64(name, kwargs):
    er, tr = run_pair(name, kwargs, np.float64, rtol=1e-9, atol=1e-12)
    assert_state_dicts_equal(er.opt.state_dict(), tr.opt.state_dict(), rtol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_trajectory_float32(name):
    kwargs = dict(CASES[[n for n, _ in CASES].index(name)][1])
    run_pair(name, kwargs, np.float32, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_with_own_lr(name):
    groups = [{"params": ["W1", "b1"], "lr": 0.003}, {"params": ["W2", "b2", "unused"]}]
    kwargs = dict(CASES[[n for n, _ in CASES].index(name)][1])
    er, tr = run_pair(name, kwargs, np.float64, rtol=1e-9, atol=1e-12, groups=groups)
    assert_state_dicts_equal(er.opt.state_dict(), tr.opt.state_dict(), rtol=1e-9)


def ember_state_dict_from_torch(sd):
    """A torch optimizer state dict with every tensor turned into an Ember tensor."""
    def conv(v):
        if isinstance(v, torch.Tensor):
            return ember.tensor(v.detach().numpy().copy())
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v
    return {"state": conv(sd["state"]), "param_groups": copy.deepcopy(sd["param_groups"])}


@pytest.mark.parametrize("name,kwargs", CASES[::2] + [CASES[-1]],
                         ids=[n for n, _ in CASES[::2] + [CASES[-1]]])
def test_state_dict_round_trip(name, kwargs):
    """Save after 10 steps, load into a fresh optimizer over fresh tensors, continue: the
    same values as an uninterrupted run; a torch state dict loads and continues the same."""
    data = batches(np.float64)
    arrays = init_arrays(np.float64)
    whole = Run(ember, name, kwargs, arrays)
    torch_run = Run(torch, name, kwargs, arrays)
    for x, y in data:
        whole.step(x, y)
    for x, y in data[:10]:
        torch_run.step(x, y)
    first = Run(ember, name, kwargs, arrays)
    for x, y in data[:10]:
        first.step(x, y)
    saved = first.opt.state_dict()
    second = Run(ember, name, dict(kwargs, lr=0.5), first.values())   # lr comes from the file
    second.opt.load_state_dict(saved)
    from_torch = Run(ember, name, kwargs, torch_run.values())
    from_torch.opt.load_state_dict(ember_state_dict_from_torch(torch_run.opt.state_dict()))
    for x, y in data[10:]:
        second.step(x, y)
        first.step(x, y)           # the source keeps going on its own state
        from_torch.step(x, y)
    # like PyTorch, loading casts NAdam's float32 mu_product to the params' float64
    rtol, atol = (1e-9, 1e-14) if name == "NAdam" else (0, 0)
    for k in SHAPES:
        np.testing.assert_allclose(second.values()[k], whole.values()[k], rtol=rtol, atol=atol,
                                   err_msg=k)
        np.testing.assert_array_equal(first.values()[k], whole.values()[k], err_msg=k)
        np.testing.assert_allclose(from_torch.values()[k], whole.values()[k], rtol=1e-9,
                                   atol=1e-12, err_msg=k)


def test_load_state_dict_casts_state_to_param_dtype_but_not_step():
    arrays = init_arrays(np.float64)
    run = Run(ember, "NAdam", dict(lr=0.01), arrays)
    for x, y in batches(np.float64)[:2]:
        run.step(x, y)
    sd = run.opt.state_dict()
    sd32 = {"param_groups": sd["param_groups"],
            "state": {i: {k: v.to(ember.float32) for k, v in s.items()}
                      for i, s in sd["state"].items()}}
    run.opt.load_state_dict(sd32)
    loaded = run.opt.state_dict()["state"][0]
    assert loaded["exp_avg"].dtype == ember.float64
    assert loaded["mu_product"].dtype == ember.float64
    assert loaded["step"].dtype == ember.float32
    assert loaded["exp_avg"] is not sd32["state"][0]["exp_avg"]


def test_adagrad_state_exists_before_the_first_step():
    arrays = init_arrays(np.float64)
    er = Run(ember, "Adagrad", dict(initial_accumulator_value=0.25), arrays)
    tr = Run(torch, "Adagrad", dict(initial_accumulator_value=0.25), arrays)
    assert_state_dicts_equal(er.opt.state_dict(), tr.opt.state_dict())


def lion_reference(arrays, data, lr, betas, weight_decay, maximize):
    """Lion as written in Chen et al. (2023), Algorithm 2, in plain NumPy."""
    b1, b2 = betas
    p = {k: a.copy() for k, a in arrays.items()}
    m = {k: np.zeros_like(a) for k, a in arrays.items() if k != "unused"}
    out = []
    for x, y in data:
        t = {k: torch.tensor(a, requires_grad=True) for k, a in p.items()}
        loss_fn(torch, t, torch.tensor(x), torch.tensor(y)).backward()
        for k in m:
            g = t[k].grad.numpy() * (-1 if maximize else 1)
            c = b1 * m[k] + (1 - b1) * g
            p[k] = p[k] - lr * (np.sign(c) + weight_decay * p[k])
            m[k] = b2 * m[k] + (1 - b2) * g
        out.append({k: a.copy() for k, a in p.items()})
    return out


@pytest.mark.parametrize("kwargs", [dict(), dict(lr=1e-3, betas=(0.8, 0.95), weight_decay=0.5),
                                    dict(lr=3e-3, weight_decay=0.1, maximize=True)])
def test_lion_matches_the_paper(kwargs):
    arrays = init_arrays(np.float64)
    data = batches(np.float64)
    full = dict(dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False), **kwargs)
    expected = lion_reference(arrays, data, **full)
    run = Run(ember, "Lion", kwargs, arrays)
    for (x, y), want in zip(data, expected):
        run.step(x, y)
        assert_params_close(run.values(), want, rtol=1e-9, atol=1e-12)
    state = run.opt.state_dict()["state"]
    assert sorted(state) == [0, 1, 2, 3] and set(state[0]) == {"exp_avg"}


def test_lion_defaults():
    opt = ember.optim.Lion([ember.zeros(2, requires_grad=True)])
    group = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    assert group == {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0, "maximize": False}
