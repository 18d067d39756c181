"""Core and merging layers against torch / NumPy formulas, configs and bad inputs."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember
from ember.keras import constraints
from ember.keras.layers.core import Activation, Dense, Dropout, Flatten, Identity, Lambda, \
    Permute, RepeatVector, Rescaling, Reshape
from ember.keras.layers.merging import Add, Average, Concatenate, Dot, Maximum, Minimum, \
    Multiply, Subtract


def np_(t):
    return t.detach().numpy()


@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(1, 5))
def test_dense_matches_torch_linear_on_any_leading_shape(lead, units):
    x = np.random.default_rng(0).standard_normal(lead + [3]).astype(np.float32)
    layer = Dense(units, activation="tanh")
    out = layer(x)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, units) and bias.shape == (units,)
    lin = torch.nn.Linear(3, units)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(kernel.T))
        lin.bias.copy_(torch.from_numpy(bias + 0.5))
    layer.set_weights([kernel, bias + 0.5])
    expected = torch.tanh(lin(torch.from_numpy(x))).detach().numpy()
    np.testing.assert_allclose(np_(layer(x)), expected, rtol=1e-5, atol=1e-6)
    assert out.shape == tuple(lead) + (units,)


def test_dense_gradients_match_torch():
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    layer = Dense(2, activation="relu", use_bias=True)
    layer.build((None, 3))
    (layer(x) ** 2).sum().backward()
    lin = torch.nn.Linear(3, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(layer.get_weights()[0].T))
        lin.bias.zero_()
    (torch.relu(lin(torch.from_numpy(x))) ** 2).sum().backward()
    np.testing.assert_allclose(layer.kernel.grad.numpy(), lin.weight.grad.numpy().T, rtol=1e-5)
    np.testing.assert_allclose(layer.bias.grad.numpy(), lin.bias.grad.numpy(), rtol=1e-5)


def test_dense_config_round_trip_and_regularizer_loss():
    layer = Dense(3, activation="relu", use_bias=False, kernel_regularizer="l2",
                  kernel_constraint=constraints.MaxNorm(1.5), name="d")
    config = layer.get_config()
    assert config["units"] == 3 and config["activation"] == "relu" and not config["use_bias"]
    assert config["kernel_constraint"]["config"] == {"max_value": 1.5, "axis": 0}
    clone = Dense.from_config(config)
    assert clone.get_config() == config
    layer(np.ones((1, 4)))
    kernel = layer.get_weights()[0]
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), 0.01 * (kernel ** 2).sum(), rtol=1e-5)


def test_dense_errors():
    with pytest.raises(ValueError, match="units"):
        Dense(0)
    with pytest.raises(ValueError, match=r"last dimension of the inputs should be defined.*"
                                         r"\(None, None\)"):
        Dense(2).build((None, None))
    layer = Dense(2, name="fc")
    layer(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r'layer "fc".*axis -1 .* value 3.*\(1, 5\)'):
        layer(np.ones((1, 5)))
    with pytest.raises(ValueError, match="min_ndim=2"):
        layer(np.ones(3))


def test_constraints_match_numpy_formulas():
    w = np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32) * 3
    norms = np.sqrt((w ** 2).sum(axis=0, keepdims=True))
    np.testing.assert_allclose(np_(constraints.MaxNorm(2.0)(ember.tensor(w))),
                               w * np.clip(norms, 0, 2.0) / (1e-7 + norms), rtol=1e-5)
    np.testing.assert_allclose(np_(constraints.UnitNorm()(ember.tensor(w))),
                               w / (1e-7 + norms), rtol=1e-5)
    desired = 0.5 * np.clip(norms, 0.5, 1.0) + 0.5 * norms
    np.testing.assert_allclose(np_(constraints.MinMaxNorm(0.5, 1.0, rate=0.5)(ember.tensor(w))),
                               w * desired / (1e-7 + norms), rtol=1e-5)
    np.testing.assert_array_equal(np_(constraints.NonNeg()(ember.tensor(w))), np.maximum(w, 0))
    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)
    with pytest.raises(ValueError, match="constraint identifier"):
        constraints.get("nope")


def test_dropout_training_scales_kept_entries_and_is_identity_at_inference():
    ember.manual_seed(0)
    layer = Dropout(0.25)
    x = np.ones((200, 50), np.float32)
    np.testing.assert_array_equal(np_(layer(x)), x)
    out = np_(layer(x, training=True))
    assert set(np.unique(out).tolist()) <= {0.0, float(np.float32(1 / 0.75))}
    assert abs((out == 0).mean() - 0.25) < 0.02


def test_dropout_noise_shape_and_seed():
    x = np.ones((4, 6, 5), np.float32)
    out = np_(Dropout(0.5, noise_shape=(None, 1, 5), seed=3)(x, training=True))
    assert (out == out[:, :1, :]).all()
    a = np_(Dropout(0.5, seed=7)(x, training=True))
    b = np_(Dropout(0.5, seed=7)(x, training=True))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="rate=1.5"):
        Dropout(1.5)
    with pytest.raises(ValueError, match="noise_shape"):
        Dropout(0.5, noise_shape=(None, 2, 5))(x, training=True)


def test_shape_layers_match_numpy():
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(np_(Flatten()(x)), x.reshape(2, 12))
    np.testing.assert_array_equal(np_(Flatten(data_format="channels_first")(x)),
                                  np.moveaxis(x, 1, -1).reshape(2, 12))
    np.testing.assert_array_equal(np_(Reshape((4, -1))(x)), x.reshape(2, 4, 3))
    np.testing.assert_array_equal(np_(Permute((2, 1))(x)), x.transpose(0, 2, 1))
    np.testing.assert_array_equal(np_(RepeatVector(3)(x[:, 0])),
                                  np.repeat(x[:, None, 0], 3, axis=1))
    np.testing.assert_array_equal(np_(Identity()(x)), x)
    np.testing.assert_allclose(np_(Rescaling([1.0, 2.0, 3.0, 4.0], offset=-1.0)(x)),
                               x * np.array([1, 2, 3, 4]) - 1.0)
    img = np.array([[0, 128, 255]], np.uint8)
    out = Rescaling(1 / 255)(img)
    assert out.dtype == ember.float32
    np.testing.assert_allclose(np_(out), img / 255, rtol=1e-6)
    np.testing.assert_array_equal(np_(Activation("relu")(x - 10)), np.maximum(x - 10, 0))


def test_shape_layer_errors():
    with pytest.raises(ValueError, match="total size of the tensor must be unchanged"):
        Reshape((5,))(np.ones((2, 6)))
    with pytest.raises(ValueError, match="at most one -1"):
        Reshape((-1, -1))
    with pytest.raises(ValueError, match="consecutive and start from 1"):
        Permute((0, 1))
    with pytest.raises(TypeError, match="integer value for `n`"):
        RepeatVector(2.5)
    with pytest.raises(ValueError, match="expected ndim=2"):
        RepeatVector(2)(np.ones((2, 3, 4)))


def test_lambda_passes_arguments_and_refuses_to_serialize_unregistered_code():
    layer = Lambda(lambda x, k: x * k, arguments={"k": 3.0}, name="triple")
    np.testing.assert_array_equal(np_(layer(np.ones((1, 2)))), [[3.0, 3.0]])
    with pytest.raises(ValueError, match='"triple".*register_keras_serializable'):
        layer.get_config()
    relu = Lambda(ember.keras.activations.relu)
    assert Lambda.from_config(relu.get_config()).function is ember.keras.activations.relu


def test_elementwise_merges_match_numpy():
    rng = np.random.default_rng(3)
    a, b, c = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3))
    for layer, expected in [(Add(), a + b + c), (Multiply(), a * b * c),
                            (Average(), (a + b + c) / 3),
                            (Maximum(), np.maximum(np.maximum(a, b), c)),
                            (Minimum(), np.minimum(np.minimum(a, b), c))]:
        np.testing.assert_allclose(np_(layer([a, b, c])), expected, rtol=1e-5)
    np.testing.assert_allclose(np_(Subtract()([a, b])), a - b)
    np.testing.assert_allclose(np_(Add()([a, b[:, :1]])), a + b[:, :1])
    # lower-rank inputs are expanded at axis 1, as Keras does
    np.testing.assert_allclose(np_(Add()([np.ones((3, 2, 4)), a])), np.broadcast_to(1 + a[:, None, :], (3, 2, 4)))


def test_merge_errors():
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        Subtract()([np.ones((1, 2))] * 3)
    with pytest.raises(ValueError, match="incompatible shapes"):
        Add()([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="different batch sizes"):
        Add()([np.ones((2, 3)), np.ones((3, 3))])
    with pytest.raises(ValueError, match="list of inputs"):
        Add()(np.ones((2, 3)))


def test_concatenate_matches_torch_and_checks_shapes():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    np.testing.assert_allclose(np_(Concatenate(axis=1)([a, b])),
                               torch.cat([torch.tensor(a), torch.tensor(b)], 1).float().numpy())
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"
                                         r".*\(2, 3, 4\).*\(2, 5, 4\)"):
        Concatenate()([a, b])


@pytest.mark.parametrize("shapes,axes", [(((2, 5), (2, 5)), 1), (((2, 3, 4), (2, 6, 4)), 2),
                                         (((2, 3, 4), (2, 4, 6)), (2, 1))])
def test_dot_matches_torch_batch_dot(shapes, axes):
    rng = np.random.default_rng(5)
    x, y = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    out = np_(Dot(axes)([x, y]))
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    if len(shapes[0]) == 2:
        expected = (tx * ty).sum(1, keepdim=True)
    elif axes == 2:
        expected = tx @ ty.transpose(1, 2)
    else:
        expected = tx @ ty
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-5, atol=1e-5)


def test_dot_normalize_is_cosine_similarity_and_checks_sizes():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    expected = torch.nn.functional.cosine_similarity(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(np_(Dot(1, normalize=True)([x, y]))[:, 0], expected.numpy(),
                               rtol=1e-5)
    with pytest.raises(ValueError, match=r"axis values 4 \(at axis 1\) != 5"):
        Dot(1)([x, np.ones((3, 5))])
    with pytest.raises(ValueError, match="list of 2 inputs"):
        Dot(1)([x, x, x])
