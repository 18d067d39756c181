"""keras BatchNormalization and LayerNormalization against torch and Keras's formulas."""
import numpy as np
import pytest
import torch

import ember
from ember import keras
from ember.keras import layers


def _random(shape, seed=0):
    return np.random.default_rng(seed).normal(1.0, 2.0, size=shape)


def test_batch_norm_training_matches_torch_and_updates_moving_stats_like_keras():
    x = _random((4, 5, 6, 3))
    layer = layers.BatchNormalization(momentum=0.9, dtype="float64",
                                      gamma_initializer="random_normal",
                                      beta_initializer="random_normal")
    ex = ember.tensor(x, requires_grad=True)
    out = layer(ex, training=True)
    gamma, beta, moving_mean, moving_var = layer.get_weights()
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean",
                                               "moving_variance"]
    tx = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.batch_norm(tx.permute(0, 3, 1, 2), None, None,
                                         torch.tensor(gamma), torch.tensor(beta),
                                         training=True, eps=1e-3).permute(0, 2, 3, 1)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    g = _random(x.shape, 1)
    (out * ember.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(layer.gamma.grad.numpy(),
                               (g * (x - x.mean((0, 1, 2))) /
                                np.sqrt(x.var((0, 1, 2)) + 1e-3)).sum((0, 1, 2)), rtol=1e-8)
    # Keras: moving = momentum * moving + (1 - momentum) * batch (biased variance)
    np.testing.assert_allclose(moving_mean, 0.1 * x.mean((0, 1, 2)), rtol=1e-10)
    np.testing.assert_allclose(moving_var, 0.9 + 0.1 * x.var((0, 1, 2)), rtol=1e-10)
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2


def test_batch_norm_inference_uses_moving_stats_and_frozen_layers_stay_in_inference():
    x = _random((8, 3))
    layer = layers.BatchNormalization(dtype="float64")
    layer(x, training=True)
    gamma, beta, mean, var = layer.get_weights()
    expect = (x - mean) / np.sqrt(var + 1e-3) * gamma + beta
    np.testing.assert_allclose(layer(x).detach().numpy(), expect, atol=1e-10)
    layer.trainable = False
    before = layer.get_weights()
    np.testing.assert_allclose(layer(x, training=True).detach().numpy(), expect, atol=1e-10)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_batch_norm_on_another_axis():
    x = _random((2, 3, 4))
    layer = layers.BatchNormalization(axis=1, dtype="float64")
    out = layer(x, training=True).detach().numpy()
    expect = (x - x.mean((0, 2), keepdims=True)) / np.sqrt(x.var((0, 2), keepdims=True) + 1e-3)
    np.testing.assert_allclose(out, expect, atol=1e-10)
    assert layer.get_weights()[0].shape == (3,)


def test_layer_norm_matches_torch_on_the_last_axis():
    x = _random((2, 5, 6))
    layer = layers.LayerNormalization(dtype="float64", gamma_initializer="random_normal",
                                      beta_initializer="random_normal")
    ex = ember.tensor(x, requires_grad=True)
    out = layer(ex)
    gamma, beta = layer.get_weights()
    tx = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.layer_norm(tx, (6,), torch.tensor(gamma), torch.tensor(beta),
                                         eps=1e-3)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), atol=1e-10)


def test_layer_norm_over_several_axes_and_rms_scaling_follow_the_formulas():
    x = _random((2, 3, 4, 5))
    two = layers.LayerNormalization(axis=[1, 3], dtype="float64")
    mean = x.mean((1, 3), keepdims=True)
    np.testing.assert_allclose(two(x).detach().numpy(),
                               (x - mean) / np.sqrt(x.var((1, 3), keepdims=True) + 1e-3),
                               atol=1e-10)
    assert two.get_weights()[0].shape == (3, 5)
    rms = layers.LayerNormalization(rms_scaling=True, dtype="float64")
    np.testing.assert_allclose(rms(x).detach().numpy(),
                               x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-3),
                               atol=1e-10)
    assert len(rms.weights) == 1


def test_normalization_configs_and_errors():
    for layer in (layers.BatchNormalization(momentum=0.5, center=False),
                  layers.LayerNormalization(axis=[1, 2], epsilon=1e-5)):
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    with pytest.raises(ValueError, match="momentum must lie in"):
        layers.BatchNormalization(momentum=2.0)
    with pytest.raises(ValueError, match=r'Layer "bn_axis" \(BatchNormalization\): invalid '
                                         "axis 3 for an input of rank 2"):
        layers.BatchNormalization(axis=3, name="bn_axis")(np.ones((2, 2)))
    bn = layers.BatchNormalization(name="bn_built")
    bn(np.ones((2, 4)))
    with pytest.raises(ValueError, match='Input 0 of layer "bn_built" is incompatible'):
        bn(np.ones((2, 5)))


def test_batch_norm_trains_inside_a_keras_model():
    x = _random((64, 4))
    y = (x.sum(1) > 4).astype(np.int64)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"),
                              layers.BatchNormalization(), layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert not np.allclose(model.layers[1].get_weights()[2], 0.0)   # moving mean moved
