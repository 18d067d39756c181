"""Saving: .keras archives, weights files, custom objects, corrupt files, bad suffixes."""
import json
import zipfile

import numpy as np
import pytest

from ember import keras
from ember.keras.layers.core import Dense, Dropout
from ember.keras.layers.layer import Layer
from ember.keras.layers.merging import Add


def np_(t):
    return t.detach().numpy()


X = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)


def functional_model():
    inputs = keras.Input(shape=(4,))
    h = Dense(4, activation="relu")(inputs)
    return keras.Model(inputs, Add()([inputs, Dense(4)(h)]), name="residual")


@pytest.mark.parametrize("make", [
    functional_model,
    lambda: keras.Sequential([keras.Input(shape=(4,)), Dense(3), Dropout(0.1), Dense(2)]),
])
def test_save_and_load_round_trip_gives_equal_predictions(tmp_path, make):
    model = make()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model) and loaded.name == model.name
    np.testing.assert_array_equal(np_(loaded(X)), np_(model(X)))
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {"config.json", "metadata.json",
                                           "model.weights.safetensors"}
        meta = json.loads(archive.read("metadata.json"))
    assert {"ember_version", "date_saved"} <= set(meta)
    assert list(tmp_path.iterdir()) == [path]             # no temporary file left behind


@keras.saving.register_keras_serializable(package="test_saving")
class Scale(Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="random_normal",
                                 name="w")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="test_saving")
class Net(keras.Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.scale = Scale(3.0)
        self.dense = Dense(units)

    def call(self, x):
        return self.dense(self.scale(x))


def test_custom_layers_and_subclassed_models_round_trip(tmp_path):
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, Scale(0.5)(inputs))
    model.save(tmp_path / "custom.keras")
    np.testing.assert_array_equal(np_(keras.models.load_model(tmp_path / "custom.keras")(X)),
                                  np_(model(X)))
    net = Net(units=5)
    net(X)
    net.save(tmp_path / "net.keras")
    loaded = keras.models.load_model(tmp_path / "net.keras")
    assert isinstance(loaded, Net) and loaded.dense.units == 5
    np.testing.assert_array_equal(np_(loaded(X)), np_(net(X)))


def test_custom_objects_argument_finds_unregistered_classes(tmp_path):
    class Shift(Layer):
        def call(self, x):
            return x + 1.0

    inputs = keras.Input(shape=(4,))
    keras.Model(inputs, Shift()(inputs)).save(tmp_path / "shift.keras")
    with pytest.raises(ValueError, match="shift.keras.*Could not locate class 'Shift'"):
        keras.models.load_model(tmp_path / "shift.keras")
    loaded = keras.models.load_model(tmp_path / "shift.keras", custom_objects={"Shift": Shift})
    np.testing.assert_allclose(np_(loaded(X)), X + 1.0)


def test_compile_config_is_saved_and_reapplied(tmp_path):
    class Compilable(keras.Sequential):
        def compile(self, **kwargs):
            self._compile_config = kwargs

    keras.saving.get_custom_objects()["Compilable"] = Compilable
    try:
        model = Compilable([keras.Input(shape=(4,)), Dense(1)])
        model.compile(optimizer="adam", loss="mse", metrics=["mae"], loss_weights=None)
        model.save(tmp_path / "c.keras")
        loaded = keras.models.load_model(tmp_path / "c.keras")
        assert loaded._compile_config == {"optimizer": "adam", "loss": "mse",
                                          "metrics": ["mae"], "loss_weights": None}
        uncompiled = keras.models.load_model(tmp_path / "c.keras", compile=False)
        assert getattr(uncompiled, "_compile_config", None) is None
    finally:
        del keras.saving.get_custom_objects()["Compilable"]


def test_save_and_load_weights(tmp_path):
    model = functional_model()
    path = tmp_path / "w.weights.safetensors"
    model.save_weights(path)
    with pytest.raises(ValueError, match="do not match model"):
        keras.Sequential([keras.Input(shape=(4,)), Dense(4)]).load_weights(path)
    clone = keras.models.clone_model(model)           # same layer names, fresh weights
    assert not np.allclose(np_(clone(X)), np_(model(X)))
    clone.load_weights(path)
    np.testing.assert_array_equal(np_(clone(X)), np_(model(X)))
    lazy = keras.Sequential([Dense(2)])
    with pytest.raises(ValueError, match="not built"):
        lazy.load_weights(path)


def test_suffix_errors(tmp_path):
    model = functional_model()
    with pytest.raises(ValueError, match=r"HDF5.*'.keras'"):
        model.save(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"must end in `.keras`"):
        model.save(tmp_path / "m.zip")
    with pytest.raises(ValueError, match=r"HDF5.*'.weights.safetensors'"):
        model.save_weights(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match="file format not supported"):
        keras.models.load_model(tmp_path / "m.h5")


def test_corrupt_truncated_and_incomplete_archives(tmp_path):
    model = functional_model()
    good = tmp_path / "good.keras"
    model.save(good)
    data = good.read_bytes()
    (tmp_path / "trunc.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="trunc.keras is not a valid .keras archive"):
        keras.models.load_model(tmp_path / "trunc.keras")
    (tmp_path / "junk.keras").write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="junk.keras is not a valid"):
        keras.models.load_model(tmp_path / "junk.keras")
    with zipfile.ZipFile(good) as src:
        members = {n: src.read(n) for n in src.namelist()}

    def rewrite(name, **changes):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as dst:
            for member, content in {**members, **changes}.items():
                if content is not None:
                    dst.writestr(member, content)
        return path

    with pytest.raises(ValueError, match="member 'model.weights.safetensors' is missing"):
        keras.models.load_model(rewrite("now.keras", **{"model.weights.safetensors": None}))
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        keras.models.load_model(rewrite("badjson.keras", **{"config.json": b"{"}))
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["class_name"] = "NoSuchLayer"
    with pytest.raises(ValueError, match="unknown.keras.*Could not locate class 'NoSuchLayer'"):
        keras.models.load_model(rewrite("unknown.keras",
                                        **{"config.json": json.dumps(config)}))
    weights = members["model.weights.safetensors"]
    with pytest.raises(ValueError, match="cut.keras:model.weights.safetensors: not a valid "
                                         "safetensors file"):
        keras.models.load_model(rewrite("cut.keras",
                                        **{"model.weights.safetensors": weights[:-10]}))
    with pytest.raises(ValueError, match="cannot read"):
        keras.models.load_model(tmp_path / "missing.keras")


def test_weights_load_into_a_fresh_model_of_the_same_architecture_in_the_same_process(
        tmp_path):
    def make():
        return keras.Sequential([keras.Input(shape=(3,)), Dense(4, activation="relu"),
                                 Dense(2)])

    first, second = make(), make()          # second's layers get other generated names
    assert [l.name for l in first.layers] != [l.name for l in second.layers]
    first.save_weights(tmp_path / "w.weights.safetensors")
    second.load_weights(tmp_path / "w.weights.safetensors")
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_array_equal(first.predict(x, verbose=0), second.predict(x, verbose=0))
