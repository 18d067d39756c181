"""RNN, LSTM, GRU and their cells against torch.nn: outputs, final states, gradients of
inputs, initial states and every parameter, repr, state_dict keys and shape errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from tests.conformance import _flat, assert_close
from tests.nn.module_conformance import check_module, copy_weights

RNG = np.random.default_rng(0)

LAYERS = {
    "rnn_tanh": lambda nn, *a, **k: nn.RNN(*a, **k),
    "rnn_relu": lambda nn, *a, **k: nn.RNN(*a, nonlinearity="relu", **k),
    "lstm": lambda nn, *a, **k: nn.LSTM(*a, **k),
    "gru": lambda nn, *a, **k: nn.GRU(*a, **k),
}


def _randn(*shape: int, dtype: type = np.float32) -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def _states(kind: str, n: int, batch: tuple, hidden: int, cell: int | None = None) -> list:
    """Initial states: ``[h0]`` or, for an LSTM, ``[h0, c0]``."""
    h0 = [_randn(n, *batch, hidden)]
    return h0 + [_randn(n, *batch, cell or hidden)] if kind == "lstm" else h0


def _call_with_states(kind: str):
    if kind == "lstm":
        return lambda mod, x, h, c: mod(x, (h, c))
    return lambda mod, x, h: mod(x, h)


@pytest.mark.parametrize("kind", LAYERS)
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_layers_match_torch(kind: str, data: st.DataObject) -> None:
    seq, batch = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    features, hidden = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    num_layers, bidir = data.draw(st.integers(1, 2)), data.draw(st.booleans())
    batch_first, bias = data.draw(st.booleans()), data.draw(st.booleans())
    with_states = data.draw(st.booleans())
    x = _randn(*((batch, seq) if batch_first else (seq, batch)), features)
    make = lambda nn: LAYERS[kind](nn, features, hidden, num_layers, bias=bias,  # noqa: E731
                                   batch_first=batch_first, bidirectional=bidir)
    if with_states:
        states = _states(kind, num_layers * (1 + bidir), (batch,), hidden)
        check_module(make, x, *states, call=_call_with_states(kind))
    else:
        check_module(make, x)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_states", [False, True])
def test_unbatched_input(kind: str, batch_first: bool, with_states: bool) -> None:
    make = lambda nn: LAYERS[kind](nn, 3, 4, 2, batch_first=batch_first,  # noqa: E731
                                   bidirectional=True)
    x = _randn(3, 3)
    if with_states:
        check_module(make, x, *_states(kind, 4, (), 4), call=_call_with_states(kind))
    else:
        check_module(make, x)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_projection(bidirectional: bool) -> None:
    make = lambda nn: nn.LSTM(3, 5, 2, proj_size=2,  # noqa: E731
                              bidirectional=bidirectional)
    n = 2 * (1 + bidirectional)
    check_module(make, _randn(4, 2, 3), _randn(n, 2, 2), _randn(n, 2, 5),
                 call=_call_with_states("lstm"))


@pytest.mark.parametrize("kind", LAYERS)
def test_float64(kind: str) -> None:
    check_module(lambda nn: LAYERS[kind](nn, 3, 4, 2, bidirectional=True),
                 _randn(3, 2, 3, dtype=np.float64))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_dropout_between_layers(kind: str) -> None:
    # p=1 makes train mode deterministic: the second layer sees zeros; eval ignores it
    check_module(lambda nn: LAYERS[kind](nn, 3, 4, 2, dropout=1.0), _randn(3, 2, 3))
    mod = LAYERS[kind](ember.nn, 3, 4, 2, dropout=0.5)
    x = ember.from_numpy(_randn(3, 2, 3))
    mod.eval()
    first = mod(x)[0]
    assert np.array_equal(first.detach().numpy(), mod(x)[0].detach().numpy())


def test_lstm_gradcheck_float64() -> None:
    mod = ember.nn.LSTM(2, 3, 2, bidirectional=True).double()
    x = ember.from_numpy(_randn(3, 2, 2, dtype=np.float64)).requires_grad_()
    h0 = ember.from_numpy(_randn(4, 2, 3, dtype=np.float64)).requires_grad_()
    c0 = ember.from_numpy(_randn(4, 2, 3, dtype=np.float64)).requires_grad_()
    assert ember.autograd.gradcheck(lambda x, h, c: mod(x, (h, c)), (x, h0, c0))


@pytest.mark.parametrize("kind", LAYERS)
def test_output_only(kind: str) -> None:
    # the final states get no upstream gradient: the fused backward sees zeros for them
    check_module(lambda nn: LAYERS[kind](nn, 3, 4, 2), _randn(3, 2, 3),
                 call=lambda mod, x: mod(x)[0])


@pytest.mark.parametrize("make", [lambda nn: nn.LSTMCell(2, 3), lambda nn: nn.GRUCell(2, 3),
                                  lambda nn: nn.LSTM(2, 3, proj_size=2)])
def test_second_order_float64(make) -> None:
    """create_graph=True takes the fused ops' composed backward: its first derivatives
    equal torch's and its second derivatives pass a finite-difference check."""
    t_mod, mod = make(torch.nn).double(), make(ember.nn).double()
    copy_weights(t_mod, mod)
    x_np = _randn(2, 2, dtype=np.float64)
    x = ember.from_numpy(x_np).requires_grad_()
    t_x = torch.from_numpy(x_np).requires_grad_()
    outs, t_outs = _flat(mod(x)), _flat(t_mod(t_x))
    ups = [_randn(*o.shape, dtype=np.float64) for o in outs]
    grads = ember.autograd.grad(outs, [x, *mod.parameters()],
                                [ember.from_numpy(u) for u in ups], create_graph=True)
    t_grads = torch.autograd.grad(t_outs, [t_x, *t_mod.parameters()],
                                  [torch.from_numpy(u) for u in ups])
    assert all(g.requires_grad for g in grads)
    for g, t_g in zip(grads, t_grads):
        assert_close(g, t_g)
    assert ember.autograd.gradgradcheck(lambda x: mod(x), (x,))


CELLS = {
    "rnn_tanh": (lambda nn, *a, **k: nn.RNNCell(*a, **k), 1),
    "rnn_relu": (lambda nn, *a, **k: nn.RNNCell(*a, nonlinearity="relu", **k), 1),
    "lstm": (lambda nn, *a, **k: nn.LSTMCell(*a, **k), 2),
    "gru": (lambda nn, *a, **k: nn.GRUCell(*a, **k), 1),
}


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("batch", [(), (2,)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_states", [False, True])
def test_cells_match_torch(kind: str, batch: tuple, bias: bool, with_states: bool) -> None:
    make_cell, n_states = CELLS[kind]
    make = lambda nn: make_cell(nn, 3, 4, bias=bias)  # noqa: E731
    x = _randn(*batch, 3)
    if not with_states:
        check_module(make, x)
    elif n_states == 2:
        check_module(make, x, _randn(*batch, 4), _randn(*batch, 4),
                     call=lambda mod, x, h, c: mod(x, (h, c)))
    else:
        check_module(make, x, _randn(*batch, 4))


@pytest.mark.parametrize("args, kwargs", [
    ((10, 20), dict(num_layers=2, batch_first=True, bidirectional=True)),
    ((3, 4), dict(num_layers=3, bias=False, dropout=0.25)),
    ((3, 4), dict(dropout=0.0, batch_first=False)),
])
@pytest.mark.parametrize("kind", LAYERS)
def test_repr_and_state_dict_keys(kind: str, args: tuple, kwargs: dict) -> None:
    t, e = LAYERS[kind](torch.nn, *args, **kwargs), LAYERS[kind](ember.nn, *args, **kwargs)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert [[tuple(p.shape) for p in ws] for ws in e.all_weights] == \
        [[tuple(p.shape) for p in ws] for ws in t.all_weights]
    e.flatten_parameters()


def test_init_distribution() -> None:
    mod = ember.nn.LSTM(3, 16, 2)
    values = np.concatenate([p.detach().numpy().ravel() for p in mod.parameters()])
    assert values.min() >= -0.25 and values.max() <= 0.25 and values.std() > 0.1


def _raises(make, call, exc: type, match: str) -> None:
    """The Ember module raises ``exc`` matching ``match`` where torch raises ``exc`` too."""
    for nn, lib in ((torch.nn, torch), (ember.nn, ember)):
        with pytest.raises(exc, match=match if lib is ember else None):
            call(make(nn), lib)


@pytest.mark.parametrize("kind", LAYERS)
def test_forward_errors(kind: str) -> None:
    make = lambda nn: LAYERS[kind](nn, 5, 4)  # noqa: E731
    hx = (lambda h, lib: (h, lib.zeros(1, 2, 4))) if kind == "lstm" else (lambda h, lib: h)
    which = r"hidden\[0\] size" if kind == "lstm" else "hidden size"
    _raises(make, lambda m, lib: m(lib.zeros(3, 2, 3)), RuntimeError,
            "input.size\\(-1\\) must be equal to input_size. Expected 5, got 3")
    _raises(make, lambda m, lib: m(lib.zeros(3, 2, 5), hx(lib.zeros(1, 3, 4), lib)),
            RuntimeError, rf"Expected {which} \(1, 2, 4\), got \[1, 3, 4\]")
    _raises(make, lambda m, lib: m(lib.zeros(3, 2, 5), hx(lib.zeros(3, 4), lib)),
            RuntimeError, "For batched 3-D input, hx")
    _raises(make, lambda m, lib: m(lib.zeros(3, 5), hx(lib.zeros(1, 2, 4), lib)),
            RuntimeError, "For unbatched 2-D input, hx")
    _raises(make, lambda m, lib: m(lib.zeros(5)), ValueError, "Expected input to be 2D or 3D")
    _raises(make, lambda m, lib: m(lib.zeros(3, 2, 5, dtype=lib.float64)), ValueError,
            "input dtype .*float64.* does not match weight dtype")
    _raises(make, lambda m, lib: m(lib.zeros(0, 2, 5)), RuntimeError,
            "Expected sequence length to be larger than 0")
    if kind == "lstm":
        _raises(make, lambda m, lib: m(lib.zeros(3, 2, 5), (lib.zeros(1, 2, 4),
                                                             lib.zeros(1, 2, 3))),
                RuntimeError, r"Expected hidden\[1\] size \(1, 2, 4\), got \[1, 2, 3\]")


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(dropout=1.5), ValueError, "dropout should be a number in range"),
    (dict(dropout=True), ValueError, "dropout should be a number in range"),
    (dict(hidden_size=2.0), TypeError, "hidden_size should be of type int, got: float"),
    (dict(hidden_size=0), ValueError, "hidden_size must be greater than zero"),
    (dict(input_size=0), ValueError, "input_size must be greater than zero"),
    (dict(num_layers=0), ValueError, "num_layers must be greater than zero"),
    (dict(bias=1), TypeError, "bias should be of type bool, got: int"),
    (dict(batch_first=None), TypeError, "batch_first should be of type bool"),
    (dict(proj_size=-1), ValueError, "proj_size should be a positive integer"),
    (dict(proj_size=4), ValueError, "proj_size has to be smaller than hidden_size"),
])
def test_constructor_errors(kwargs: dict, exc: type, match: str) -> None:
    args = dict(input_size=3, hidden_size=4) | kwargs
    with pytest.raises(exc):
        torch.nn.LSTM(**args)
    with pytest.raises(exc, match=match):
        ember.nn.LSTM(**args)


def test_constructor_warnings_and_nonlinearity() -> None:
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        ember.nn.GRU(3, 4, dropout=0.5)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
        ember.nn.RNN(3, 4, nonlinearity="gelu")
    assert repr(ember.nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == \
        repr(torch.nn.RNNCell(3, 4, bias=False, nonlinearity="relu"))


@pytest.mark.parametrize("kind", CELLS)
def test_cell_errors(kind: str) -> None:
    make_cell, n_states = CELLS[kind]
    make = lambda nn: make_cell(nn, 5, 4)  # noqa: E731
    name = "LSTMCell" if kind == "lstm" else "GRUCell" if kind == "gru" else "RNNCell"
    hx = (lambda h, lib: (h, h)) if n_states == 2 else (lambda h, lib: h)
    _raises(make, lambda m, lib: m(lib.zeros(2, 3)), RuntimeError,
            "input has inconsistent input_size: got 3 expected 5")
    _raises(make, lambda m, lib: m(lib.zeros(2, 5), hx(lib.zeros(3, 4), lib)), RuntimeError,
            "Input batch size 2 doesn't match hidden0 batch size 3")
    _raises(make, lambda m, lib: m(lib.zeros(2, 5), hx(lib.zeros(2, 3), lib)), RuntimeError,
            "hidden0 has inconsistent hidden_size: got 3, expected 4")
    _raises(make, lambda m, lib: m(lib.zeros(1, 2, 5)), ValueError,
            f"{name}: Expected input to be 1D or 2D, got 3D instead")
