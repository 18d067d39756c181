"""keras.optimizers: trajectories against NumPy re-implementations of Keras 3's documented
update rules (float64), and against torch where the rules coincide; clipping, weight decay,
schedules, the trainer-facing interface and bad input."""
import math
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.keras import optimizers
from ember.keras.optimizers import schedules

RNG = np.random.default_rng(0)
START = RNG.normal(size=(3, 2))
GRADS = [RNG.normal(size=(3, 2)) for _ in range(5)]


def _run(opt, grads=GRADS, start=START):
    """Ember's trajectory: the parameter after each step."""
    w = nn.Parameter(ember.tensor(start.copy()))
    out = []
    for g in grads:
        opt.apply_gradients([(ember.tensor(g), w)])
        out.append(w.detach().numpy().copy())
    return out


def _reference(update, state, grads=GRADS, start=START, lr=lambda t: None):
    """NumPy trajectory of ``update(w, g, state, t)`` (t is 1-based)."""
    w, out = start.copy(), []
    for t, g in enumerate(grads, 1):
        w = update(w, g, state, t)
        out.append(w.copy())
    return out


def _assert_same(got, want, rtol=1e-9):
    for step, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12, err_msg=f"step {step + 1}")


def keras_sgd(lr, momentum=0.0, nesterov=False):
    def update(w, g, s, t):
        if momentum == 0:
            return w - lr * g
        s["m"] = momentum * s.get("m", 0) - lr * g
        return w + (momentum * s["m"] - lr * g if nesterov else s["m"])
    return update


def keras_adam(lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False):
    def update(w, g, s, t):
        s["m"] = s.get("m", 0) + (g - s.get("m", 0)) * (1 - b1)
        s["v"] = s.get("v", 0) + (g * g - s.get("v", 0)) * (1 - b2)
        v = s["v"]
        if amsgrad:
            s["vhat"] = v = np.maximum(s.get("vhat", 0), v)
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return w - s["m"] * alpha / (np.sqrt(v) + eps)
    return update


def keras_rmsprop(lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    def update(w, g, s, t):
        s["v"] = rho * s.get("v", 0) + (1 - rho) * g * g
        denom = s["v"] + eps
        if centered:
            s["a"] = rho * s.get("a", 0) + (1 - rho) * g
            denom = s["v"] - s["a"] ** 2 + eps
        inc = lr * g / np.sqrt(denom)
        if momentum > 0:
            s["m"] = momentum * s.get("m", 0) + inc
            return w - s["m"]
        return w - inc
    return update


def keras_adagrad(lr, init=0.1, eps=1e-7):
    def update(w, g, s, t):
        s["acc"] = s.get("acc", init) + g * g
        return w - lr * g / np.sqrt(s["acc"] + eps)
    return update


def keras_adadelta(lr, rho=0.95, eps=1e-7):
    def update(w, g, s, t):
        s["ag"] = rho * s.get("ag", 0) + (1 - rho) * g * g
        delta = -np.sqrt(s.get("ad", 0) + eps) * g / np.sqrt(s["ag"] + eps)
        s["ad"] = rho * s.get("ad", 0) + (1 - rho) * delta * delta
        return w + lr * delta
    return update


def keras_adamax(lr, b1=0.9, b2=0.999, eps=1e-7):
    def update(w, g, s, t):
        s["m"] = s.get("m", 0) + (g - s.get("m", 0)) * (1 - b1)
        s["u"] = np.maximum(b2 * s.get("u", 0), np.abs(g))
        return w - lr * s["m"] / ((1 - b1 ** t) * (s["u"] + eps))
    return update


def keras_nadam(lr, b1=0.9, b2=0.999, eps=1e-7):
    def update(w, g, s, t):
        u_t = b1 * (1 - 0.5 * 0.96 ** t)
        u_next = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        s["prod"] = prod = s.get("prod", 1.0) * u_t
        s["m"] = s.get("m", 0) + (g - s.get("m", 0)) * (1 - b1)
        s["v"] = s.get("v", 0) + (g * g - s.get("v", 0)) * (1 - b2)
        m_hat = u_next * s["m"] / (1 - prod * u_next) + (1 - u_t) * g / (1 - prod)
        v_hat = s["v"] / (1 - b2 ** t)
        return w - m_hat * lr / (np.sqrt(v_hat) + eps)
    return update


def keras_lion(lr, b1=0.9, b2=0.99):
    def update(w, g, s, t):
        m = s.get("m", 0)
        w = w - lr * np.sign(m * b1 + g * (1 - b1))
        s["m"] = m * b2 + g * (1 - b2)
        return w
    return update


@pytest.mark.parametrize("make, reference", [
    (lambda: optimizers.SGD(0.1), keras_sgd(0.1)),
    (lambda: optimizers.SGD(0.1, momentum=0.9), keras_sgd(0.1, 0.9)),
    (lambda: optimizers.SGD(0.1, momentum=0.5, nesterov=True), keras_sgd(0.1, 0.5, True)),
    (lambda: optimizers.Adam(0.01), keras_adam(0.01)),
    (lambda: optimizers.Adam(0.01, beta_1=0.8, beta_2=0.9, epsilon=0.1, amsgrad=True),
     keras_adam(0.01, 0.8, 0.9, 0.1, amsgrad=True)),
    (lambda: optimizers.RMSprop(0.01), keras_rmsprop(0.01)),
    (lambda: optimizers.RMSprop(0.01, rho=0.8, momentum=0.9, epsilon=0.01, centered=True),
     keras_rmsprop(0.01, 0.8, 0.9, 0.01, centered=True)),
    (lambda: optimizers.Adagrad(0.05), keras_adagrad(0.05)),
    (lambda: optimizers.Adagrad(0.05, initial_accumulator_value=0.0, epsilon=0.5),
     keras_adagrad(0.05, 0.0, 0.5)),
    (lambda: optimizers.Adadelta(1.0), keras_adadelta(1.0)),
    (lambda: optimizers.Adamax(0.02, epsilon=0.3), keras_adamax(0.02, eps=0.3)),
    (lambda: optimizers.Nadam(0.01), keras_nadam(0.01)),
    (lambda: optimizers.Lion(0.01), keras_lion(0.01)),
])
def test_trajectories_follow_keras_update_rules(make, reference):
    _assert_same(_run(make()), _reference(reference, {}), rtol=1e-6)


def test_plain_sgd_and_adadelta_match_torch():
    for ours, theirs in [(optimizers.SGD(0.05), lambda p: torch.optim.SGD(p, lr=0.05)),
                         (optimizers.Adadelta(0.5, rho=0.9, epsilon=1e-6),
                          lambda p: torch.optim.Adadelta(p, lr=0.5, rho=0.9, eps=1e-6))]:
        w = torch.tensor(START.copy(), requires_grad=True)
        opt, want = theirs([w]), []
        for g in GRADS:
            w.grad = torch.tensor(g)
            opt.step()
            want.append(w.detach().numpy().copy())
        _assert_same(_run(ours), want)


def test_keras_defaults():
    assert optimizers.SGD().get_config()["learning_rate"] == 0.01
    adam = optimizers.Adam().get_config()
    assert (adam["learning_rate"], adam["beta_1"], adam["beta_2"], adam["epsilon"]) == \
        (0.001, 0.9, 0.999, 1e-7)
    assert optimizers.AdamW().weight_decay == 0.004
    rms = optimizers.RMSprop().get_config()
    assert (rms["rho"], rms["momentum"], rms["epsilon"], rms["centered"]) == \
        (0.9, 0.0, 1e-7, False)
    assert optimizers.Adagrad().get_config()["initial_accumulator_value"] == 0.1
    assert [optimizers.get(n).name for n in ("sgd", "adam", "rmsprop", "adamw")] == \
        ["SGD", "adam", "rmsprop", "adamw"]


def test_weight_decay_is_decoupled_and_applied_before_the_update():
    lr, wd = 0.1, 0.2
    got = _run(optimizers.AdamW(lr, weight_decay=wd))
    adam = keras_adam(lr)
    _assert_same(got, _reference(lambda w, g, s, t: adam(w - w * wd * lr, g, s, t), {}),
                 rtol=1e-6)
    got = _run(optimizers.SGD(lr, momentum=0.9, weight_decay=wd))
    sgd = keras_sgd(lr, 0.9)
    _assert_same(got, _reference(lambda w, g, s, t: sgd(w - w * wd * lr, g, s, t), {}))


def test_exclude_from_weight_decay_by_name():
    w, b = nn.Parameter(ember.ones(2)), nn.Parameter(ember.ones(2))
    b.name = "dense/bias"
    opt = optimizers.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    zero = ember.zeros(2)
    opt.apply_gradients([(zero, w), (zero, b)])
    np.testing.assert_allclose(w.detach().numpy(), [0.95, 0.95], rtol=1e-6)
    np.testing.assert_allclose(b.detach().numpy(), [1.0, 1.0])
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["x"])


def test_clipping_options():
    g1, g2 = np.array([3.0, 4.0]), np.array([0.0, 12.0])

    def step(**kwargs):
        a, b = nn.Parameter(ember.zeros(2, dtype=ember.float64)), \
            nn.Parameter(ember.zeros(2, dtype=ember.float64))
        optimizers.SGD(1.0, **kwargs).apply_gradients([(ember.tensor(g1), a),
                                                       (ember.tensor(g2), b)])
        return -a.detach().numpy(), -b.detach().numpy()
    a, b = step(clipnorm=1.0)
    np.testing.assert_allclose(a, g1 / 5)
    np.testing.assert_allclose(b, g2 / 12)
    a, b = step(global_clipnorm=2.6)
    np.testing.assert_allclose(np.concatenate([a, b]), np.concatenate([g1, g2]) * 0.2)
    a, b = step(clipvalue=3.5)
    np.testing.assert_allclose(np.concatenate([a, b]), [3.0, 3.5, 0.0, 3.5])
    a, _ = step(clipnorm=100.0)
    np.testing.assert_allclose(a, g1)
    with pytest.raises(ValueError, match=r"Only one of `clipnorm`, `clipvalue` and "
                                         r"`global_clipnorm` can be set"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


def test_schedule_is_evaluated_at_each_iteration():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    opt = optimizers.SGD(schedule)
    got = _run(opt)
    want = _reference(lambda w, g, s, t: w - 0.1 * 0.5 ** ((t - 1) / 2) * g, {})
    _assert_same(got, want)
    assert opt.iterations == 5
    assert opt.learning_rate == pytest.approx(0.1 * 0.5 ** 2.5)
    with pytest.raises(TypeError, match="learning rate is not settable"):
        opt.learning_rate = 0.01


def test_learning_rate_can_be_set_after_build_and_momentum_keeps_keras_form():
    opt = optimizers.SGD(0.1, momentum=0.9)
    w = nn.Parameter(ember.tensor(START.copy()))
    s, ref = {}, START.copy()
    for i, g in enumerate(GRADS):
        lr = 0.1 if i < 2 else 0.02
        opt.learning_rate = lr
        assert opt.learning_rate == lr
        opt.apply_gradients([(ember.tensor(g), w)])
        ref = keras_sgd(lr, 0.9)(ref, g, s, i + 1)
    np.testing.assert_allclose(w.detach().numpy(), ref, rtol=1e-9)
    opt.learning_rate = lambda: 0.5
    assert opt.learning_rate == 0.5


def test_step_from_grads_uses_dot_grad_and_skips_missing():
    a, b = nn.Parameter(ember.ones(2)), nn.Parameter(ember.ones(2))
    opt = optimizers.SGD(0.5)
    opt.build([a, b])
    opt.build([b])                              # idempotent
    (a * a).sum().backward()
    opt.step_from_grads()
    np.testing.assert_allclose(a.detach().numpy(), [0.0, 0.0])
    np.testing.assert_allclose(b.detach().numpy(), [1.0, 1.0])
    assert a.grad is not None and opt.iterations == 1


def test_apply_with_list_and_none_gradients():
    a, b = nn.Parameter(ember.ones(2)), nn.Parameter(ember.ones(2))
    opt = optimizers.Adam(0.1)
    opt.build([a, b])
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables"):
        opt.apply([ember.ones(2), None])
    assert not np.allclose(a.detach().numpy(), 1.0)
    np.testing.assert_allclose(b.detach().numpy(), [1.0, 1.0])
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        opt.apply([None, None])


def test_adam_counts_keras_iterations_when_a_variable_skipped_steps():
    a, b = nn.Parameter(ember.tensor(START.copy())), nn.Parameter(ember.tensor(START.copy()))
    opt = optimizers.Adam(0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt.apply_gradients([(ember.tensor(GRADS[0]), a), (None, b)])
    for g in GRADS[1:3]:
        opt.apply_gradients([(ember.tensor(g), a), (ember.tensor(g), b)])
    adam, s, ref = keras_adam(0.01), {}, START.copy()
    for t, g in enumerate(GRADS[1:3], 2):       # b's first update is Keras's step 2
        ref = adam(ref, g, s, t)
    np.testing.assert_allclose(b.detach().numpy(), ref, rtol=1e-6)


def test_config_round_trip_with_schedule_and_get():
    opt = optimizers.RMSprop(schedules.CosineDecay(0.1, 100), momentum=0.5, clipnorm=1.0,
                             name="rms")
    config = opt.get_config()
    again = optimizers.RMSprop.from_config(config)
    assert again.get_config() == config
    assert again.learning_rate == pytest.approx(0.1)
    via_get = optimizers.get({"class_name": "RMSprop", "config": config})
    assert isinstance(via_get, optimizers.RMSprop) and via_get.momentum == 0.5
    assert optimizers.get(opt) is opt
    assert isinstance(optimizers.get(optimizers.Nadam), optimizers.Nadam)


def test_variables_and_bad_input():
    w = nn.Parameter(ember.ones(2))
    opt = optimizers.Adam()
    assert opt.variables == []
    opt.build([w])
    assert sum(v.numel() for v in opt.variables if v.ndim) == 4      # m and v
    with pytest.raises(ValueError, match=r"Unknown variable"):
        opt.apply_gradients([(ember.ones(2), nn.Parameter(ember.ones(2)))])
    with pytest.raises(ValueError, match=r"gradient of variable .* has shape \(3,\), "
                                         r"expected the variable's shape \(2,\)"):
        opt.apply_gradients([(ember.ones(3), w)])
    with pytest.raises(ValueError, match=r"Could not interpret optimizer identifier: "
                                         r"'adamm'(.|\n)*adam"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match=r"learning_rate='fast'"):
        optimizers.SGD(learning_rate="fast")
    with pytest.raises(ValueError, match=r"`momentum` must be a float between \[0, 1\]"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match=r"use_ema=True"):
        optimizers.Adam(use_ema=True)
    with pytest.raises(ValueError, match=r"not recognized: \{'betas'"):
        optimizers.Adam(betas=(0.9, 0.99))
    with pytest.raises(ValueError, match="build"):
        optimizers.SGD().step_from_grads()
