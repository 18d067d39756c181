"""ember.optim.lr_scheduler against torch.optim.lr_scheduler: learning-rate (and momentum)
sequences, state dicts, resumption, warnings and argument errors."""
import json
import math
import warnings
from collections import Counter

import pytest
import torch
import torch.optim.lr_scheduler as T

import ember
import ember.optim.lr_scheduler as E
from ember.optim.adam import Adam
from ember.optim.optimizer import Optimizer
from ember.optim.sgd import SGD

LRS = (0.1, 0.03)


def optimizers(lrs=LRS, kind="sgd", tensor_lr=False):
    """An Ember and a torch optimizer, one dummy parameter per group, group i at lrs[i]
    (a float64 0-d tensor if ``tensor_lr``)."""
    def build(lib, cls, **kw):
        groups = [{"params": [lib.zeros(1, requires_grad=True)],
                   "lr": lib.tensor(lr, dtype=lib.float64) if tensor_lr else lr} for lr in lrs]
        return cls(groups, **kw)
    if kind == "sgd":
        return (build(ember, SGD, lr=0.5, momentum=0.9),
                build(torch, torch.optim.SGD, lr=0.5, momentum=0.9))
    if kind == "adam":
        return (build(ember, Adam, betas=(0.8, 0.99)),
                build(torch, torch.optim.Adam, betas=(0.8, 0.99)))
    return build(ember, Optimizer, defaults={"lr": 0.5}), build(torch, torch.optim.Optimizer,
                                                                 defaults={"lr": 0.5})


def hyper(opt):
    """Every group's lr and momentum (or beta1) as one flat list."""
    out = []
    for g in opt.param_groups:
        out.append(float(g["lr"]))
        if "momentum" in g:
            out.append(g["momentum"])
        if "betas" in g:
            out += list(g["betas"])
    return out


def assert_close(a, b, what=""):
    assert len(a) == len(b), what
    for x, y in zip(a, b):
        assert math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-300), (what, a, b)


def assert_same_rows(a, b):
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert_close(x, y, f"row {i}")


def run(sched, opt, steps, metrics=None):
    """Hyper-parameters before training and after each of ``steps`` scheduler steps."""
    seq = [hyper(opt) + [float(lr) for lr in sched.get_last_lr()]]
    for i in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        seq.append(hyper(opt) + [float(lr) for lr in sched.get_last_lr()])
    return seq


def assert_same_run(make, steps=60, kind="sgd", lrs=LRS, metrics=None, tensor_lr=False):
    eo, to = optimizers(lrs, kind, tensor_lr)
    es, ts = make(E, eo), make(T, to)
    assert_same_rows(run(es, eo, steps, metrics), run(ts, to, steps, metrics))
    return es, ts


def plain(state):
    """A state dict in JSON-compatible form (torch's Counter of milestones as a sorted list)."""
    if isinstance(state, Counter):
        return sorted(state.elements())
    if isinstance(state, dict):
        return {k: plain(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return [plain(v) for v in state]
    return state


class Halve:
    """A callable object: its attributes go into LambdaLR's state dict."""

    def __init__(self):
        self.every = 4

    def __call__(self, epoch):
        return 0.5 ** (epoch // self.every)


def plateau_metrics(n=80):
    """A loss that improves, stalls, wobbles and improves again."""
    return [1.0 / (1 + i) if i < 15 else 0.06 + 0.01 * math.sin(i) if i < 50 else 0.05 - i * 1e-4
            for i in range(n)]


CASES = {
    "lambda": lambda L, o: L.LambdaLR(o, lambda e: 0.95 ** e),
    "lambda_per_group": lambda L, o: L.LambdaLR(o, [lambda e: 1 / (1 + e), Halve()]),
    "multiplicative": lambda L, o: L.MultiplicativeLR(o, lambda e: 0.9 if e % 2 else 1.01),
    "step": lambda L, o: L.StepLR(o, step_size=7),
    "step_gamma": lambda L, o: L.StepLR(o, 3, gamma=0.7),
    "multistep": lambda L, o: L.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.5),
    "constant": lambda L, o: L.ConstantLR(o),
    "constant_args": lambda L, o: L.ConstantLR(o, factor=0.25, total_iters=13),
    "linear": lambda L, o: L.LinearLR(o),
    "linear_down": lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=37),
    "exponential": lambda L, o: L.ExponentialLR(o, gamma=0.93),
    "polynomial": lambda L, o: L.PolynomialLR(o),
    "polynomial_pow": lambda L, o: L.PolynomialLR(o, total_iters=40, power=2.5),
    "cosine": lambda L, o: L.CosineAnnealingLR(o, T_max=10),
    "cosine_eta": lambda L, o: L.CosineAnnealingLR(o, T_max=17, eta_min=0.002),
    "warm_restarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=6),
    "warm_restarts_mult": lambda L, o: L.CosineAnnealingWarmRestarts(o, 3, T_mult=2, eta_min=1e-3),
    "cyclic": lambda L, o: L.CyclicLR(o, 0.01, [0.1, 0.2], step_size_up=5),
    "cyclic2": lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=4, step_size_down=7,
                                       mode="triangular2", base_momentum=0.7),
    "cyclic_exp": lambda L, o: L.CyclicLR(o, [0.01, 0.02], 0.1, 6, mode="exp_range", gamma=0.97),
    "onecycle": lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=60),
    "onecycle_linear": lambda L, o: L.OneCycleLR(
        o, [0.5, 2.0], epochs=6, steps_per_epoch=10, pct_start=0.25, anneal_strategy="linear",
        base_momentum=[0.8, 0.7], max_momentum=0.99, div_factor=10.0, final_div_factor=100.0),
    "onecycle_three": lambda L, o: L.OneCycleLR(o, 0.3, 61, three_phase=True, pct_start=0.4),
    "onecycle_no_momentum": lambda L, o: L.OneCycleLR(o, 0.3, 60, cycle_momentum=False),
    "sequential": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, 0.1, total_iters=8), L.CosineAnnealingLR(o, 20, 1e-4),
            L.ExponentialLR(o, 0.9)], milestones=[8, 30]),
    "sequential_nested": lambda L, o: L.SequentialLR(
        o, [L.ChainedScheduler([L.StepLR(o, 5, 0.5), L.ExponentialLR(o, 0.98)]),
            L.ConstantLR(o, 0.5, 4)], [10]),
    "chained": lambda L, o: L.ChainedScheduler(
        [L.ConstantLR(o, 0.1, 5), L.ExponentialLR(o, 0.95), L.CosineAnnealingLR(o, 25)]),
}


@pytest.mark.parametrize("name", CASES)
def test_sequence_matches_torch(name):
    assert_same_run(CASES[name])


@pytest.mark.parametrize("name", ["onecycle", "onecycle_three", "cyclic2"])
def test_adam_beta1_cycles_like_torch(name):
    assert_same_run(CASES[name], kind="adam")


@pytest.mark.parametrize("kwargs", [
    {}, {"mode": "max", "patience": 3, "factor": 0.5},
    {"threshold_mode": "abs", "threshold": 0.005, "patience": 2, "cooldown": 3},
    {"mode": "max", "threshold_mode": "abs", "patience": 0, "min_lr": [0.01, 0.001]},
    {"patience": 1, "factor": 0.3, "min_lr": 0.005, "eps": 1e-3},
])
def test_reduce_on_plateau_matches_torch(kwargs):
    metrics = plateau_metrics()
    if kwargs.get("mode") == "max":
        metrics = [-m for m in metrics]
    assert_same_run(lambda L, o: L.ReduceLROnPlateau(o, **kwargs), steps=len(metrics),
                    metrics=metrics)


CHECKPOINTED = ["lambda_per_group", "multistep", "linear_down", "cosine_eta",
                "warm_restarts_mult", "cyclic2", "onecycle_linear", "sequential_nested",
                "chained", "plateau"]


def make_checkpointed(name):
    """CASES[name], or a ReduceLROnPlateau for 'plateau' (stepped with plateau_metrics)."""
    if name == "plateau":
        return lambda L, o: L.ReduceLROnPlateau(o, patience=2, cooldown=1)
    return CASES[name]


@pytest.mark.parametrize("name", ["step", "linear", "cosine_eta", "onecycle", "sequential",
                                  "plateau"])
def test_tensor_lr_is_updated_in_place_like_torch(name):
    make = make_checkpointed(name)
    metrics = plateau_metrics() if name == "plateau" else None
    es, _ = assert_same_run(make, steps=40, metrics=metrics, tensor_lr=True)
    lr = es.optimizer.param_groups[0]["lr"]
    assert isinstance(lr, ember.Tensor) and lr is not es.get_last_lr()[0]
    if hasattr(es, "base_lrs"):
        assert es.base_lrs[0] is not lr


def test_reduce_on_plateau_takes_a_tensor_metric():
    eo, to = optimizers()
    es, ts = E.ReduceLROnPlateau(eo, patience=0), T.ReduceLROnPlateau(to, patience=0)
    for m in [1.0, 2.0, 3.0]:
        es.step(ember.tensor(m))
        ts.step(torch.tensor(m))
    assert_close(es.get_last_lr(), ts.get_last_lr())


@pytest.mark.parametrize("name", CHECKPOINTED)
def test_state_dict_matches_torch_and_resumes(name):
    make = make_checkpointed(name)
    metrics = plateau_metrics() if name == "plateau" else None
    eo, to = optimizers()
    es, ts = make(E, eo), make(T, to)
    run(es, eo, 23, metrics)
    run(ts, to, 23, metrics)
    state = es.state_dict()
    assert plain(state) == plain(ts.state_dict())
    saved = json.loads(json.dumps(state))
    saved_opt = eo.state_dict()
    # resume as a user would: new optimizer and scheduler, then load both states
    eo2 = optimizers()[0]
    es2 = make(E, eo2)
    eo2.load_state_dict(saved_opt)
    es2.load_state_dict(saved)
    tail = metrics[23:] if metrics else None
    assert_same_rows(run(es2, eo2, 30, tail), run(ts, to, 30, tail))


def test_torch_state_dict_loads_into_ember():
    eo, to = optimizers()
    es, ts = CASES["multistep"](E, eo), CASES["multistep"](T, to)
    run(ts, to, 9)
    es.load_state_dict(ts.state_dict())
    eo.param_groups[0]["lr"], eo.param_groups[1]["lr"] = ts.get_last_lr()
    assert_same_rows(run(es, eo, 30), run(ts, to, 30))


def test_lambda_functions_are_not_saved():
    eo, to = optimizers()
    es, ts = CASES["lambda_per_group"](E, eo), CASES["lambda_per_group"](T, to)
    assert es.state_dict()["lr_lambdas"] == ts.state_dict()["lr_lambdas"] == [None, {"every": 4}]
    eo2 = optimizers()[0]
    es2 = E.LambdaLR(eo2, [lambda e: 1.0, Halve()])
    es2.load_state_dict({**es.state_dict(), "lr_lambdas": [None, {"every": 9}]})
    assert es2.lr_lambdas[1].every == 9


RESUMABLE = {
    "step": lambda L, o, e: L.StepLR(o, 4, 0.5, last_epoch=e),
    "multistep": lambda L, o, e: L.MultiStepLR(o, [3, 8, 8], 0.5, last_epoch=e),
    "linear": lambda L, o, e: L.LinearLR(o, 0.2, 0.9, 10, last_epoch=e),
    "exponential": lambda L, o, e: L.ExponentialLR(o, 0.9, last_epoch=e),
    "polynomial": lambda L, o, e: L.PolynomialLR(o, 12, 1.5, last_epoch=e),
    "cosine": lambda L, o, e: L.CosineAnnealingLR(o, 17, 0.002, last_epoch=e),
    "warm_restarts": lambda L, o, e: L.CosineAnnealingWarmRestarts(o, 3, 2, last_epoch=e),
}


@pytest.mark.parametrize("name", RESUMABLE)
def test_resume_with_last_epoch(name):
    eo, to = optimizers()
    for opt in (eo, to):
        for g in opt.param_groups:
            g["initial_lr"] = 2 * g["lr"]
    es, ts = RESUMABLE[name](E, eo, 4), RESUMABLE[name](T, to, 4)
    assert_same_rows(run(es, eo, 30), run(ts, to, 30))


@pytest.mark.parametrize("make,epochs", [
    (lambda L, o: L.StepLR(o, 4, 0.5), [3, 9, 4, 20]),
    (lambda L, o: L.MultiStepLR(o, [2, 6, 6], 0.3), [1, 7, 3, 6]),
    (lambda L, o: L.LinearLR(o, 0.2, 0.9, 10), [4, 15, 2]),
    (lambda L, o: L.CosineAnnealingLR(o, 12, 0.01), [5, 30, 1]),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, 3, 2), [0.5, 4.25, 11, 30.5, 2]),
    (lambda L, o: L.LambdaLR(o, lambda e: 1 / (e + 1)), [3, 8]),
])
def test_step_with_epoch_uses_closed_form_and_warns(make, epochs):
    eo, to = optimizers()
    es, ts = make(E, eo), make(T, to)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in epochs:
            to.step()
            ts.step(epoch)
            eo.step()
            es.step(epoch)
            assert_close(hyper(eo) + es.get_last_lr(), hyper(to) + ts.get_last_lr())
            assert es.last_epoch == ts.last_epoch


def test_deprecated_epoch_warns():
    eo, _ = optimizers()
    sched = E.StepLR(eo, 3)
    eo.step()
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(2)


def test_get_lr_outside_step_warns():
    eo, _ = optimizers()
    sched = E.ExponentialLR(eo, 0.5)
    with pytest.warns(UserWarning, match="get_last_lr"):
        assert sched.get_lr() == [0.05, 0.015]


def test_step_order_warning():
    eo, _ = optimizers()
    sched = E.StepLR(eo, 3)
    with pytest.warns(UserWarning, match=r"before `optimizer.step\(\)`"):
        sched.step()
    eo2, _ = optimizers()
    sched2 = E.StepLR(eo2, 3)
    eo2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


def test_onecycle_past_total_steps_raises():
    eo, to = optimizers()
    scheds = [E.OneCycleLR(eo, 1.0, total_steps=3), T.OneCycleLR(to, 1.0, total_steps=3)]
    for sched, opt in zip(scheds, (eo, to)):
        for _ in range(3):
            opt.step()
            sched.step()
        with pytest.raises(ValueError, match="total steps is 3"):
            sched.step()


BAD = {
    "not_optimizer": lambda L, o: L.StepLR([1.0], 3),
    "resume_without_initial_lr": lambda L, o: L.StepLR(o, 3, last_epoch=4),
    "lambda_count": lambda L, o: L.LambdaLR(o, [lambda e: 1.0]),
    "multiplicative_not_callable": lambda L, o: L.MultiplicativeLR(o, [1.0, 2.0]),
    "constant_factor": lambda L, o: L.ConstantLR(o, factor=1.5),
    "linear_start": lambda L, o: L.LinearLR(o, start_factor=0.0),
    "linear_end": lambda L, o: L.LinearLR(o, end_factor=1.5),
    "restarts_T0": lambda L, o: L.CosineAnnealingWarmRestarts(o, 0),
    "restarts_T0_float": lambda L, o: L.CosineAnnealingWarmRestarts(o, 2.5),
    "restarts_Tmult": lambda L, o: L.CosineAnnealingWarmRestarts(o, 3, T_mult=0),
    "restarts_eta": lambda L, o: L.CosineAnnealingWarmRestarts(o, 3, eta_min="0"),
    "restarts_negative_epoch": lambda L, o: L.CosineAnnealingWarmRestarts(o, 3).step(-1),
    "cyclic_mode": lambda L, o: L.CyclicLR(o, 0.01, 0.1, mode="sine"),
    "cyclic_max_lr_count": lambda L, o: L.CyclicLR(o, 0.01, [0.1, 0.2, 0.3]),
    "onecycle_no_length": lambda L, o: L.OneCycleLR(o, 1.0),
    "onecycle_epochs_only": lambda L, o: L.OneCycleLR(o, 1.0, epochs=3),
    "onecycle_total_zero": lambda L, o: L.OneCycleLR(o, 1.0, total_steps=0),
    "onecycle_epochs_zero": lambda L, o: L.OneCycleLR(o, 1.0, epochs=0, steps_per_epoch=3),
    "onecycle_pct_int": lambda L, o: L.OneCycleLR(o, 1.0, 10, pct_start=1),
    "onecycle_pct_range": lambda L, o: L.OneCycleLR(o, 1.0, 10, pct_start=1.5),
    "onecycle_anneal": lambda L, o: L.OneCycleLR(o, 1.0, 10, anneal_strategy="exp"),
    "onecycle_max_lr_count": lambda L, o: L.OneCycleLR(o, [1.0], 10),
    "onecycle_momentum_count": lambda L, o: L.OneCycleLR(o, 1.0, 10, base_momentum=[0.8] * 3),
    "sequential_milestones": lambda L, o: L.SequentialLR(
        o, [L.StepLR(o, 2), L.StepLR(o, 3)], milestones=[3, 6]),
    "sequential_empty": lambda L, o: L.SequentialLR(o, [], milestones=[]),
    "sequential_plateau": lambda L, o: L.SequentialLR(
        o, [L.StepLR(o, 2), L.ReduceLROnPlateau(o)], milestones=[3]),
    "sequential_not_scheduler": lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), 3], [3]),
    "chained_empty": lambda L, o: L.ChainedScheduler([]),
    "plateau_mode": lambda L, o: L.ReduceLROnPlateau(o, mode="maximum"),
    "plateau_threshold_mode": lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="relative"),
    "plateau_factor": lambda L, o: L.ReduceLROnPlateau(o, factor=1.0),
    "plateau_min_lr_count": lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0.1]),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_arguments_raise_like_torch(name):
    eo, to = optimizers()
    with pytest.raises(Exception) as expected:
        BAD[name](T, to)
    with pytest.raises(expected.type):
        BAD[name](E, eo)


def test_bad_argument_messages_name_the_value():
    eo, _ = optimizers()
    with pytest.raises(ValueError, match="ConstantLR.*1.5"):
        E.ConstantLR(eo, factor=1.5)
    with pytest.raises(ValueError, match="factor should be < 1.0.*2"):
        E.ReduceLROnPlateau(eo, factor=2)
    with pytest.raises(ValueError, match="mode maximum is unknown"):
        E.ReduceLROnPlateau(eo, mode="maximum")
    with pytest.raises(ValueError, match="number of schedulers 2.*milestones to be equal to 2"):
        BAD["sequential_milestones"](E, eo)


def test_momentum_cycling_needs_momentum():
    eo, to = optimizers(kind="plain")
    for L, opt in ((T, to), (E, eo)):
        with pytest.raises(ValueError, match="momentum or beta1"):
            L.OneCycleLR(opt, 1.0, 10)
        with pytest.raises(ValueError, match="momentum or beta1"):
            L.CyclicLR(opt, 0.01, 0.1)


def test_sequential_rejects_other_optimizer():
    eo, to = optimizers()
    eo2, to2 = optimizers()
    for L, a, b in ((T, to, to2), (E, eo, eo2)):
        with pytest.raises(ValueError, match="same optimizer"):
            L.SequentialLR(a, [L.StepLR(a, 2), L.StepLR(b, 2)], [3])
