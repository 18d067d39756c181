"""keras BatchNormalization, LayerNormalization and Embedding: float32 and memory-layout
cases against torch, Keras's single-sample batch, rms_scaling weights, Embedding gradients.
(The float64 formulas and configs are in test_layers_normalization.py and
test_layers_convolutional.py.)"""
import numpy as np
import pytest
import torch

import ember
from ember import keras
from ember.keras.layers.core import Dense
from ember.keras.layers.embedding import Embedding
from ember.keras.layers.normalization import BatchNormalization, LayerNormalization

TOL = {"float64": dict(rtol=1e-9, atol=1e-9), "float32": dict(rtol=1e-4, atol=1e-4)}


def _batch_norm_against_torch(x_ember, x_numpy, dtype):
    """Train-mode BatchNormalization (last axis) vs torch: output, input/gamma/beta
    gradients and Keras's moving statistics (biased variance, momentum 0.9)."""
    layer = BatchNormalization(momentum=0.9, dtype=dtype, gamma_initializer="random_normal",
                               beta_initializer="random_normal")
    out = layer(x_ember, training=True)
    gamma, beta, moving_mean, moving_var = layer.get_weights()
    tx = torch.tensor(x_numpy, requires_grad=True)
    tg, tb = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    ref = torch.nn.functional.batch_norm(tx.movedim(-1, 1), None, None, tg, tb,
                                         training=True, eps=1e-3).movedim(1, -1)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL[dtype])
    g = np.random.default_rng(7).normal(size=x_numpy.shape).astype(dtype)
    (out * ember.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    axes = tuple(range(x_numpy.ndim - 1))
    np.testing.assert_allclose(layer.gamma.grad.numpy(), tg.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(layer.beta.grad.numpy(), tb.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(moving_mean, 0.1 * x_numpy.mean(axes), **TOL[dtype])
    np.testing.assert_allclose(moving_var, 0.9 + 0.1 * x_numpy.var(axes), **TOL[dtype])
    return tx.grad.numpy()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_batch_norm_on_dense_and_transposed_channels_last_inputs(dtype):
    x = np.random.default_rng(0).normal(1.0, 2.0, size=(4, 5, 6, 3)).astype(dtype)
    dense = ember.tensor(x, requires_grad=True)                 # NHWC memory
    grad = _batch_norm_against_torch(dense, x, dtype)
    np.testing.assert_allclose(dense.grad.numpy(), grad, **TOL[dtype])
    # a Conv2D output: NCHW memory seen as NHWC
    nchw = ember.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), requires_grad=True)
    view = nchw.permute(0, 2, 3, 1)
    assert not view.is_contiguous()
    grad = _batch_norm_against_torch(view, x, dtype)
    np.testing.assert_allclose(nchw.grad.numpy(), grad.transpose(0, 3, 1, 2), **TOL[dtype])


def test_batch_norm_of_a_single_sample_follows_keras_not_torch():
    # Keras: one value per feature has variance 0, so it normalises to 0 (output = beta)
    layer = BatchNormalization(momentum=0.5, dtype="float64",
                               beta_initializer="random_normal")
    x = ember.tensor([[1.0, -2.0, 3.0]], dtype=ember.float64, requires_grad=True)
    out = layer(x, training=True)
    gamma, beta, moving_mean, moving_var = layer.get_weights()
    np.testing.assert_allclose(out.detach().numpy(), beta[None], atol=1e-12)
    np.testing.assert_allclose(moving_mean, [0.5, -1.0, 1.5])
    np.testing.assert_allclose(moving_var, [0.5, 0.5, 0.5])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.0, atol=1e-12)     # x - mean(x) == 0


def test_fit_survives_a_last_batch_of_one_sample():
    x = np.random.default_rng(1).normal(size=(17, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((4,)), Dense(8), BatchNormalization(), Dense(2)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)     # batches 8, 8, 1
    assert np.isfinite(history.history["loss"]).all()
    assert np.isfinite(model.layers[1].get_weights()[3]).all()


def test_batch_norm_inference_on_nhwc_matches_the_formula_in_float32():
    x = np.random.default_rng(2).normal(size=(2, 4, 4, 3)).astype("float32")
    layer = BatchNormalization(moving_mean_initializer="random_normal",
                               moving_variance_initializer="ones",
                               gamma_initializer="random_normal")
    out = layer(x).detach().numpy()
    gamma, beta, mean, var = layer.get_weights()
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-3) * gamma + beta,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_layer_norm_over_inner_axes_matches_torch_with_gradients(dtype):
    x = np.random.default_rng(3).normal(size=(2, 3, 4, 5)).astype(dtype)
    layer = LayerNormalization(axis=[1, 3], dtype=dtype, gamma_initializer="random_normal",
                               beta_initializer="random_normal")
    ex = ember.tensor(x, requires_grad=True)
    out = layer(ex)
    gamma, beta = layer.get_weights()
    assert gamma.shape == (3, 5)
    # torch: move the normalised axes last, layer_norm over them, move back
    tx = torch.tensor(x, requires_grad=True)
    tg, tb = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    ref = torch.nn.functional.layer_norm(tx.permute(0, 2, 1, 3), (3, 5), tg, tb,
                                         eps=1e-3).permute(0, 2, 1, 3)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL[dtype])
    g = np.random.default_rng(4).normal(size=x.shape).astype(dtype)
    (out * ember.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    for got, want in ((ex.grad, tx.grad), (layer.gamma.grad, tg.grad),
                      (layer.beta.grad, tb.grad)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), **TOL[dtype])


def test_layer_norm_rms_scaling_has_gamma_only_and_keeps_its_config():
    layer = LayerNormalization(rms_scaling=True, scale=False, center=True,
                               gamma_initializer="random_normal", dtype="float64")
    x = np.random.default_rng(5).normal(size=(3, 6))
    out = layer(x).detach().numpy()
    assert [w.name for w in layer.weights] == ["gamma"]           # as Keras builds it
    (gamma,) = layer.get_weights()
    np.testing.assert_allclose(out, x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-3)
                               * gamma, atol=1e-12)
    config = layer.get_config()
    assert (config["center"], config["scale"], config["rms_scaling"]) == (True, False, True)
    assert LayerNormalization.from_config(config).get_config() == config


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_embedding_gradient_accumulates_repeated_ids_like_torch(dtype):
    layer = Embedding(6, 3, dtype=dtype)
    ids = np.array([[1, 4, 1], [5, 1, 0]])
    out = layer(ids)
    table = torch.tensor(layer.get_weights()[0], requires_grad=True)
    ref = torch.nn.functional.embedding(torch.tensor(ids), table)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    g = np.random.default_rng(6).normal(size=(2, 3, 3)).astype(dtype)
    (out * ember.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(layer.embeddings.grad.numpy(), table.grad.numpy(),
                               **TOL[dtype])


def test_embedding_weights_argument_shapes_and_bad_ids():
    table = np.arange(12.0).reshape(4, 3)
    layer = Embedding(4, 3, weights=[table])
    np.testing.assert_array_equal(layer(np.array([[3, 0]])).detach().numpy(),
                                  table[[[3, 0]]])
    assert layer.compute_output_shape((None, 7)) == (None, 7, 3)
    ids = keras.Input((5,), dtype="int64")
    assert Embedding(4, 3)(ids).shape == (None, 5, 3)
    with pytest.raises(ValueError, match=r"\(Embedding\): input id -1 is out of range"):
        layer(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="Embedding: `output_dim` must be a positive "
                                         "integer. Received: output_dim=0"):
        Embedding(4, 0)
