"""keras.optimizers.schedules against NumPy formulas from Keras's documentation."""
import math

import numpy as np
import pytest

from ember.keras.optimizers import schedules

STEPS = [0, 1, 5, 10, 17, 30, 100]


def _check(schedule, formula):
    for step in STEPS:
        assert schedule(step) == pytest.approx(formula(step), rel=1e-12, abs=1e-15), step
    np.testing.assert_allclose(schedule(np.array(STEPS)), [formula(s) for s in STEPS],
                               rtol=1e-12)


def test_exponential_and_inverse_time_decay():
    _check(schedules.ExponentialDecay(0.1, 10, 0.5), lambda s: 0.1 * 0.5 ** (s / 10))
    _check(schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True),
           lambda s: 0.1 * 0.5 ** (s // 10))
    _check(schedules.InverseTimeDecay(0.1, 10, 0.5), lambda s: 0.1 / (1 + 0.5 * s / 10))
    _check(schedules.InverseTimeDecay(0.1, 10, 0.5, staircase=True),
           lambda s: 0.1 / (1 + 0.5 * (s // 10)))


def test_piecewise_constant_boundaries_are_inclusive_on_the_left_piece():
    def formula(s):
        return 1.0 if s <= 5 else 0.5 if s <= 17 else 0.1
    _check(schedules.PiecewiseConstantDecay([5, 17], [1.0, 0.5, 0.1]), formula)


def test_polynomial_decay_with_and_without_cycle():
    def plain(s):
        s = min(s, 20)
        return (0.1 - 0.001) * (1 - s / 20) ** 2 + 0.001

    def cycled(s):
        steps = 20 * (1 if s == 0 else math.ceil(s / 20))
        return (0.1 - 0.001) * (1 - s / steps) ** 2 + 0.001
    _check(schedules.PolynomialDecay(0.1, 20, 0.001, power=2), plain)
    _check(schedules.PolynomialDecay(0.1, 20, 0.001, power=2, cycle=True), cycled)
    assert schedules.PolynomialDecay(0.1, 20).end_learning_rate == 0.0001


def test_cosine_decay_with_and_without_warmup():
    def plain(s):
        s = min(s, 30)
        return 0.1 * ((1 - 0.1) * 0.5 * (1 + math.cos(math.pi * s / 30)) + 0.1)

    def warm(s):
        s = min(s, 40)
        if s < 10:
            return (1.0 - 0.1) * s / 10 + 0.1
        return 1.0 * 0.5 * (1 + math.cos(math.pi * (s - 10) / 30))
    _check(schedules.CosineDecay(0.1, 30, alpha=0.1), plain)
    _check(schedules.CosineDecay(0.1, 30, warmup_target=1.0, warmup_steps=10), warm)


def test_cosine_decay_restarts():
    def formula(s, first=10, t_mul=2.0, m_mul=0.5, alpha=0.0):
        fraction = s / first
        if t_mul == 1.0:
            i = math.floor(fraction)
            fraction -= i
        else:
            i = math.floor(math.log(1 - fraction * (1 - t_mul)) / math.log(t_mul))
            fraction = (fraction - (1 - t_mul ** i) / (1 - t_mul)) / t_mul ** i
        return 0.1 * ((1 - alpha) * 0.5 * m_mul ** i * (1 + math.cos(math.pi * fraction))
                      + alpha)
    _check(schedules.CosineDecayRestarts(0.1, 10, m_mul=0.5), formula)
    _check(schedules.CosineDecayRestarts(0.1, 10, t_mul=1.0, alpha=0.2),
           lambda s: formula(s, t_mul=1.0, m_mul=1.0, alpha=0.2))


@pytest.mark.parametrize("schedule", [
    schedules.ExponentialDecay(0.1, 10, 0.9, staircase=True),
    schedules.PiecewiseConstantDecay([3], [0.1, 0.01]),
    schedules.PolynomialDecay(0.1, 10, cycle=True), schedules.InverseTimeDecay(0.1, 5, 2.0),
    schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=3),
    schedules.CosineDecayRestarts(0.1, 10)])
def test_config_round_trip(schedule):
    again = schedules.deserialize(schedules.serialize(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    assert again(7) == schedule(7)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"`decay_steps` must be > 0. Received: decay_steps=0"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match=r"length of boundaries should be 1 less than the "
                                         r"length of values"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(NotImplementedError, match=r"must override `__call__"):
        schedules.LearningRateSchedule()(0)
