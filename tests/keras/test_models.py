"""keras.Model (subclassed), keras.Sequential, and their equivalence with functional models."""
import numpy as np
import pytest

import ember
from ember import keras
from ember.keras.layers.core import Dense, Dropout
from ember.keras.layers.layer import Layer


def np_(t):
    return t.detach().numpy()


class MLP(keras.Model):
    def __init__(self, hidden=5, **kwargs):
        super().__init__(**kwargs)
        self.hidden = Dense(hidden, activation="relu")
        self.drop = Dropout(0.5)
        self.head = Dense(2)

    def call(self, x, training=None):
        return self.head(self.drop(self.hidden(x), training=training))


def test_three_ways_to_build_the_same_model_agree():
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    sub = MLP()
    sub(x)
    seq = keras.Sequential([keras.Input(shape=(4,)), Dense(5, activation="relu"),
                            Dropout(0.5), Dense(2)])
    inputs = keras.Input(shape=(4,))
    outputs = Dense(2)(Dropout(0.5)(Dense(5, activation="relu")(inputs)))
    fun = keras.Model(inputs, outputs)
    weights = sub.get_weights()
    assert [w.shape for w in weights] == [(4, 5), (5,), (5, 2), (2,)]
    seq.set_weights(weights)
    fun.set_weights(weights)
    h = np.maximum(x @ weights[0] + weights[1], 0)
    expected = h @ weights[2] + weights[3]
    for model in (sub, seq, fun):
        np.testing.assert_allclose(np_(model(x)), expected, rtol=1e-5, atol=1e-6)
        assert model.count_params() == 4 * 5 + 5 + 5 * 2 + 2


def test_subclassed_model_builds_on_first_call_and_propagates_training():
    model = MLP(hidden=8)
    assert not model.built
    x = np.ones((200, 3), np.float32)
    out = model(x)
    assert model.built and out.shape == (200, 2)
    assert [layer.name for layer in model.layers] == [model.hidden.name, model.drop.name,
                                                      model.head.name]
    ember.manual_seed(0)
    hidden = np_(model.hidden(x))
    dropped = np_(model.drop(model.hidden(x), training=True))
    assert (dropped == 0).any() and not (hidden == 0).all()
    np.testing.assert_allclose(np_(model(x)), np_(model(x)))        # inference: no dropout
    assert not np.allclose(np_(model(x, training=True)), np_(model(x)))


def test_subclassed_model_build_get_config_and_trainable():
    model = MLP(hidden=3, name="mlp")
    model.build((None, 4))
    assert model.built and [w.shape for w in model.weights][0] == (4, 3)
    assert model.get_config() == {"name": "mlp", "trainable": True, "hidden": 3}
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4

    class Opaque(keras.Model):
        def __init__(self, layer):
            super().__init__()
            self.layer = layer

        def call(self, x):
            return self.layer(x)

    with pytest.raises(NotImplementedError, match="get_config"):
        Opaque(Dense(1)).get_config()


def test_model_gradients_reach_every_weight():
    model = MLP()
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    model(x).sum().backward()
    assert all(w.grad is not None for w in model.trainable_weights)


def test_sequential_builds_from_input_shape_or_first_call():
    model = keras.Sequential([Dense(3, input_shape=(4,)), Dense(1)])
    assert model.built and model.input_shape == (None, 4) and model.output_shape == (None, 1)
    assert len(model.layers) == 2
    lazy = keras.Sequential()
    lazy.add(Dense(3))
    lazy.add(Dense(1))
    assert not lazy.built
    with pytest.raises(AttributeError, match="no defined input shape"):
        lazy.input_shape
    assert lazy(np.ones((7, 5))).shape == (7, 1)
    assert lazy.built and lazy.input_shape == (None, 5)
    assert lazy(np.ones((2, 5))).shape == (2, 1)          # any batch size afterwards


def test_sequential_add_pop_and_errors():
    model = keras.Sequential(name="seq")
    model.add(keras.Input(shape=(2,)))
    first = Dense(4, name="a")
    model.add(first)
    model.add(Dense(1, name="b"))
    assert model.get_layer("a") is first and model.get_layer(index=1).name == "b"
    assert model.pop().name == "b" and model.output_shape == (None, 4)
    with pytest.raises(ValueError, match="Only instances of `keras.Layer`"):
        model.add("dense")
    with pytest.raises(ValueError, match="unique names.*'a'"):
        model.add(Dense(2, name="a"))
    with pytest.raises(ValueError, match="already been configured"):
        model.add(keras.Input(shape=(3,)))
    with pytest.raises(ValueError, match="No such layer: zzz"):
        model.get_layer("zzz")
    with pytest.raises(ValueError, match="index 5 but model only has 1 layers"):
        model.get_layer(index=5)
    model.pop()
    with pytest.raises(TypeError, match="no layers"):
        model.pop()


def test_sequential_wrong_input_shape_names_model_and_shapes():
    model = keras.Sequential([keras.Input(shape=(3,)), Dense(2)], name="clf")
    with pytest.raises(ValueError, match=r'layer "clf".*expected shape=\(None, 3\), '
                                         r"found shape=\(4, 5\)"):
        model(np.ones((4, 5)))


def test_layers_hold_nested_keras_layers_like_modules():
    class Block(Layer):
        def __init__(self):
            super().__init__()
            self.inner = Dense(2)

        def call(self, x):
            return self.inner(x)

    model = keras.Sequential([keras.Input(shape=(3,)), Block()])
    assert [w.shape for w in model.get_weights()] == [(3, 2), (2,)]
