"""Bad input to compile/fit/evaluate/predict: clear errors, clean stops, no half files."""
import os

import numpy as np
import pytest

from ember import keras
from ember.keras.layers.core import Dense


def _model(outputs=1, activation=None):
    return keras.Sequential([keras.Input(shape=(4,)), Dense(outputs, activation=activation)])


def _compiled(**compile_kwargs):
    model = _model()
    model.compile(**{"optimizer": "sgd", "loss": "mse", **compile_kwargs})
    return model


X = np.ones((10, 4), dtype=np.float32)
Y = np.zeros((10, 1), dtype=np.float32)


def test_x_and_y_of_different_lengths():
    with pytest.raises(ValueError, match=r"Data cardinality is ambiguous(.|\n)*'x' sizes: 10"
                                         r"(.|\n)*'y' sizes: 7"):
        _compiled().fit(X, Y[:7], verbose=0)
    with pytest.raises(ValueError, match=r"'sample_weight' sizes: 3"):
        _compiled().fit(X, Y, sample_weight=np.ones(3), verbose=0)


def test_sparse_labels_out_of_range_name_the_loss_label_and_classes():
    model = _model(outputs=3, activation="softmax")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    labels = np.array([0, 1, 2, 7, 0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match=r"(?i)sparse_?categorical_?crossentropy(.|\n)*7"
                                         r"(.|\n)*3") as info:
        model.fit(X, labels, verbose=0)
    assert "3" in str(info.value)


def test_input_of_the_wrong_shape_for_a_built_model():
    model = _compiled()
    expected = r'layer "sequential(_\d+)?" is incompatible with the layer: expected ' \
               r"shape=\(None, 4\), found shape=\({}, 5\)"
    with pytest.raises(ValueError, match=expected.format(10)):
        model.fit(np.ones((10, 5)), Y, verbose=0)
    with pytest.raises(ValueError, match=expected.format(2)):
        model.predict(np.ones((2, 5)), verbose=0)


@pytest.mark.parametrize("argument, name, known", [
    ("optimizer", "adamm", "adam"),
    ("loss", "mean_squared_errr", "mean_squared_error"),
    ("metrics", "accuracyy", "sparse_categorical_accuracy"),
])
def test_unknown_string_alias(argument, name, known):
    value = [name] if argument == "metrics" else name
    with pytest.raises(ValueError, match=rf"compile\(\): invalid `{argument}` argument "
                                         rf"'{name}'(.|\n)*\b{known}\b"):
        _compiled(**{argument: value})


def test_metrics_passed_where_loss_weights_go():
    with pytest.raises(ValueError, match=r"`loss_weights` must be a number, or a list or "
                                         r"dict of numbers"):
        _model().compile("sgd", "mse", ["accuracy"])      # Keras's 3rd argument: loss_weights


def test_fit_evaluate_train_on_batch_before_compile():
    model = _model()
    for call in (lambda: model.fit(X, Y, verbose=0), lambda: model.evaluate(X, Y, verbose=0),
                 lambda: model.train_on_batch(X, Y), lambda: model.test_on_batch(X, Y)):
        with pytest.raises(ValueError, match=r"You must call `compile\(\)` before using the "
                                             r"model\."):
            call()
    assert model.predict(X, verbose=0).shape == (10, 1)     # predict needs no compile


def _nan_after(batches):
    """A callback that makes the weights NaN after ``batches`` batches (in all)."""
    class Poison(keras.callbacks.Callback):
        seen = 0

        def on_train_batch_end(self, batch, logs=None):
            self.seen += 1
            if self.seen == batches:
                self.model.set_weights([w * np.nan for w in self.model.get_weights()])
    return Poison()


def test_terminate_on_nan_stops_cleanly(capsys):
    model = _compiled()
    history = model.fit(X, Y, batch_size=2, epochs=3, verbose=0,
                        callbacks=[_nan_after(2), keras.callbacks.TerminateOnNaN()])
    assert capsys.readouterr().out == "Batch 2: Invalid loss, terminating training\n"
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])
    assert model.optimizer.iterations == 3


def test_nan_loss_leaves_no_half_written_checkpoint(tmp_path):
    model = _compiled()
    best = tmp_path / "best.keras"
    every = tmp_path / "e{epoch}.weights.safetensors"
    callbacks = [keras.callbacks.ModelCheckpoint(str(best), monitor="loss",
                                                 save_best_only=True),
                 keras.callbacks.ModelCheckpoint(str(every), save_weights_only=True),
                 keras.callbacks.BackupAndRestore(str(tmp_path / "backup"),
                                                  delete_checkpoint=False),
                 _nan_after(7), keras.callbacks.TerminateOnNaN()]
    history = model.fit(X, Y, batch_size=2, epochs=3, verbose=0, callbacks=callbacks)
    assert history.epoch == [0, 1]
    files = sorted(os.listdir(tmp_path))
    assert files == ["backup", "best.keras", "e1.weights.safetensors",
                     "e2.weights.safetensors"]
    assert not any(name.endswith(".tmp") for name in os.listdir(tmp_path / "backup"))
    # the best model is from epoch 1 (the NaN epoch never improves on it) and loads
    restored = keras.models.load_model(str(best))
    assert all(np.isfinite(w).all() for w in restored.get_weights())


def test_validation_split_errors():
    with pytest.raises(ValueError, match=r"Training data contains 10 samples, which is not "
                                         r"sufficient to split it"):
        _compiled().fit(X, Y, validation_split=0.99, verbose=0)
    with pytest.raises(ValueError, match=r"`validation_split` is only supported for Tensors "
                                         r"or NumPy arrays"):
        _compiled().fit(iter([(X, Y)]), validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match=r"`validation_split` must be in \[0, 1\)"):
        _compiled().fit(X, Y, validation_split=1.5, verbose=0)


def test_other_bad_arguments():
    model = _compiled()
    with pytest.raises(ValueError, match=r"the `y` argument is not supported when `x` is a"):
        model.fit(iter([(X, Y)]), Y, verbose=0)
    with pytest.raises(ValueError, match=r"`batch_size` argument must not be specified"):
        model.fit(iter([(X, Y)]), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=r"cannot `class_weight` and `sample_weight`"):
        model.fit(X, Y, class_weight={0: 1.0}, sample_weight=np.ones(10), verbose=0)
    with pytest.raises(ValueError, match=r"`class_weight` has no weight for class\(es\) "
                                         r"\[1\]"):
        model.fit(X, np.array([0, 1] * 5), class_weight={0: 1.0}, verbose=0)
    with pytest.raises(ValueError, match=r"`verbose` must be 'auto', 0, 1 or 2, got 3"):
        model.fit(X, Y, verbose=3)
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive integer, got 0"):
        model.fit(X, Y, batch_size=0, verbose=0)
    with pytest.raises(TypeError, match=r"map-style TensorDataset(.|\n)*DataLoader"):
        from ember.data import TensorDataset
        import ember
        model.fit(TensorDataset(ember.tensor(X), ember.tensor(Y)), verbose=0)
    with pytest.raises(TypeError, match=r"unrecognized data type"):
        model.fit(42, verbose=0)
    with pytest.raises(ValueError, match=r"the model has 1 outputs|In the dict argument "
                                         r"`loss`, key 'nope'"):
        bad = _model()
        bad.compile(optimizer="sgd", loss={"nope": "mse"})
        bad.fit(X, Y, verbose=0)
