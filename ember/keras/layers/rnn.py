"""Keras 3's recurrent layers: SimpleRNN, LSTM, GRU, their cells, and the generic RNN(cell).

Inputs are ``(batch, timesteps, features)``. Weights keep Keras's layout, so
``get_weights`` matches Keras: ``kernel`` ``(features, gates * units)``,
``recurrent_kernel`` ``(units, gates * units)``, gates ordered (i, f, c, o) for the LSTM
and (z, r, h) for the GRU, whose bias is ``(2, 3 * units)`` with ``reset_after=True``.

A layer projects the inputs of every time step with one matrix product; only the
recurrent product and the gate math run per step. With the default activations the gate
math is one fused Ember op (``ember.ops.recurrent``), as in ``ember.nn.LSTM``/``GRU``.

>>> import ember
>>> from ember.keras.layers.rnn import LSTM
>>> out, h, c = LSTM(4, return_sequences=True, return_state=True)(ember.ones(2, 5, 3))
>>> out.shape, h.shape, c.shape
(ember.Size([2, 5, 4]), ember.Size([2, 4]), ember.Size([2, 4]))
"""
from __future__ import annotations

from typing import Any

import numpy as np

import ember
import ember.nn.functional as F
from ember import Tensor
from ember.keras import activations, constraints, initializers, regularizers
from ember.keras.layers.input_spec import InputSpec
from ember.keras.layers.layer import Layer
from ember.ops.recurrent import fused_gru_cell, fused_lstm_cell

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell", "RNN", "SimpleRNN", "LSTM", "GRU"]


def _check_units(who: str, units: Any) -> int:
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
        raise ValueError(f"{who}: received an invalid value for argument `units`, expected "
                         f"a positive integer, got units={units!r}.")
    return int(units)


def _check_rate(who: str, name: str, rate: Any) -> float:
    """A dropout rate, clipped into [0, 1] as Keras does."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)):
        raise TypeError(f"{who}: `{name}` must be a float between 0 and 1, got {rate!r}")
    return min(1.0, max(0.0, float(rate)))


def _zrh_to_rzh(w: Tensor) -> Tensor:
    """Reorder the last axis of a GRU weight from Keras's gates (z, r, h) to (r, z, h),
    the order of the fused GRU op."""
    u = w.shape[-1] // 3
    return ember.cat([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], -1)


class _Cell(Layer):
    """What the three cells share: arguments, weights ``kernel``, ``recurrent_kernel``,
    ``bias`` and dropout masks. A subclass gives ``_gates``, ``_bias_shape`` and the math:
    ``_prepare`` (weights for a whole sequence), ``_project`` (the input half of a step,
    for one step or all of them) and ``_step`` (the recurrent half of one step)."""

    _gates = 1
    _n_states = 1

    def __init__(self, units: int, activation: Any, use_bias: bool, kernel_initializer: Any,
                 recurrent_initializer: Any, bias_initializer: Any, kernel_regularizer: Any,
                 recurrent_regularizer: Any, bias_regularizer: Any, kernel_constraint: Any,
                 recurrent_constraint: Any, bias_constraint: Any, dropout: float,
                 recurrent_dropout: float, seed: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        who = type(self).__name__
        self.units = _check_units(who, units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _check_rate(who, "dropout", dropout)
        self.recurrent_dropout = _check_rate(who, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    @property
    def state_size(self) -> Any:
        return [self.units] * self._n_states if self._n_states > 1 else self.units

    @property
    def output_size(self) -> int:
        return self.units

    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_initializer(self) -> Any:
        return self.bias_initializer

    def build(self, input_shape: tuple) -> None:
        features = input_shape[-1]
        if features is None:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}): the last '
                             f"dimension of the inputs should be defined, got input shape "
                             f"{tuple(input_shape)}")
        width = self._gates * self.units
        self.kernel = self.add_weight(
            shape=(features, width), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
            name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint,
            name="recurrent_kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self._bias_shape(), initializer=self._bias_initializer(),
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                name="bias")

    def _keep_mask(self, shape: tuple, rate: float, dtype: Any) -> Tensor:
        """Inverted-dropout scale factors: 0 with probability ``rate``, else 1/(1-rate)."""
        if self._rng is None:
            return F.dropout(ember.ones(shape, dtype=dtype), rate, True)
        keep = self._rng.random(shape) >= rate
        return ember.tensor(keep / (1.0 - rate)).to(dtype)

    def _dropout_masks(self, batch: int, features: int, dtype: Any, training: bool
                       ) -> tuple[Tensor | None, Tensor | None]:
        """Masks for the inputs and for the recurrent state, shared by every step of a
        sequence (None where no dropout applies)."""
        if not training:
            return None, None
        x_mask = (self._keep_mask((batch, features), self.dropout, dtype)
                  if 0.0 < self.dropout < 1.0 else None)
        h_mask = (self._keep_mask((batch, self.units), self.recurrent_dropout, dtype)
                  if 0.0 < self.recurrent_dropout < 1.0 else None)
        return x_mask, h_mask

    def _prepare(self) -> tuple:
        """The weights as one sequence's steps use them: ``(kernel^T, input bias,
        recurrent_kernel^T, recurrent bias)``."""
        return self.kernel.t(), self.bias, self.recurrent_kernel.t(), None

    def _project(self, x: Tensor, w: tuple) -> Tensor:
        return F.linear(x, w[0], w[1])

    def _step(self, p: Tensor, states: list, w: tuple, h_mask: Tensor | None
              ) -> tuple[Tensor, list]:
        raise NotImplementedError

    def get_initial_state(self, batch_size: int) -> list[Tensor]:
        """Zero states, one ``(batch_size, units)`` tensor per state."""
        return [ember.zeros(batch_size, self.units, dtype=self.dtype)
                for _ in range(self._n_states)]

    def call(self, inputs: Tensor, states: Any, training: bool = False
             ) -> tuple[Tensor, list]:
        """One time step: ``inputs`` ``(batch, features)`` and the previous ``states``
        give ``(output, new_states)``."""
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(states) != self._n_states:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}) expects '
                             f"{self._n_states} state tensor(s), got {len(states)}")
        x_mask, h_mask = self._dropout_masks(inputs.shape[0], inputs.shape[-1],
                                             inputs.dtype, training)
        if x_mask is not None:
            inputs = inputs * x_mask
        w = self._prepare()
        return self._step(self._project(inputs, w), states, w, h_mask)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed}


class SimpleRNNCell(_Cell):
    """One Elman step: ``h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)``.

    >>> import ember
    >>> cell = SimpleRNNCell(4)
    >>> h, [state] = cell(ember.ones(2, 3), [ember.zeros(2, 4)])
    >>> h.shape
    ember.Size([2, 4])
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, **kwargs)

    def _step(self, p: Tensor, states: list, w: tuple, h_mask: Tensor | None
              ) -> tuple[Tensor, list]:
        h = states[0] if h_mask is None else states[0] * h_mask
        out = self.activation(F.linear(h, w[2], p))
        return out, [out]


class LSTMCell(_Cell):
    """One LSTM step with Keras's gates (i, f, c, o):
    ``c = f * c_prev + i * activation(z_c)``, ``h = o * activation(c)``; states ``[h, c]``.
    ``unit_forget_bias`` starts the forget-gate bias at one.

    >>> import ember
    >>> h, [h2, c] = LSTMCell(4)(ember.ones(2, 3), [ember.zeros(2, 4), ember.zeros(2, 4)])
    >>> c.shape
    ember.Size([2, 4])
    """

    _gates = 4
    _n_states = 2

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_initializer(self) -> Any:
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, u = self.bias_initializer, self.units

        def forget_bias_one(shape: tuple, dtype: Any = None) -> Tensor:
            return ember.cat([base((u,), dtype=dtype), ember.ones(u, dtype=dtype),
                              base((2 * u,), dtype=dtype)])
        return forget_bias_one

    def _step(self, p: Tensor, states: list, w: tuple, h_mask: Tensor | None
              ) -> tuple[Tensor, list]:
        h, c = states
        z = F.linear(h if h_mask is None else h * h_mask, w[2], p)
        if self.activation is activations.tanh and \
                self.recurrent_activation is activations.sigmoid:
            h, c = fused_lstm_cell(z, c)
            return h, [h, c]
        u, act, rec = self.units, self.activation, self.recurrent_activation
        i, f, o = rec(z[:, :u]), rec(z[:, u:2 * u]), rec(z[:, 3 * u:])
        c = f * c + i * act(z[:, 2 * u:3 * u])
        h = o * act(c)
        return h, [h, c]

    def get_config(self) -> dict:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_Cell):
    """One GRU step with Keras's gates (z, r, h): ``h = z * h_prev + (1 - z) * hh``.
    With ``reset_after=True`` (default) the reset gate multiplies the recurrent
    projection (``hh = activation(x W_h + b_h + r * (h_prev U_h + b'_h))``, PyTorch's
    formula) and the bias is ``(2, 3 * units)``: input bias, then recurrent bias.

    >>> import ember
    >>> h, [state] = GRUCell(4)(ember.ones(2, 3), [ember.zeros(2, 4)])
    >>> h.shape
    ember.Size([2, 4])
    """

    _gates = 3

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 reset_after: bool = True, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _prepare(self) -> tuple:
        # gates reordered once per sequence to (r, z, h), the fused op's order
        b_in = b_rec = None
        if self.bias is not None:
            b_in, b_rec = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
            b_in = _zrh_to_rzh(b_in)
            b_rec = None if b_rec is None else _zrh_to_rzh(b_rec)
        return (_zrh_to_rzh(self.kernel).t(), b_in, _zrh_to_rzh(self.recurrent_kernel).t(),
                b_rec)

    def _step(self, p: Tensor, states: list, w: tuple, h_mask: Tensor | None
              ) -> tuple[Tensor, list]:
        h = states[0]
        hm = h if h_mask is None else h * h_mask
        u, act, rec = self.units, self.activation, self.recurrent_activation
        if self.reset_after:
            g = F.linear(hm, w[2], w[3])
            if act is activations.tanh and rec is activations.sigmoid:
                h = fused_gru_cell(p, g, h)
                return h, [h]
            r, z = rec(p[:, :u] + g[:, :u]), rec(p[:, u:2 * u] + g[:, u:2 * u])
            hh = act(p[:, 2 * u:] + r * g[:, 2 * u:])
        else:
            g = F.linear(hm, w[2][:2 * u])
            r, z = rec(p[:, :u] + g[:, :u]), rec(p[:, u:2 * u] + g[:, u:])
            hh = act(p[:, 2 * u:] + F.linear(r * hm, w[2][2 * u:]))
        h = z * h + (1 - z) * hh
        return h, [h]

    def get_config(self) -> dict:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


def _state_list(cell: Any) -> list[int]:
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


class RNN(Layer):
    """Run ``cell`` over the time axis of ``(batch, timesteps, features)`` inputs.

    ``cell`` is a layer with ``state_size`` and ``call(inputs, states, training)``
    returning ``(output, new_states)``. Returns the last output, or every output with
    ``return_sequences=True`` (in the order processed: reversed time with
    ``go_backwards=True``, as in Keras); ``return_state=True`` appends the final states.
    ``initial_state=`` in the call replaces the zero states.

    >>> import ember
    >>> RNN(GRUCell(4), return_sequences=True)(ember.ones(2, 5, 3)).shape
    ember.Size([2, 5, 4])
    """

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        who = type(self).__name__
        if isinstance(cell, (list, tuple)):
            raise TypeError(f"{who}: a list of cells (StackedRNNCells) is not supported; "
                            "stack RNN layers with return_sequences=True instead.")
        if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
            raise ValueError(f"{who}: argument `cell` should have a `call` method and a "
                             f"`state_size` attribute. Received: cell={cell!r}")
        if stateful:
            raise ValueError(f"{who}: stateful=True is not supported by Ember; pass the "
                             "states of the previous batch as `initial_state=` instead.")
        if kwargs.get("dtype") is None and isinstance(cell, Layer):
            kwargs["dtype"] = cell.dtype        # compute in the cell's dtype
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.input_spec = InputSpec(min_ndim=3)

    def build(self, sequences_shape: tuple) -> None:
        spec = self.input_spec
        spec.check(self.name, 0, tuple(sequences_shape))
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((sequences_shape[0],) + tuple(sequences_shape[2:]))
        self.input_spec = InputSpec(ndim=spec.ndim, min_ndim=spec.min_ndim,
                                    axes={-1: sequences_shape[-1]})

    def _initial_states(self, initial_state: Any, batch: int, dtype: Any) -> list[Tensor]:
        sizes = _state_list(self.cell)
        if initial_state is None:
            if hasattr(self.cell, "get_initial_state"):
                return list(self.cell.get_initial_state(batch))
            return [ember.zeros(batch, s, dtype=dtype) for s in sizes]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
            else [initial_state]
        states = [ember.tensor(np.asarray(s)) if not isinstance(s, Tensor) else s
                  for s in states]
        expected = [(batch, s) for s in sizes]
        got = [tuple(s.shape) for s in states]
        if got != expected:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}): an '
                             f"`initial_state` was passed that is not compatible with the "
                             f"cell's state size {sizes}: expected {len(expected)} state(s) "
                             f"of shapes {expected}, received shapes {got}.")
        return [s.to(dtype) if s.is_floating_point() else s for s in states]

    def call(self, sequences: Tensor, initial_state: Any = None, mask: Any = None,
             training: bool = False) -> Any:
        if mask is not None:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}): masking is not '
                             "supported by Ember's recurrent layers; pass mask=None.")
        batch, steps = sequences.shape[0], sequences.shape[1]
        if steps == 0:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}): the inputs '
                             f"have no time steps (shape {tuple(sequences.shape)}).")
        states = self._initial_states(initial_state, batch, sequences.dtype)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        outputs = []
        if isinstance(self.cell, _Cell):
            x_mask, h_mask = self.cell._dropout_masks(batch, sequences.shape[-1],
                                                      sequences.dtype, training)
            x = sequences if x_mask is None else sequences * x_mask.unsqueeze(1)
            w = self.cell._prepare()
            projected = self.cell._project(x, w).unbind(1)
            for t in order:
                out, states = self.cell._step(projected[t], states, w, h_mask)
                outputs.append(out)
        else:
            steps_in = sequences.unbind(1)
            for t in order:
                out, states = self.cell(steps_in[t], states, training=training)
                states = list(states) if isinstance(states, (list, tuple)) else [states]
                outputs.append(out)
        output = ember.stack(outputs, 1) if self.return_sequences else outputs[-1]
        return (output, *states) if self.return_state else output

    def get_config(self) -> dict:
        from ember.keras.saving.serialization import serialize_keras_object
        config = {**super().get_config(), "return_sequences": self.return_sequences,
                  "return_state": self.return_state, "go_backwards": self.go_backwards,
                  "stateful": self.stateful, "unroll": self.unroll,
                  "zero_output_for_mask": self.zero_output_for_mask}
        if type(self) is RNN:
            config["cell"] = serialize_keras_object(self.cell)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "RNN":
        if cls is RNN:
            from ember.keras.saving.serialization import deserialize_keras_object
            config = {**config, "cell": deserialize_keras_object(config["cell"])}
        return cls(**config)


class _CellLayer(RNN):
    """An RNN whose cell is built from the layer's own arguments; the cell's settings
    read through to the layer (``layer.units``, ``layer.activation``, ...)."""

    _cell_class: type = _Cell
    _cell_name = ""

    def __init__(self, cell_args: dict, seq_args: dict, kwargs: dict) -> None:
        cell = self._cell_class(**cell_args, dtype=kwargs.get("dtype"),
                                trainable=kwargs.get("trainable", True), name=self._cell_name)
        super().__init__(cell, **seq_args, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def get_config(self) -> dict:
        cell = {k: v for k, v in self.cell.get_config().items()
                if k not in ("name", "trainable", "dtype")}
        return {**cell, **super().get_config(),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}


def _read_from_cell(name: str) -> property:
    return property(lambda self: getattr(self.cell, name),
                    doc=f"The cell's ``{name}``.")


for _name in ("units", "activation", "recurrent_activation", "use_bias",
              "kernel_initializer", "recurrent_initializer", "bias_initializer",
              "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer",
              "bias_regularizer", "kernel_constraint", "recurrent_constraint",
              "bias_constraint", "dropout", "recurrent_dropout", "reset_after", "seed"):
    setattr(_CellLayer, _name, _read_from_cell(_name))


def _seq_args(return_sequences: bool, return_state: bool, go_backwards: bool,
              stateful: bool, unroll: bool) -> dict:
    return {"return_sequences": return_sequences, "return_state": return_state,
            "go_backwards": go_backwards, "stateful": stateful, "unroll": unroll}


class SimpleRNN(_CellLayer):
    """Fully-connected RNN: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel
    + bias)``; see :class:`RNN` for the sequence arguments.

    >>> import ember
    >>> SimpleRNN(4)(ember.ones(2, 5, 3)).shape
    ember.Size([2, 4])
    """

    _cell_class, _cell_name = SimpleRNNCell, "simple_rnn_cell"

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, seed: int | None = None,
                 **kwargs: Any) -> None:
        _check_units("SimpleRNN", units)
        cell_args = dict(units=units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(cell_args, _seq_args(return_sequences, return_state, go_backwards,
                                              stateful, unroll),
                         {**kwargs, "activity_regularizer": activity_regularizer})


class LSTM(_CellLayer):
    """Long Short-Term Memory (Hochreiter 1997) with Keras's weights and gate order
    (i, f, c, o); ``return_state=True`` returns ``(output, h, c)``; ``initial_state`` is
    ``[h, c]``. ``use_cudnn`` is accepted and has no effect.

    >>> import ember
    >>> LSTM(4)(ember.ones(2, 5, 3)).shape
    ember.Size([2, 4])
    """

    _cell_class, _cell_name = LSTMCell, "lstm_cell"

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, use_cudnn: Any = "auto",
                 **kwargs: Any) -> None:
        _check_units("LSTM", units)
        cell_args = dict(units=units, activation=activation,
                         recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(cell_args, _seq_args(return_sequences, return_state, go_backwards,
                                              stateful, unroll),
                         {**kwargs, "activity_regularizer": activity_regularizer})
        self.use_cudnn = use_cudnn

    def get_config(self) -> dict:
        return {**super().get_config(), "use_cudnn": self.use_cudnn}


class GRU(_CellLayer):
    """Gated Recurrent Unit (Cho et al. 2014) with Keras's weights and gate order
    (z, r, h); ``reset_after=True`` (default) is PyTorch's GRU formula. ``use_cudnn`` is
    accepted and has no effect.

    >>> import ember
    >>> out, h = GRU(4, return_state=True)(ember.ones(2, 5, 3))
    >>> out.shape, h.shape
    (ember.Size([2, 4]), ember.Size([2, 4]))
    """

    _cell_class, _cell_name = GRUCell, "gru_cell"

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 reset_after: bool = True, use_cudnn: Any = "auto", **kwargs: Any) -> None:
        _check_units("GRU", units)
        cell_args = dict(units=units, activation=activation,
                         recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, reset_after=reset_after,
                         seed=seed)
        super().__init__(cell_args, _seq_args(return_sequences, return_state, go_backwards,
                                              stateful, unroll),
                         {**kwargs, "activity_regularizer": activity_regularizer})
        self.use_cudnn = use_cudnn

    def get_config(self) -> dict:
        return {**super().get_config(), "use_cudnn": self.use_cudnn}
