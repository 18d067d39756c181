"""keras Model.compile/fit/evaluate/predict: numbers against a PyTorch loop, data forms,
logs, History, the progress bar."""
import io
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember import keras
from ember.data import DataLoader, TensorDataset
from ember.data.pipeline import from_tensor_slices
from ember.keras.layers.core import Dense
from ember.keras.trainers.data_adapter import ArrayBatches, EpochIterator, \
    class_weight_to_sample_weight


def _mlp(inputs=4, hidden=3, outputs=1, **dense_kwargs):
    return keras.Sequential([keras.Input(shape=(inputs,)),
                             Dense(hidden, activation="relu", **dense_kwargs),
                             Dense(outputs)])


def _data(n=20, d=4, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x @ rng.normal(size=(d, 1)) + 0.1).astype(np.float32)
    return x, y


def _torch_sgd_run(weights, x, y, lr, batch_size, epochs, sample_weight=None):
    """The same training written as a plain torch loop (Keras layout -> torch layout)."""
    k1, b1, k2, b2 = (torch.tensor(w, requires_grad=True) for w in weights)
    epoch_losses = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for start in range(0, len(x), batch_size):
            xb = torch.tensor(x[start:start + batch_size])
            yb = torch.tensor(y[start:start + batch_size])
            pred = torch.relu(xb @ k1 + b1) @ k2 + b2
            per_sample = ((pred - yb) ** 2).mean(dim=-1)
            if sample_weight is not None:
                per_sample = per_sample * torch.tensor(sample_weight[start:start + batch_size])
            loss = per_sample.mean()
            loss.backward()
            with torch.no_grad():
                for p in (k1, b1, k2, b2):
                    p -= lr * p.grad
                    p.grad = None
            total += loss.item() * len(xb)
            count += len(xb)
        epoch_losses.append(total / count)
    return [p.detach().numpy() for p in (k1, b1, k2, b2)], epoch_losses


@pytest.mark.parametrize("batch_size", [8, 32])
def test_sgd_fit_matches_torch_loop(batch_size):
    x, y = _data()
    model = _mlp()
    start = model.get_weights()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    history = model.fit(x, y, batch_size=batch_size, epochs=3, shuffle=False, verbose=0)
    want_weights, want_losses = _torch_sgd_run(start, x, y, 0.1, batch_size, 3)
    for got, want in zip(model.get_weights(), want_weights):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history.history["loss"], want_losses, rtol=1e-5)
    assert history.epoch == [0, 1, 2]
    assert history.params == {"verbose": 0, "epochs": 3, "steps": -(-20 // batch_size)}
    assert model.history is history


def test_sample_weight_matches_torch_loop():
    x, y = _data()
    weights = np.where(y[:, 0] > 0, 2.0, 0.5).astype(np.float32)
    model = _mlp()
    start = model.get_weights()
    want, want_losses = _torch_sgd_run(start, x, y, 0.05, 8, 2, sample_weight=weights)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, sample_weight=weights)
    for got, w in zip(model.get_weights(), want):
        np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.history.history["loss"], want_losses, rtol=1e-5)


def test_class_weight_equals_explicit_sample_weight():
    x, _ = _data()
    labels = np.arange(20) % 3
    one = _mlp(outputs=3)
    two = _mlp(outputs=3)
    two.set_weights(one.get_weights())
    cw = {0: 1.0, 1: 3.0, 2: 0.25}
    for model in (one, two):
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    one.fit(x, labels, batch_size=8, epochs=2, shuffle=False, verbose=0, class_weight=cw)
    two.fit(x, labels, batch_size=8, epochs=2, shuffle=False, verbose=0,
            sample_weight=np.array([cw[int(c)] for c in labels], dtype=np.float32))
    for a, b in zip(one.get_weights(), two.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def _fixed_mlp():
    """An MLP whose starting weights are always the same."""
    model = _mlp()
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5
                       for w in model.get_weights()])
    return model


def _fit_weights(data, y=None, **kwargs):
    model = _fixed_mlp()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    history = model.fit(data, y, verbose=0, **kwargs)
    return model.get_weights(), history


def test_iterables_train_like_arrays():
    x, y = _data()
    want, _ = _fit_weights(x, y, batch_size=5, epochs=2, shuffle=False)
    loader = DataLoader(TensorDataset(ember.tensor(x), ember.tensor(y)), batch_size=5)
    got, history = _fit_weights(loader, epochs=2)
    assert history.params["steps"] == 4
    batches = [(x[i:i + 5], y[i:i + 5]) for i in range(0, 20, 5)]

    class Batches:                   # a reiterable source of batches (a "Sequence")
        def __iter__(self):
            return iter(batches)

    got_list, _ = _fit_weights(Batches(), epochs=2)

    def generator():
        while True:
            yield from batches

    got_gen, history = _fit_weights(generator(), epochs=2, steps_per_epoch=4)
    assert history.params["steps"] == 4
    for other in (got, got_list, got_gen):
        for a, b in zip(other, want):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_pipeline_input():
    x, y = _data()
    want, _ = _fit_weights(x, y, batch_size=5, epochs=2, shuffle=False)
    got, history = _fit_weights(from_tensor_slices((x, y)).batch(5), epochs=2)
    assert history.params["steps"] == 4
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_spent_generator_stops_training_with_warning():
    x, y = _data()
    batches = ((x[i:i + 5], y[i:i + 5]) for i in range(0, 20, 5))
    with pytest.warns(UserWarning, match="ran out of data"):
        _, history = _fit_weights(batches, epochs=3)
    assert history.epoch == [0]


def test_validation_split_takes_last_samples_before_shuffling():
    x, y = _data(n=40)
    model = _mlp()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse",
                  metrics=["mae"])
    history = model.fit(x, y, validation_split=0.25, epochs=1, batch_size=7, verbose=0)
    loss, mae = model.evaluate(x[30:], y[30:], verbose=0)
    pred = model.predict(x[30:], verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][0], loss, rtol=1e-6)
    np.testing.assert_allclose(loss, np.mean((pred - y[30:]) ** 2), rtol=1e-5)
    np.testing.assert_allclose(mae, np.mean(np.abs(pred - y[30:])), rtol=1e-5)
    assert sorted(history.history) == ["loss", "mae", "val_loss", "val_mae"]


def test_validation_data_and_freq():
    x, y = _data()
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, validation_data=(x[:6], y[:6]), epochs=4, verbose=0,
                        validation_freq=2)
    assert len(history.history["loss"]) == 4
    assert len(history.history["val_loss"]) == 2


def test_initial_epoch():
    x, y = _data()
    _, history = _fit_weights(x, y, epochs=4, initial_epoch=2)
    assert history.epoch == [2, 3]


def test_regularization_loss_is_added():
    x, y = _data()
    model = _mlp(kernel_regularizer=keras.regularizers.L2(0.1))
    model.compile(optimizer="sgd", loss="mse")
    loss = model.evaluate(x, y, verbose=0, batch_size=20)
    pred = model.predict(x, verbose=0)
    kernel = model.layers[0].kernel.detach().numpy()
    np.testing.assert_allclose(loss, np.mean((pred - y) ** 2) + 0.1 * np.sum(kernel ** 2),
                               rtol=1e-5)


def test_multi_input_multi_output_dict_losses_and_weights():
    from ember.keras.layers.merging import Concatenate
    a, b = keras.Input(shape=(2,), name="a"), keras.Input(shape=(3,), name="b")
    merged = Concatenate()([a, b])
    out1 = Dense(1, name="reg")(merged)
    out2 = Dense(1, name="aux")(merged)
    model = keras.Model([a, b], [out1, out2])
    model.compile(optimizer="sgd", loss={"reg": "mse", "aux": "mae"},
                  loss_weights={"reg": 1.0, "aux": 0.5}, metrics={"reg": ["mae"]})
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(16, 2)), rng.normal(size=(16, 3))
    ya, yb = rng.normal(size=(16, 1)), rng.normal(size=(16, 1))
    history = model.fit([xa, xb], {"reg": ya, "aux": yb}, epochs=1, verbose=0)
    assert sorted(history.history) == ["aux_loss", "loss", "reg_loss", "reg_mae"]
    logs = model.evaluate([xa, xb], [ya, yb], verbose=0, return_dict=True, batch_size=16)
    p1, p2 = model.predict([xa, xb], verbose=0)
    np.testing.assert_allclose(logs["reg_loss"], np.mean((p1 - ya) ** 2), rtol=1e-5)
    np.testing.assert_allclose(logs["aux_loss"], np.mean(np.abs(p2 - yb)), rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], logs["reg_loss"] + 0.5 * logs["aux_loss"],
                               rtol=1e-5)
    assert model.metrics_names == ["loss", "aux_loss", "reg_loss", "reg_mae"]


def test_evaluate_predict_and_single_batch_methods():
    x, y = _data()
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    loss, mae = model.evaluate(x, y, verbose=0)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs == {"loss": loss, "mae": mae}
    direct = model(ember.tensor(x)).detach().numpy()
    np.testing.assert_allclose(model.predict(x, batch_size=3, verbose=0), direct, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x), direct, rtol=1e-6)
    assert model.test_on_batch(x, y, return_dict=True)["loss"] == pytest.approx(
        float(np.mean((direct - y) ** 2)), rel=1e-5)
    model.reset_metrics()
    before = model.get_weights()
    loss_before = model.train_on_batch(x, y)[0]
    assert loss_before == pytest.approx(float(np.mean((direct - y) ** 2)), rel=1e-5)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    assert model.optimizer.iterations == 1
    assert [m.name for m in model.metrics] == ["loss", "mae"]


def test_stop_training_at_batch_end():
    x, y = _data(n=40)

    class StopAfterThree(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.stop_training = True

    model = _mlp()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, batch_size=4, epochs=5, verbose=0,
                        callbacks=[StopAfterThree()])
    assert history.epoch == [0]
    assert model.optimizer.iterations == 3


@pytest.mark.parametrize("jit", [True, "auto"])
def test_jit_compile_runs_compiled_steps_equal_to_eager(jit):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 4)).astype(np.float32)
    y = rng.standard_normal((40, 2)).astype(np.float32)
    results = {}
    for mode in (False, jit):
        ember.manual_seed(3)
        model = _mlp(outputs=2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")          # no fallback warning: it compiles
            model.compile(optimizer="adam", loss="mse", metrics=["mae"], jit_compile=mode)
            hist = model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
            ev = model.evaluate(x, y, batch_size=16, verbose=0)
            pred = model.predict(x, batch_size=16, verbose=0)
        results[mode] = (hist.history["loss"], ev, pred,
                         [np.array(w) for w in model.get_weights()])
        if mode:
            assert set(model._jit_steps) == {"train", "test", "predict"}
            assert all(len(f.graphs) >= 1 for f in model._jit_steps.values())
        else:
            assert model._jit_steps == {}
    (h0, e0, p0, w0), (h1, e1, p1, w1) = results[False], results[jit]
    np.testing.assert_allclose(h0, h1, rtol=1e-5)
    np.testing.assert_allclose(e0, e1, rtol=1e-5)
    np.testing.assert_allclose(p0, p1, rtol=1e-5, atol=1e-6)
    for a, b in zip(w0, w1):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_jit_compile_true_warns_when_a_step_cannot_be_compiled():
    from ember.keras import layers

    class Branchy(layers.Layer):
        def call(self, inputs):
            return inputs * 2 if float(inputs.sum()) > 0 else inputs
    x = np.ones((8, 4), np.float32)
    for jit, expect in ((True, 1), ("auto", 0)):
        model = keras.Sequential([keras.Input(shape=(4,)), Branchy(), Dense(2)])
        model.compile(optimizer="sgd", loss="mse", jit_compile=jit)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            model.fit(x, np.ones((8, 2), np.float32), batch_size=4, epochs=2, verbose=0)
        assert sum("ember.compile" in str(w.message) for w in rec) == expect
    with pytest.raises(ValueError, match="jit_compile"):
        model.compile(optimizer="sgd", loss="mse", jit_compile="xla")


def test_compile_config_is_serialized():
    model = _mlp()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.3), loss="mse",
                  metrics=["mae"])
    config = model.get_compile_config()
    assert config["loss"] == "mse" and config["metrics"] == ["mae"]
    assert config["optimizer"]["class_name"] == "SGD"
    assert config["optimizer"]["config"]["learning_rate"] == pytest.approx(0.3)


def test_compile_from_config_round_trip_with_per_output_dicts():
    import json
    from ember.keras.layers.merging import Concatenate
    inputs = keras.Input(shape=(3,))
    outputs = [Dense(1, name="a")(inputs), Dense(1, name="b")(Concatenate()([inputs,
                                                                                 inputs]))]
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss={"a": "mse", "b": keras.losses.MeanAbsoluteError()},
                  loss_weights={"a": 1.0, "b": 0.5}, metrics={"a": ["mae"]})
    config = json.loads(json.dumps(model.get_compile_config()))
    clone = keras.Model(inputs, outputs)
    clone.compile_from_config(config)
    assert clone.optimizer.learning_rate == pytest.approx(0.01)
    assert clone.loss["a"] == "mse"
    assert isinstance(clone.loss["b"], keras.losses.MeanAbsoluteError)
    x = np.ones((4, 3), dtype=np.float32)
    y = {"a": np.zeros((4, 1)), "b": np.ones((4, 1))}
    model.set_weights(clone.get_weights())
    assert clone.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))


# -- the progress bar ---------------------------------------------------------------------
_LINE = r"\d+/\d+ \u2501{20} \d+s \d+(s|ms|us)/step - loss: \d+\.\d{4}"


def _fit_output(capsys, **kwargs):
    x, y = _data()
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=8, **kwargs)
    return capsys.readouterr().out


def test_progress_bar_verbose_1_on_a_non_terminal(capsys):
    out = _fit_output(capsys, epochs=2)
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert re.fullmatch(r"3/3 \u2501{20} \d+s \d+(s|ms|us)/step - loss: \d+\.\d{4}",
                        lines[1]), lines[1]
    assert len(lines) == 4 and "\r" not in out


def test_progress_bar_verbose_auto_with_validation(capsys):
    out = _fit_output(capsys, epochs=1, validation_split=0.2)
    (line,) = out.splitlines()
    assert re.fullmatch(_LINE + r" - val_loss: \d+\.\d{4}", line), line


def test_progress_bar_verbose_2_and_0(capsys):
    out = _fit_output(capsys, epochs=2, verbose=2)
    assert re.fullmatch(r"Epoch 1/2\n3/3 - \d+s - \d+(s|ms|us)/step - loss: \d+\.\d{4}\n"
                        r"Epoch 2/2\n3/3 - \d+s - \d+(s|ms|us)/step - loss: \d+\.\d{4}\n",
                        out), out
    assert _fit_output(capsys, epochs=2, verbose=0) == ""


def test_progress_bar_redraws_in_place_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = keras.callbacks.Progbar(4, stream=stream, interval=0.0)
    for step in range(1, 5):
        bar.update(step, [("loss", 1.0 / step)], finalize=step == 4)
    out = stream.getvalue()
    assert out.count("\r") == 4 and out.endswith("- loss: 0.2500\n")
    assert "\x1b[1m" in out                  # bold for the done part, as Keras draws it


def test_progress_bar_unknown_target():
    stream = io.StringIO()
    bar = keras.callbacks.Progbar(None, verbose=2, stream=stream)
    bar.update(7, [("loss", 0.5)], finalize=True)
    assert re.fullmatch(r"7/7 - \d+s - \d+(s|ms|us)/step - loss: 0\.5000\n",
                        stream.getvalue())


# -- batching -----------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 50), batch_size=st.integers(1, 20),
       shuffle=st.sampled_from([False, True, "batch"]))
def test_array_batches_cover_every_sample_once_per_epoch(n, batch_size, shuffle):
    x = np.arange(n, dtype=np.float32).reshape(n, 1)
    source = ArrayBatches({"a": x, "b": x * 2}, np.arange(n), batch_size=batch_size,
                          shuffle=shuffle)
    batches = list(EpochIterator(source))
    assert [step for step, _ in batches] == list(range(-(-n // batch_size)))
    seen = np.concatenate([bx["a"][:, 0] for _, (bx, _, _) in batches])
    labels = np.concatenate([by for _, (_, by, _) in batches])
    np.testing.assert_array_equal(np.sort(seen), np.arange(n))
    np.testing.assert_array_equal(seen, labels)           # x and y stay paired
    for _, (bx, _, _) in batches:
        np.testing.assert_array_equal(bx["b"], bx["a"] * 2)
    if not shuffle:
        np.testing.assert_array_equal(seen, np.arange(n))
    if shuffle == "batch":                  # whole batch-sized chunks move together
        for _, (bx, _, _) in batches:
            assert len(set(bx["a"][:, 0] // batch_size)) == 1


def test_steps_per_epoch_carries_on_across_epochs_and_restarts():
    source = ArrayBatches(np.arange(10, dtype=np.float32).reshape(10, 1), batch_size=4)
    iterator = EpochIterator(source, steps=2)
    epochs = [[bx[0, 0] for _, (bx, _, _) in iterator] for _ in range(3)]
    assert epochs == [[0, 4], [8, 0], [4, 8]]


def test_class_weight_to_sample_weight_one_hot_and_int_labels():
    cw = {0: 0.5, 1: 2.0, 2: 1.0}
    np.testing.assert_array_equal(class_weight_to_sample_weight(cw, np.array([2, 0, 1])),
                                  [1.0, 0.5, 2.0])
    np.testing.assert_array_equal(class_weight_to_sample_weight(cw, np.eye(3)[[1, 1, 0]]),
                                  [2.0, 2.0, 0.5])


def test_fit_projects_constrained_weights_after_every_step():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([[-1.0], [2.0], [-3.0]])).astype(np.float32)
    model = keras.Sequential([keras.Input((3,)),
                              keras.layers.Dense(1, kernel_constraint="non_neg")])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    kernel = model.get_weights()[0]
    assert kernel.min() >= 0.0 and kernel[1, 0] > 0.5   # negative weights were clipped
