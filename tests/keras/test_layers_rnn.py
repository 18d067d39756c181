"""keras SimpleRNN/LSTM/GRU, their cells, RNN(cell), Bidirectional and TimeDistributed
against torch.nn.RNN/LSTM/GRU (Keras weights permuted into torch's layout) and NumPy."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from ember import keras
from ember.keras.layers.core import Dense
from ember.keras.layers.rnn import GRU, GRUCell, LSTM, LSTMCell, RNN, SimpleRNN, \
    SimpleRNNCell
from ember.keras.layers.wrappers import Bidirectional, TimeDistributed

N, T, F_IN, UNITS = 3, 5, 4, 6


def _zrh_to_rzn(w):
    """Keras GRU gates (z, r, h) on the last axis -> torch's (r, z, n)."""
    z, r, h = np.split(w, 3, axis=-1)
    return np.concatenate([r, z, h], axis=-1)


def _torch_twin(layer):
    """The torch module computing what the built Keras-style ``layer`` computes."""
    kernel, recurrent, bias = layer.get_weights()
    zeros = np.zeros(kernel.shape[1])
    if isinstance(layer, GRU):
        module = torch.nn.GRU(kernel.shape[0], layer.units, batch_first=True)
        kernel, recurrent = _zrh_to_rzn(kernel), _zrh_to_rzn(recurrent)
        b_ih, b_hh = _zrh_to_rzn(bias[0]), _zrh_to_rzn(bias[1])
    else:
        cls = torch.nn.LSTM if isinstance(layer, LSTM) else torch.nn.RNN
        module = cls(kernel.shape[0], layer.units, batch_first=True)
        b_ih, b_hh = bias, zeros        # torch gate order i, f, g, o == Keras's i, f, c, o
    module = module.double()
    with torch.no_grad():
        for name, value in (("weight_ih_l0", kernel.T), ("weight_hh_l0", recurrent.T),
                            ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
            getattr(module, name).copy_(torch.tensor(value))
    return module


def _randomized(layer, features=F_IN, seed=0):
    """Build ``layer`` in float64 and give every weight (bias too) random values."""
    layer.build((None, T, features))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape) for w in layer.get_weights()])
    return layer


def _run_torch(module, x, states, go_backwards):
    tx = torch.tensor(x[:, ::-1].copy() if go_backwards else x, requires_grad=True)
    out, final = module(tx, states)
    return tx, out, final


@settings(max_examples=12, deadline=None)
@given(kind=st.sampled_from([SimpleRNN, LSTM, GRU]), return_sequences=st.booleans(),
       go_backwards=st.booleans(), with_state=st.booleans())
def test_layers_match_torch_forward_states_and_gradients(kind, return_sequences,
                                                         go_backwards, with_state):
    rng = np.random.default_rng(1)
    layer = _randomized(kind(UNITS, return_sequences=return_sequences, return_state=True,
                             go_backwards=go_backwards, dtype="float64"))
    module = _torch_twin(layer)
    x = rng.normal(size=(N, T, F_IN))
    n_states = 2 if kind is LSTM else 1
    init = [rng.normal(size=(N, UNITS)) for _ in range(n_states)] if with_state else None
    torch_init = None
    if init is not None:
        torch_init = tuple(torch.tensor(s[None]) for s in init)
        torch_init = torch_init if kind is LSTM else torch_init[0]
    ex = ember.tensor(x, requires_grad=True)
    got = layer(ex, initial_state=init)
    tx, out, final = _run_torch(module, x, torch_init, go_backwards)
    final = final if kind is LSTM else (final,)
    ref_out = out if return_sequences else out[:, -1]
    np.testing.assert_allclose(got[0].detach().numpy(), ref_out.detach().numpy(), atol=1e-10)
    for mine, theirs in zip(got[1:], final):
        np.testing.assert_allclose(mine.detach().numpy(), theirs[0].detach().numpy(),
                                   atol=1e-10)
    assert len(got) == 1 + n_states
    g = rng.normal(size=tuple(got[0].shape))
    (got[0] * ember.tensor(g)).sum().backward()
    (ref_out * torch.tensor(g)).sum().backward()
    ref_dx = tx.grad.numpy()[:, ::-1] if go_backwards else tx.grad.numpy()
    np.testing.assert_allclose(ex.grad.numpy(), ref_dx, atol=1e-10)
    dk = module.weight_ih_l0.grad.numpy().T
    dr = module.weight_hh_l0.grad.numpy().T
    if kind is GRU:
        dk, dr = _zrh_to_rzn(dk), _zrh_to_rzn(dr)    # swapping r and z is its own inverse
    np.testing.assert_allclose(layer.cell.kernel.grad.numpy(), dk, atol=1e-10)
    np.testing.assert_allclose(layer.cell.recurrent_kernel.grad.numpy(), dr, atol=1e-10)


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


def _hard_sigmoid(v):
    return np.clip(v / 6 + 0.5, 0, 1)


def test_non_default_activations_follow_keras_formulas():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(N, T, F_IN))
    lstm = _randomized(LSTM(UNITS, activation="relu", recurrent_activation="hard_sigmoid",
                            dtype="float64"))
    k, r, b = lstm.get_weights()
    h, c = np.zeros((N, UNITS)), np.zeros((N, UNITS))
    for t in range(T):
        z = x[:, t] @ k + h @ r + b
        i, f, g, o = np.split(z, 4, axis=-1)
        c = _hard_sigmoid(f) * c + _hard_sigmoid(i) * np.maximum(g, 0)
        h = _hard_sigmoid(o) * np.maximum(c, 0)
    np.testing.assert_allclose(lstm(x).detach().numpy(), h, atol=1e-10)
    for reset_after in (False, True):
        gru = _randomized(GRU(UNITS, activation="softsign", reset_after=reset_after,
                              dtype="float64"))
        k, r, b = gru.get_weights()
        b_in, b_rec = (b[0], b[1]) if reset_after else (b, np.zeros_like(b))
        h = np.zeros((N, UNITS))
        for t in range(T):
            xz, xr, xh = np.split(x[:, t] @ k + b_in, 3, axis=-1)
            hz, hr, hh = np.split(h @ r + b_rec, 3, axis=-1)
            zg, rg = _sigmoid(xz + hz), _sigmoid(xr + hr)
            pre = xh + rg * hh if reset_after else xh + (rg * h) @ r[:, 2 * UNITS:]
            h = zg * h + (1 - zg) * (pre / (1 + np.abs(pre)))
        np.testing.assert_allclose(gru(x).detach().numpy(), h, atol=1e-10)


def test_weight_shapes_and_initial_values_match_keras():
    lstm, gru = LSTM(3), GRU(3)
    lstm.build((None, 2, 5))
    gru.build((None, 2, 5))
    assert [w.shape for w in lstm.get_weights()] == [(5, 12), (3, 12), (12,)]
    np.testing.assert_array_equal(lstm.get_weights()[2], [0] * 3 + [1] * 3 + [0] * 6)
    assert [w.shape for w in gru.get_weights()] == [(5, 9), (3, 9), (2, 9)]
    no_reset = GRU(3, reset_after=False, use_bias=True)
    no_reset.build((None, 2, 5))
    assert no_reset.get_weights()[2].shape == (9,)
    rec = lstm.get_weights()[1]         # orthogonal: rows of a (3, 12) matrix orthonormal
    np.testing.assert_allclose(rec @ rec.T, np.eye(3), atol=1e-5)
    assert LSTM(3, use_bias=False, unit_forget_bias=False).units == 3
    assert lstm.units == 3 and lstm.recurrent_activation is keras.activations.sigmoid
    assert lstm.count_params() == 5 * 12 + 3 * 12 + 12


def test_generic_rnn_and_cells_match_the_layers():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N, T, F_IN))
    for cell_cls, layer_cls in ((SimpleRNNCell, SimpleRNN), (LSTMCell, LSTM),
                                (GRUCell, GRU)):
        layer = _randomized(layer_cls(UNITS, return_sequences=True, dtype="float64"))
        generic = RNN(cell_cls(UNITS, dtype="float64"), return_sequences=True)
        generic.build((None, T, F_IN))
        generic.set_weights(layer.get_weights())
        np.testing.assert_allclose(generic(x).detach().numpy(), layer(x).detach().numpy(),
                                   atol=1e-12)
        cell = layer.cell
        states = cell.get_initial_state(N)
        h, states = cell(x[:, 0], states)
        np.testing.assert_allclose(h.detach().numpy(), layer(x).detach().numpy()[:, 0],
                                   atol=1e-12)
        assert len(states) == (2 if cell_cls is LSTMCell else 1)


def test_rnn_runs_a_custom_cell_step_by_step():
    class Accumulate(keras.layers.Layer):
        state_size = 2

        def call(self, inputs, states, training=False):
            total = states[0] + inputs
            return total * 10, [total]

    x = np.random.default_rng(4).normal(size=(2, 4, 2))
    out, state = RNN(Accumulate(), return_sequences=True, return_state=True,
                     dtype="float64")(x)
    np.testing.assert_allclose(out.numpy(), np.cumsum(x, 1) * 10, atol=1e-12)
    np.testing.assert_allclose(state.numpy(), x.sum(1), atol=1e-12)
    back = RNN(Accumulate(), go_backwards=True, return_sequences=True, dtype="float64")(x)
    np.testing.assert_allclose(back.numpy(), np.cumsum(x[:, ::-1], 1) * 10, atol=1e-12)


def test_dropout_applies_only_in_training_and_is_seeded():
    x = np.random.default_rng(5).normal(size=(N, T, F_IN))

    def make():
        return _randomized(LSTM(UNITS, dropout=0.5, recurrent_dropout=0.3, seed=7,
                                dtype="float64"))

    layer, twin = make(), make()
    plain = _randomized(LSTM(UNITS, dtype="float64"))
    np.testing.assert_allclose(layer(x).detach().numpy(), plain(x).detach().numpy())
    dropped = layer(x, training=True)
    np.testing.assert_allclose(dropped.detach().numpy(),
                               twin(x, training=True).detach().numpy())
    assert not np.allclose(dropped.detach().numpy(), plain(x).detach().numpy())
    dropped.sum().backward()
    assert np.isfinite(layer.cell.kernel.grad.numpy()).all()
    # dropping every input feature leaves only the biases and the recurrence
    only_bias = _randomized(GRU(UNITS, dropout=0.999999, seed=1, dtype="float64"))
    zeros_in = _randomized(GRU(UNITS, dtype="float64"))
    np.testing.assert_allclose(only_bias(x, training=True).detach().numpy(),
                               zeros_in(np.zeros_like(x)).detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("kind", [LSTM, GRU])
def test_bidirectional_matches_torch_bidirectional(merge_mode, kind):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(N, T, F_IN))
    bi = Bidirectional(kind(UNITS, return_sequences=True, return_state=True, dtype="float64"),
                       merge_mode=merge_mode)
    bi.build((None, T, F_IN))
    bi.set_weights([rng.normal(scale=0.5, size=w.shape) for w in bi.get_weights()])
    fw, bw = _torch_twin(bi.forward_layer), _torch_twin(bi.backward_layer)
    tx = torch.tensor(x, requires_grad=True)
    y, f_final = fw(tx)
    y_rev, b_final = bw(tx.flip(1))
    y_rev = y_rev.flip(1)
    ref = {"concat": lambda: torch.cat([y, y_rev], -1), "sum": lambda: y + y_rev,
           "mul": lambda: y * y_rev, "ave": lambda: (y + y_rev) / 2,
           None: lambda: None}[merge_mode]()
    ex = ember.tensor(x, requires_grad=True)
    got = bi(ex)
    n_out = 2 if merge_mode is None else 1
    outs, states = got[:n_out], got[n_out:]
    refs = [y, y_rev] if merge_mode is None else [ref]
    for mine, theirs in zip(outs, refs):
        np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), atol=1e-10)
    finals = [*(f_final if kind is LSTM else (f_final,)),
              *(b_final if kind is LSTM else (b_final,))]
    assert len(states) == len(finals)
    for mine, theirs in zip(states, finals):
        np.testing.assert_allclose(mine.detach().numpy(), theirs[0].detach().numpy(),
                                   atol=1e-10)
    g = [rng.normal(size=tuple(o.shape)) for o in outs]
    sum(((o * ember.tensor(gi)).sum() for o, gi in zip(outs, g)), ember.tensor(0.0)).backward()
    sum((r * torch.tensor(gi)).sum() for r, gi in zip(refs, g)).backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), atol=1e-10)


def test_bidirectional_last_output_initial_state_and_backward_layer():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(N, T, F_IN))
    bi = Bidirectional(LSTM(UNITS, dtype="float64"))
    bi.build((None, T, F_IN))
    assert bi(x).shape == (N, 2 * UNITS)
    assert [w.shape for w in bi.get_weights()] == [(F_IN, 4 * UNITS), (UNITS, 4 * UNITS),
                                                   (4 * UNITS,)] * 2
    fw_last = bi.forward_layer(x).detach().numpy()
    bw_last = bi.backward_layer(x).detach().numpy()     # last step processed: time 0
    np.testing.assert_allclose(bi(x).detach().numpy(), np.concatenate([fw_last, bw_last], -1))
    init = [rng.normal(size=(N, UNITS)) for _ in range(4)]
    np.testing.assert_allclose(
        bi(x, initial_state=init).detach().numpy(),
        np.concatenate([bi.forward_layer(x, initial_state=init[:2]).detach().numpy(),
                        bi.backward_layer(x, initial_state=init[2:]).detach().numpy()], -1))
    custom = Bidirectional(GRU(3), backward_layer=GRU(5, go_backwards=True))
    assert custom(np.ones((2, 4, 3))).shape == (2, 8)
    with pytest.raises(ValueError, match="different `go_backwards`"):
        Bidirectional(GRU(3), backward_layer=GRU(3))
    with pytest.raises(ValueError, match="same `return_sequences`"):
        Bidirectional(GRU(3), backward_layer=GRU(3, go_backwards=True,
                                                return_sequences=True))
    with pytest.raises(ValueError, match="Invalid merge mode.*'max'"):
        Bidirectional(GRU(3), merge_mode="max")
    with pytest.raises(ValueError, match="must be a recurrent layer"):
        Bidirectional(Dense(3))
    with pytest.raises(ValueError, match="an even number"):
        bi(x, initial_state=init[:3])


def test_time_distributed_dense_equals_dense_per_step():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(N, T, 2, F_IN))
    td = TimeDistributed(Dense(3, activation="tanh", dtype="float64"))
    ex = ember.tensor(x, requires_grad=True)
    out = td(ex)
    assert out.shape == (N, T, 2, 3)
    kernel, bias = td.get_weights()
    assert kernel.shape == (F_IN, 3)
    np.testing.assert_allclose(out.detach().numpy(), np.tanh(x @ kernel + bias), atol=1e-12)
    dense = td.layer
    for t in range(T):
        np.testing.assert_allclose(out.detach().numpy()[:, t],
                                   dense(x[:, t]).detach().numpy(), atol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(),
                               np.broadcast_to(((1 - np.tanh(x @ kernel + bias) ** 2)
                                                @ kernel.T), x.shape), atol=1e-12)
    with pytest.raises(ValueError, match="at least 3 dimensions, received: \\(4, 2\\)"):
        TimeDistributed(Dense(3))(np.ones((4, 2)))
    with pytest.raises(ValueError, match="Please initialize `TimeDistributed` layer with a "
                                         "`keras.layers.Layer` instance"):
        TimeDistributed(lambda v: v)


def test_time_distributed_passes_training_to_the_inner_layer():
    from ember.keras.layers.core import Dropout
    td = TimeDistributed(Dropout(0.5))
    x = np.ones((2, 3, 8), dtype="float32")
    np.testing.assert_array_equal(td(x).numpy(), x)
    assert set(np.unique(td(x, training=True).numpy())) <= {0.0, 2.0}


def test_functional_api_shapes_and_training_a_model():
    inputs = keras.Input(shape=(None, 3))
    seq = Bidirectional(LSTM(4, return_sequences=True))(inputs)
    out, h = GRU(5, return_state=True)(seq)
    assert seq.shape == (None, None, 8) and out.shape == (None, 5) and h.shape == (None, 5)
    td = TimeDistributed(Dense(2))(seq)
    assert td.shape == (None, None, 2)
    model = keras.Sequential([keras.Input(shape=(6, 3)), LSTM(8), Dense(1)])
    rng = np.random.default_rng(9)
    x = rng.normal(size=(32, 6, 3)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None].astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.5 * before


def test_configs_round_trip():
    for layer in (LSTM(3, activation="relu", dropout=0.2, return_sequences=True,
                       go_backwards=True, kernel_regularizer="l2", seed=3),
                  GRU(2, reset_after=False, recurrent_activation="hard_sigmoid",
                      return_state=True),
                  SimpleRNN(4, use_bias=False, unroll=True),
                  RNN(LSTMCell(3, unit_forget_bias=False), return_sequences=True),
                  Bidirectional(GRU(2, return_sequences=True), merge_mode="ave"),
                  Bidirectional(LSTM(2), backward_layer=LSTM(3, go_backwards=True)),
                  TimeDistributed(Dense(3, activation="relu"))):
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == {**config, "name": clone.name}
        saved = keras.saving.serialize_keras_object(layer)
        assert keras.saving.deserialize_keras_object(saved).get_config() == config
    config = LSTM(3).get_config()
    for key in ("units", "activation", "recurrent_activation", "use_bias",
                "kernel_initializer", "recurrent_initializer", "bias_initializer",
                "unit_forget_bias", "dropout", "recurrent_dropout", "return_sequences",
                "return_state", "go_backwards", "stateful", "unroll", "seed"):
        assert key in config
    assert config["recurrent_initializer"]["class_name"] == "Orthogonal"


def test_bad_arguments_and_inputs_name_the_layer():
    with pytest.raises(ValueError, match="LSTM: received an invalid value for argument "
                                         "`units`.*units=0"):
        LSTM(0)
    with pytest.raises(ValueError, match="GRU.*units=-2"):
        GRU(-2)
    with pytest.raises(ValueError, match="SimpleRNNCell.*units=1.5"):
        SimpleRNNCell(1.5)
    with pytest.raises(ValueError, match="stateful=True is not supported"):
        LSTM(3, stateful=True)
    with pytest.raises(TypeError, match="`dropout` must be a float"):
        GRU(3, dropout="high")
    with pytest.raises(TypeError, match="StackedRNNCells"):
        RNN([LSTMCell(2), LSTMCell(3)])
    with pytest.raises(ValueError, match="`cell` should have a `call` method"):
        RNN(object())
    lstm = LSTM(4, name="enc")
    with pytest.raises(ValueError, match='Input 0 of layer "enc" is incompatible with the '
                                         "layer: expected ndim=3, found ndim=2"):
        lstm(np.ones((2, 3)))
    lstm(np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match='layer "enc".*expected axis -1 of input shape to '
                                         "have value 3"):
        lstm(np.ones((2, 5, 4)))
    with pytest.raises(ValueError, match=r'Layer "enc" \(LSTM\): an `initial_state` was '
                                         r"passed.*received shapes \[\(2, 4\)\]"):
        lstm(np.ones((2, 5, 3)), initial_state=[np.zeros((2, 4))])
    with pytest.raises(ValueError, match=r"expected 2 state\(s\) of shapes \[\(2, 4\), "
                                         r"\(2, 4\)\], received shapes \[\(2, 4\), \(3, 4\)\]"):
        lstm(np.ones((2, 5, 3)), initial_state=[np.zeros((2, 4)), np.zeros((3, 4))])
    with pytest.raises(ValueError, match=r'"enc" \(LSTM\): the inputs have no time steps'):
        lstm(np.ones((2, 0, 3)))
    with pytest.raises(ValueError, match="masking is not supported"):
        lstm(np.ones((2, 5, 3)), mask=np.ones((2, 5), dtype=bool))
    with pytest.raises(ValueError, match=r"LSTMCell\) expects 2 state"):
        lstm.cell(np.ones((2, 3), dtype="float32"), [ember.zeros(2, 4)])


def test_encoder_decoder_states_flow_through_the_functional_api():
    enc_in, dec_in = keras.Input((None, 3)), keras.Input((None, 2))
    encoder, decoder = LSTM(4, return_state=True), LSTM(4, return_sequences=True)
    _, h, c = encoder(enc_in)
    model = keras.Model([enc_in, dec_in], decoder(dec_in, initial_state=[h, c]))
    rng = np.random.default_rng(10)
    a = rng.normal(size=(2, 5, 3)).astype("float32")
    b = rng.normal(size=(2, 6, 2)).astype("float32")
    _, h_ref, c_ref = encoder(a)
    expected = decoder(b, initial_state=[h_ref, c_ref]).detach().numpy()
    np.testing.assert_allclose(model.predict([a, b], verbose=0), expected, atol=1e-6)


def test_model_with_recurrent_layers_saves_and_loads(tmp_path):
    model = keras.Sequential([keras.Input((5, 3)),
                              Bidirectional(LSTM(4, return_sequences=True)),
                              TimeDistributed(Dense(2)), GRU(3)])
    x = np.random.default_rng(11).normal(size=(2, 5, 3)).astype("float32")
    model.save(tmp_path / "rnn.keras")
    loaded = keras.models.load_model(tmp_path / "rnn.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [w.shape for w in loaded.get_weights()] == [w.shape for w in model.get_weights()]
