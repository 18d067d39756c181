"""Functional models: graphs, several inputs/outputs, shared layers, nesting, configs."""
import numpy as np
import pytest
import torch

import ember
from ember import keras
from ember.keras.layers.core import Dense, Flatten, Lambda
from ember.keras.layers.merging import Add, Concatenate, Dot


def np_(t):
    return t.detach().numpy()


def test_multi_input_multi_output_with_list_and_dict_inputs():
    a = keras.Input(shape=(3,), name="a")
    b = keras.Input(shape=(2,), name="b")
    joined = Concatenate()([a, b])
    out1, out2 = Dense(1, name="o1")(joined), Dense(4, name="o2")(joined)
    model = keras.Model([a, b], [out1, out2])
    assert model.input_shape == [(None, 3), (None, 2)]
    assert model.output_shape == [(None, 1), (None, 4)]
    assert [layer.name for layer in model.layers[:2]] == ["a", "b"]
    xa, xb = np.ones((5, 3), np.float32), np.full((5, 2), 2.0, np.float32)
    y1, y2 = model([xa, xb])
    by_name = model({"b": xb, "a": xa})
    np.testing.assert_array_equal(np_(by_name[0]), np_(y1))
    x = np.concatenate([xa, xb], 1)
    k, bias = model.get_layer("o2").get_weights()
    np.testing.assert_allclose(np_(y2), x @ k + bias, rtol=1e-5)
    with pytest.raises(ValueError, match='missing data for input "b"'):
        model({"a": xa})
    with pytest.raises(ValueError, match="expects 2 input"):
        model(xa)


def test_dict_outputs_and_dict_inputs():
    inputs = {"x": keras.Input(shape=(2,), name="x")}
    outputs = {"y": Dense(3)(inputs["x"])}
    model = keras.Model(inputs, outputs)
    out = model({"x": np.ones((1, 2))})
    assert list(out) == ["y"] and out["y"].shape == (1, 3)


def test_wrong_input_shape_error_names_the_model_and_both_shapes():
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, Dense(2)(inputs), name="net")
    with pytest.raises(ValueError, match=r'Input 0 of layer "net".*expected shape=\(None, 4\)'
                                         r", found shape=\(3, 5\)"):
        model(np.ones((3, 5)))


def test_shared_layer_shares_weights_and_accumulates_gradients():
    shared = Dense(2, use_bias=False, name="shared")
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    model = keras.Model([a, b], Add()([shared(a), shared(b)]))
    assert len(model.weights) == 1 and len(shared._inbound_nodes) == 2
    xa = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    xb = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    model([xa, xb]).sum().backward()
    w = torch.tensor(shared.get_weights()[0], requires_grad=True)
    (torch.from_numpy(xa) @ w + torch.from_numpy(xb) @ w).sum().backward()
    np.testing.assert_allclose(shared.kernel.grad.numpy(), w.grad.numpy(), rtol=1e-5)


def test_residual_add_model_matches_formula():
    inputs = keras.Input(shape=(4,))
    h = Dense(4, activation="relu")(inputs)
    model = keras.Model(inputs, Add()([inputs, Dense(4)(h)]))
    x = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    k1, b1, k2, b2 = model.get_weights()
    expected = x + np.maximum(x @ k1 + b1, 0) @ k2 + b2
    np.testing.assert_allclose(np_(model(x)), expected, rtol=1e-5, atol=1e-6)


def test_two_tower_dot_model_matches_torch():
    user, item = keras.Input(shape=(5,)), keras.Input(shape=(6,))
    tower_u, tower_i = Dense(3, name="tu"), Dense(3, name="ti")
    score = Dot(axes=1, normalize=True)([tower_u(user), tower_i(item)])
    model = keras.Model([user, item], score)
    assert model.output_shape == (None, 1)
    xu = np.random.default_rng(3).standard_normal((4, 5)).astype(np.float32)
    xi = np.random.default_rng(4).standard_normal((4, 6)).astype(np.float32)
    eu = torch.from_numpy(xu @ tower_u.get_weights()[0] + tower_u.get_weights()[1])
    ei = torch.from_numpy(xi @ tower_i.get_weights()[0] + tower_i.get_weights()[1])
    expected = torch.nn.functional.cosine_similarity(eu, ei).numpy()[:, None]
    np.testing.assert_allclose(np_(model([xu, xi])), expected, rtol=1e-5, atol=1e-6)


def test_nested_models_and_calling_a_model_on_new_tensors():
    inner = keras.Sequential([keras.Input(shape=(3,)), Dense(2, name="inner_dense")],
                             name="inner")
    encoder_in = keras.Input(shape=(3,))
    encoder = keras.Model(encoder_in, Dense(3)(encoder_in), name="encoder")
    x = keras.Input(shape=(3,))
    y = inner(encoder(x))
    model = keras.Model(x, y)
    assert len(encoder._inbound_nodes) == 1 and model.output_shape == (None, 2)
    assert model.layers[1] is encoder and model.layers[2] is inner
    data = np.random.default_rng(5).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(np_(model(data)), np_(inner(encoder(data))), rtol=1e-6)
    assert len(model.weights) == 4


def test_graph_errors():
    a, b = keras.Input(shape=(2,), name="in_a"), keras.Input(shape=(2,), name="in_b")
    out = Add()([a, b])
    with pytest.raises(ValueError, match="Graph disconnected.*in_b"):
        keras.Model(a, out)
    with pytest.raises(ValueError, match="must come from keras.Input"):
        keras.Model(Dense(2)(a), out)
    with pytest.raises(ValueError, match="symbolic tensors"):
        keras.Model(a, ember.ones(2))
    with pytest.raises(TypeError, match="symbolic placeholder"):
        a + b
    with pytest.raises(ValueError, match=r"Concatenate.*matching shapes.*\(None, 2\).*"
                                         r"\(None, 3, 1\)"):
        Concatenate()([a, keras.Input(shape=(3, 1))])
    with pytest.raises(ValueError, match="last dimension of the inputs should be defined"):
        Dense(2)(keras.Input(shape=(None,)))


def test_functional_config_round_trip_rebuilds_the_same_graph():
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(4,), name="b")
    shared = Dense(3, name="shared")
    merged = Concatenate(name="cat")([shared(a), shared(b)])
    model = keras.Model([a, b], [Dense(1, name="out")(merged), Flatten(name="flat")(merged)],
                        name="twin")
    config = model.get_config()
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    shared_entry = next(e for e in config["layers"] if e["name"] == "shared")
    assert len(shared_entry["inbound_nodes"]) == 2
    clone = keras.Model.from_config(config)
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    x = [np.ones((2, 4), np.float32), np.zeros((2, 4), np.float32)]
    for got, want in zip(clone(x), model(x)):
        np.testing.assert_allclose(np_(got), np_(want), rtol=1e-6)
    again = keras.models.model_from_json(model.to_json())
    assert again.name == "twin" and again.output_shape == [(None, 1), (None, 6)]


def test_lambda_with_a_registered_function_serializes_by_name():
    @keras.saving.register_keras_serializable(package="tests")
    def halve(x):
        return x * 0.5

    inputs = keras.Input(shape=(2,))
    model = keras.Model(inputs, Lambda(halve)(inputs))
    clone = keras.models.clone_model(model)
    np.testing.assert_allclose(np_(clone(np.ones((1, 2)))), [[0.5, 0.5]])
