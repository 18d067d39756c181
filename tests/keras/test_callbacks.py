"""keras.callbacks: each callback's rules on scripted logs, and in real fits."""
import csv
import json
import os

import numpy as np
import pytest

from ember import keras
from ember.keras.layers.core import Dense


class _StubModel:
    """Just what the callbacks touch: stop_training, weights, an optimizer."""

    def __init__(self, lr=1.0):
        self.stop_training = False
        self.weights = [np.zeros(2)]
        self.metrics = []
        self.optimizer = type("Opt", (), {"learning_rate": lr, "iterations": 0})()

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]


def _drive(callback, values, key="val_loss", model=None):
    """Run epochs with ``values`` of ``key``; the weights hold the epoch index.
    Returns the epoch after which training stopped (None: it did not)."""
    model = model or _StubModel()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        model.weights = [np.full(2, float(epoch))]
        callback.on_epoch_end(epoch, {key: value})
        if model.stop_training:
            callback.on_train_end()
            return epoch
    callback.on_train_end()
    return None


def _model():
    return keras.Sequential([keras.Input(shape=(3,)), Dense(4, activation="relu"), Dense(1)])


X = np.random.default_rng(0).normal(size=(24, 3)).astype(np.float32)
Y = X.sum(axis=1, keepdims=True)


# -- EarlyStopping ------------------------------------------------------------------------
@pytest.mark.parametrize("values, patience, stopped", [
    ([1.0, 0.9, 0.95, 0.96], 1, 2),          # no improvement at epoch 2
    ([1.0, 0.9, 0.95, 0.96], 2, 3),
    ([1.0, 0.9, 0.8, 0.7], 0, None),
    ([1.0, 1.0, 1.0], 0, 1),                  # equal is not an improvement
])
def test_early_stopping_patience(values, patience, stopped):
    assert _drive(keras.callbacks.EarlyStopping(patience=patience), values) == stopped


def test_early_stopping_min_delta_mode_baseline_start():
    # an improvement of 0.05 < min_delta 0.1 does not count
    assert _drive(keras.callbacks.EarlyStopping(min_delta=0.1), [1.0, 0.95]) == 1
    # accuracy goes up in 'auto' mode
    assert _drive(keras.callbacks.EarlyStopping(monitor="val_accuracy"),
                  [0.5, 0.6, 0.7], key="val_accuracy") is None
    assert _drive(keras.callbacks.EarlyStopping(monitor="val_loss", mode="max"),
                  [0.5, 0.4], key="val_loss") == 1
    # improvements that do not beat the baseline do not reset the wait (Keras's rule)
    assert _drive(keras.callbacks.EarlyStopping(baseline=0.5, patience=2),
                  [0.9, 0.8, 0.8, 0.8]) == 2
    assert _drive(keras.callbacks.EarlyStopping(patience=2), [0.9, 0.8, 0.8, 0.8]) == 3
    # epochs before start_from_epoch are not watched
    assert _drive(keras.callbacks.EarlyStopping(start_from_epoch=2),
                  [1.0, 2.0, 3.0, 4.0, 5.0]) == 3


def test_early_stopping_restores_best_weights(capsys):
    model = _StubModel()
    callback = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    assert _drive(callback, [1.0, 0.5, 0.7, 0.8], model=model) == 3
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])
    assert callback.best == 0.5 and callback.best_epoch == 1
    assert capsys.readouterr().out == ("Epoch 4: early stopping\nRestoring model weights "
                                       "from the end of the best epoch: 2.\n")


def test_early_stopping_unknown_direction_and_missing_monitor():
    with pytest.raises(ValueError, match=r"monitor=val_zorp but Keras isn't able to "
                                         r"automatically determine"):
        _drive(keras.callbacks.EarlyStopping(monitor="val_zorp"), [1.0], key="val_zorp")
    with pytest.warns(UserWarning, match=r"conditioned on metric `val_loss` which is not "
                                         r"available. Available metrics are: loss"):
        _drive(keras.callbacks.EarlyStopping(), [1.0], key="loss")


def test_early_stopping_in_fit():
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    history = model.fit(X, Y, epochs=10, verbose=0, validation_split=0.25,
                        callbacks=[keras.callbacks.EarlyStopping(patience=2)])
    assert history.epoch == [0, 1, 2]           # lr 0: val_loss never improves


# -- ModelCheckpoint ----------------------------------------------------------------------
def test_model_checkpoint_filepath_and_best_only(tmp_path, capsys):
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    path = str(tmp_path / "m-{epoch:02d}-{val_loss:.3f}.keras")
    callback = keras.callbacks.ModelCheckpoint(path, save_best_only=True, verbose=1)
    callback.set_model(model)
    for epoch, value in enumerate([0.5, 0.7, 0.25]):
        callback.on_epoch_end(epoch, {"val_loss": value})
    assert sorted(os.listdir(tmp_path)) == ["m-01-0.500.keras", "m-03-0.250.keras"]
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from inf to 0.50000, saving model to" in out
    assert "Epoch 2: val_loss did not improve from 0.50000" in out
    loaded = keras.models.load_model(str(tmp_path / "m-03-0.250.keras"))
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_weights_every_n_batches_and_threshold(tmp_path):
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    path = str(tmp_path / "w-{epoch}-{batch}.weights.safetensors")
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[
        keras.callbacks.ModelCheckpoint(path, save_weights_only=True, save_freq=2)])
    assert sorted(os.listdir(tmp_path)) == ["w-1-2.weights.safetensors",
                                            "w-2-1.weights.safetensors",
                                            "w-2-3.weights.safetensors"]
    best = keras.callbacks.ModelCheckpoint(str(tmp_path / "b.keras"), monitor="acc",
                                           save_best_only=True, initial_value_threshold=0.9)
    best.set_model(model)
    best.on_epoch_end(0, {"acc": 0.8})
    assert not os.path.exists(tmp_path / "b.keras")    # 'acc' is maximized: 0.8 < 0.9


def test_model_checkpoint_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"must end in `\.keras`"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "m.h5"))
    with pytest.raises(ValueError, match=r"must end in `\.weights\.safetensors`"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_weights_only=True)
    with pytest.raises(ValueError, match=r"Unrecognized save_freq: often"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_freq="often")
    callback = keras.callbacks.ModelCheckpoint(str(tmp_path / "{nope}.keras"))
    callback.set_model(_model())
    with pytest.raises(KeyError, match=r"Failed to format this callback filepath"):
        callback.on_epoch_end(0, {"loss": 1.0})


# -- learning rate callbacks --------------------------------------------------------------
def test_learning_rate_scheduler_in_fit(capsys):
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    history = model.fit(X, Y, epochs=3, verbose=0, callbacks=[
        keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5, verbose=1)])
    np.testing.assert_allclose(history.history["learning_rate"], [0.05, 0.025, 0.0125])
    assert model.optimizer.learning_rate == pytest.approx(0.0125)
    assert "Epoch 3: LearningRateScheduler setting learning rate to 0.0125." in \
        capsys.readouterr().out
    one_arg = keras.callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[one_arg])
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    with pytest.raises(ValueError, match=r'The output of the "schedule" function should be '
                                         r"a float\. Got: fast"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[
            keras.callbacks.LearningRateScheduler(lambda epoch, lr: "fast")])


def test_reduce_lr_on_plateau_rules():
    model = _StubModel(lr=1.0)
    callback = keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1,
                                                 min_lr=0.2)
    callback.set_model(model)
    callback.on_train_begin()
    lrs = []
    for epoch, value in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]):
        logs = {"val_loss": value}
        callback.on_epoch_end(epoch, logs)
        lrs.append(model.optimizer.learning_rate)
        assert logs["learning_rate"] == (lrs[-2] if epoch else 1.0)
    # waits 2 epochs and reduces; a cooldown epoch resets the wait and (Keras's rule) also
    # counts as the first epoch of the next wait; never below min_lr
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2]
    with pytest.raises(ValueError, match=r"does not support a factor >= 1\.0"):
        keras.callbacks.ReduceLROnPlateau(factor=1.5)


# -- CSVLogger, LambdaCallback, TerminateOnNaN -------------------------------------------------
def test_csv_logger_matches_history_and_appends(tmp_path):
    path = tmp_path / "log.csv"
    model = _model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(X, Y, epochs=2, verbose=0, validation_split=0.25,
                        callbacks=[keras.callbacks.CSVLogger(str(path))])
    model.fit(X, Y, epochs=1, verbose=0, validation_split=0.25,
              callbacks=[keras.callbacks.CSVLogger(str(path), append=True)])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "0"]
    for row, epoch in zip(rows[1:3], (0, 1)):
        for key, cell in zip(rows[0][1:], row[1:]):
            assert float(cell) == pytest.approx(history.history[key][epoch], rel=1e-6)
    semicolons = tmp_path / "semi.csv"
    model.fit(X, Y, epochs=1, verbose=0,
              callbacks=[keras.callbacks.CSVLogger(str(semicolons), separator=";")])
    assert semicolons.read_text().splitlines()[0] == "epoch;loss;mae"


def test_lambda_callback_hooks():
    calls = []
    callback = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, sorted(logs))),
        on_train_batch_end=lambda batch, logs: calls.append(("batch", batch)),
        on_train_end=lambda logs: calls.append("train_end"))
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y, batch_size=12, epochs=2, verbose=0, callbacks=[callback])
    assert calls == ["train_begin", ("batch", 0), ("batch", 1), ("epoch_end", 0, ["loss"]),
                     ("batch", 0), ("batch", 1), ("epoch_end", 1, ["loss"]), "train_end"]
    with pytest.raises(ValueError, match=r"unknown hooks \['on_lunch'\]"):
        keras.callbacks.LambdaCallback(on_lunch=print)


def test_callback_order_and_batch_hooks_only_reach_users():
    events = []

    class Recorder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            events.append(("epoch_begin", epoch))

        def on_test_begin(self, logs=None):
            events.append("test_begin")

        def on_epoch_end(self, epoch, logs=None):
            events.append(("epoch_end", epoch, sorted(logs)))

    callbacks = keras.callbacks.CallbackList([Recorder()], add_history=True)
    assert not callbacks.wants("train_batch_end")
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y, epochs=1, verbose=0, validation_data=(X, Y), callbacks=[Recorder()])
    assert events == [("epoch_begin", 0), "test_begin", ("epoch_end", 0,
                                                         ["loss", "val_loss"])]


# -- BackupAndRestore ---------------------------------------------------------------------
def test_backup_and_restore_resumes_after_interruption(tmp_path):
    backup_dir = tmp_path / "backup"
    saved = {}

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            saved[epoch] = self.model.get_weights()
            if epoch == 1:
                raise RuntimeError("power cut")

    keras.backend.clear_session()
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(RuntimeError, match="power cut"):
        model.fit(X, Y, epochs=4, verbose=0, callbacks=[
            keras.callbacks.BackupAndRestore(str(backup_dir)), Crash()])
    record = json.loads((backup_dir / "training_metadata.json").read_text())
    assert record["epoch"] == 2          # backed up after epoch 1 (before the crash callback)
    keras.backend.clear_session()                # as in a new process: same layer names
    fresh = _model()
    fresh.compile(optimizer="sgd", loss="mse")
    restored = []
    probe = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: restored.append(fresh.get_weights()))
    history = fresh.fit(X, Y, epochs=4, verbose=0, callbacks=[
        keras.callbacks.BackupAndRestore(str(backup_dir)), probe])
    assert history.epoch == [2, 3]
    for a, b in zip(restored[0], saved[1]):
        np.testing.assert_array_equal(a, b)
    assert not backup_dir.exists()                 # delete_checkpoint=True after success


def test_backup_and_restore_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        keras.callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match=r"save_freq=sometimes"):
        keras.callbacks.BackupAndRestore(str(tmp_path), save_freq="sometimes")
    (tmp_path / "training_metadata.json").write_text("{not json")
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"the backup record .* is not valid"):
        model.fit(X, Y, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path))])


# -- TensorBoard --------------------------------------------------------------------------
def test_tensorboard_writes_real_event_files(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from ember.keras.layers.merging import Add
    inputs = keras.Input(shape=(3,))
    hidden = Dense(3, name="hidden")(inputs)
    outputs = Dense(1, name="head")(Add(name="skip")([inputs, hidden]))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(X, Y, epochs=3, batch_size=8, verbose=0, validation_split=0.25,
                        callbacks=[keras.callbacks.TensorBoard(
                            str(tmp_path), histogram_freq=2, update_freq=2,
                            write_images=True)])
    train = EventAccumulator(str(tmp_path / "train"), size_guidance={"images": 0, "histograms": 0})
    train.Reload()
    tags = train.Tags()
    for key in ("loss", "mae"):
        events = train.Scalars("epoch_" + key)
        assert [e.step for e in events] == [0, 1, 2]
        np.testing.assert_allclose([e.value for e in events], history.history[key],
                                   rtol=1e-6)
    assert [e.step for e in train.Scalars("batch_loss")] == [2, 4, 6, 8]
    assert sorted(tags["histograms"]) == ["head/bias", "head/kernel", "hidden/bias",
                                          "hidden/kernel"]
    assert [e.step for e in train.Histograms("head/kernel")] == [0, 2]
    kernel = model.get_layer("head").kernel.detach().numpy()
    last = train.Histograms("head/kernel")[-1].histogram_value
    assert last.num == kernel.size and last.max == pytest.approx(kernel.max())
    assert "head/kernel/image" in tags["images"]
    graph = train.Graph()
    nodes = {node.name: list(node.input) for node in graph.node}
    assert nodes["skip"] == [model.layers[0].name, "hidden"] and nodes["head"] == ["skip"]
    validation = EventAccumulator(str(tmp_path / "validation"))
    validation.Reload()
    np.testing.assert_allclose([e.value for e in validation.Scalars("epoch_loss")],
                               history.history["val_loss"], rtol=1e-6)


def test_tensorboard_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"`update_freq` must be 'epoch', 'batch'"):
        keras.callbacks.TensorBoard(str(tmp_path), update_freq="hourly")
    with pytest.raises(ValueError, match=r"`profile_batch` and `embeddings_freq` are "
                                         r"TensorFlow"):
        keras.callbacks.TensorBoard(str(tmp_path), profile_batch=2)
