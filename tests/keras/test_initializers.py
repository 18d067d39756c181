"""keras.initializers: Keras's fans, distributions, seeding and identifiers."""
import math

import numpy as np
import pytest
import torch

import ember
from ember.keras import initializers


@pytest.mark.parametrize("keras_shape", [(5,), (4, 7), (3, 3, 2, 8), (5, 4, 6), (2, 3, 4, 5, 6)])
def test_fans_match_torch_for_the_same_weight_in_torch_layout(keras_shape):
    # Keras keeps (receptive..., in, out); torch keeps (out, in, receptive...)
    if len(keras_shape) == 1:
        fan_in, fan_out = initializers.compute_fans(keras_shape)
        assert fan_in == fan_out == keras_shape[0]
        return
    torch_shape = (keras_shape[-1], keras_shape[-2]) + keras_shape[:-2]
    expect = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(torch_shape))
    assert initializers.compute_fans(keras_shape) == tuple(float(f) for f in expect)


def test_glorot_uniform_stays_in_its_limit_with_the_uniform_variance():
    shape = (200, 300)
    w = initializers.GlorotUniform(seed=3)(shape).numpy()
    limit = math.sqrt(6.0 / (200 + 300))
    assert w.dtype == np.float32 and w.shape == shape
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert abs(w.var() - limit ** 2 / 3) < 0.03 * limit ** 2 / 3


@pytest.mark.parametrize("cls,scale,fan", [(initializers.HeNormal, 2.0, "in"),
                                           (initializers.LecunNormal, 1.0, "in"),
                                           (initializers.GlorotNormal, 1.0, "avg")])
def test_truncated_normal_presets_have_the_target_variance(cls, scale, fan):
    shape = (3, 3, 32, 64)
    fan_in, fan_out = 3 * 3 * 32, 3 * 3 * 64
    n = fan_in if fan == "in" else (fan_in + fan_out) / 2
    w = cls(seed=0)(shape).numpy().astype(np.float64)
    assert abs(w.std() - math.sqrt(scale / n)) < 0.02 * math.sqrt(scale / n)
    # truncation at two standard deviations of the pre-correction normal
    assert np.abs(w).max() <= 2 * math.sqrt(scale / n) / 0.87962566103423978 + 1e-6


def test_he_uniform_and_lecun_uniform_limits():
    for cls, scale in [(initializers.HeUniform, 6.0), (initializers.LecunUniform, 3.0)]:
        w = cls(seed=1)((100, 50)).numpy()
        limit = math.sqrt(scale / 100)
        assert np.abs(w).max() <= limit and np.abs(w).max() > 0.98 * limit


def test_random_normal_uniform_and_truncated_normal_parameters():
    assert abs(initializers.RandomNormal(1.0, 0.5, seed=0)((20000,)).numpy().mean() - 1.0) < 0.02
    u = initializers.RandomUniform(-2.0, 3.0, seed=0)((20000,)).numpy()
    assert u.min() >= -2.0 and u.max() <= 3.0 and abs(u.mean() - 0.5) < 0.05
    t = initializers.TruncatedNormal(0.0, 0.1, seed=0)((20000,)).numpy()
    assert np.abs(t).max() <= 0.2 + 1e-6


def test_an_int_seed_repeats_its_values_and_no_seed_follows_manual_seed():
    init = initializers.GlorotUniform(seed=7)
    assert np.array_equal(init((4, 4)).numpy(), init((4, 4)).numpy())
    unseeded = initializers.GlorotUniform()
    ember.manual_seed(11)
    a, b = unseeded((4, 4)).numpy(), unseeded((4, 4)).numpy()
    ember.manual_seed(11)
    assert np.array_equal(a, unseeded((4, 4)).numpy())
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("shape", [(6, 3), (3, 6), (2, 3, 4)])
def test_orthogonal_has_orthonormal_columns_or_rows(shape):
    w = initializers.Orthogonal(gain=2.0, seed=0)(shape).numpy().astype(np.float64)
    flat = w.reshape(-1, shape[-1])
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    assert np.allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-5)


def test_constant_zeros_ones_identity_and_dtype():
    assert initializers.Constant(2.5)((2, 2), dtype="float64").numpy().tolist() == [[2.5] * 2] * 2
    assert initializers.Zeros()((3,)).numpy().sum() == 0
    assert initializers.Ones()((3,), dtype="int32").dtype == ember.int32
    assert np.array_equal(initializers.Identity(3.0)((2, 3)).numpy(), 3.0 * np.eye(2, 3))
    with pytest.raises(ValueError, match="Identity.*2-D"):
        initializers.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="Orthogonal.*at least 2"):
        initializers.Orthogonal()((4,))


def test_get_accepts_names_class_names_configs_instances_and_refuses_unknown():
    assert isinstance(initializers.get("he_normal"), initializers.HeNormal)
    assert isinstance(initializers.get("HeNormal"), initializers.HeNormal)
    inst = initializers.RandomNormal(stddev=0.3)
    assert initializers.get(inst) is inst
    again = initializers.deserialize(initializers.serialize(inst))
    assert isinstance(again, initializers.RandomNormal) and again.stddev == 0.3
    assert initializers.get(None) is None
    with pytest.raises(ValueError, match="Could not interpret initializer identifier: "
                                         "'glorot_unifrom'.*glorot_uniform"):
        initializers.get("glorot_unifrom")


def test_variance_scaling_refuses_bad_arguments():
    with pytest.raises(ValueError, match="scale.*positive"):
        initializers.VarianceScaling(scale=0.0)
    with pytest.raises(ValueError, match="mode.*'fan_sum'"):
        initializers.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match="distribution.*'cauchy'"):
        initializers.VarianceScaling(distribution="cauchy")
    with pytest.raises(ValueError, match="seed must be an int"):
        initializers.HeNormal(seed="1")
