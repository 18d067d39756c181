"""Keras 3's layer wrappers: Bidirectional (an RNN both ways) and TimeDistributed (a layer
applied to every time step).

>>> import ember
>>> from ember.keras.layers.core import Dense
>>> from ember.keras.layers.rnn import LSTM
>>> Bidirectional(LSTM(4, return_sequences=True))(ember.ones(2, 5, 3)).shape
ember.Size([2, 5, 8])
>>> TimeDistributed(Dense(6))(ember.ones(2, 5, 3)).shape
ember.Size([2, 5, 6])
"""
from __future__ import annotations

from typing import Any

import ember
from ember import Tensor
from ember.keras import _tree
from ember.keras.layers.input_spec import InputSpec
from ember.keras.layers.layer import Layer

__all__ = ["Bidirectional", "TimeDistributed"]

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _serialize(layer: Layer) -> dict:
    from ember.keras.saving.serialization import serialize_keras_object
    return serialize_keras_object(layer)


def _deserialize(config: dict) -> Layer:
    from ember.keras.saving.serialization import deserialize_keras_object
    return deserialize_keras_object(config)


def _check_layer(who: str, layer: Any) -> None:
    if not isinstance(layer, Layer):
        raise ValueError(f"Please initialize `{who}` layer with a `keras.layers.Layer` "
                         f"instance. Received: {layer!r}")


def _wrapped_dtype(layer: Layer, kwargs: dict) -> dict:
    """A wrapper computes in its layer's dtype unless told otherwise."""
    return kwargs if kwargs.get("dtype") is not None else {**kwargs, "dtype": layer.dtype}


class Bidirectional(Layer):
    """Run a recurrent ``layer`` forwards and a copy of it backwards over the sequence
    and merge the two outputs with ``merge_mode``: ``'concat'`` (default), ``'sum'``,
    ``'mul'``, ``'ave'``, or ``None`` (a list of both). With ``return_sequences=True`` the
    backward outputs are put back in time order first. ``backward_layer`` replaces the
    copy; it must have the opposite ``go_backwards`` and the same ``return_sequences``
    and ``return_state``. ``initial_state`` is the forward states, then the backward
    ones; ``return_state=True`` appends the final states in that order.

    >>> import ember
    >>> from ember.keras.layers.rnn import GRU
    >>> out, h_fwd, h_bwd = Bidirectional(GRU(3, return_state=True), merge_mode="sum")(
    ...     ember.ones(2, 4, 5))
    >>> out.shape, h_bwd.shape
    (ember.Size([2, 3]), ember.Size([2, 3]))
    """

    def __init__(self, layer: Layer, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Layer | None = None, **kwargs: Any) -> None:
        _check_layer("Bidirectional", layer)
        for attr in ("go_backwards", "return_sequences", "return_state"):
            if not hasattr(layer, attr):
                raise ValueError(f"Bidirectional: `layer` must be a recurrent layer (with "
                                 f"`{attr}`), such as LSTM or GRU. Received: {layer!r}")
        if backward_layer is not None:
            _check_layer("Bidirectional", backward_layer)
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode!r}. Merge mode "
                             f"should be one of {{'sum', 'mul', 'ave', 'concat', None}}")
        super().__init__(**_wrapped_dtype(layer, kwargs))
        self.forward_layer = self._recreate(layer, "forward_", layer.go_backwards)
        if backward_layer is None:
            self.backward_layer = self._recreate(layer, "backward_", not layer.go_backwards)
        else:
            self.backward_layer = backward_layer
            for attr in ("return_sequences", "return_state"):
                if getattr(backward_layer, attr) != getattr(layer, attr):
                    raise ValueError(f"Bidirectional: forward layer and backward layer "
                                     f"should have the same `{attr}`. Received: "
                                     f"forward_layer.{attr}={getattr(layer, attr)}, "
                                     f"backward_layer.{attr}="
                                     f"{getattr(backward_layer, attr)}")
            if backward_layer.go_backwards == layer.go_backwards:
                raise ValueError("Bidirectional: forward layer and backward layer should "
                                 "have different `go_backwards` values. Received: "
                                 f"go_backwards={layer.go_backwards} for both")
        self._layer_config = _serialize(layer)
        self._backward_config = None if backward_layer is None else _serialize(backward_layer)
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.input_spec = InputSpec(min_ndim=3)
        if weights is not None:
            self._initial_weights = list(weights)

    @staticmethod
    def _recreate(layer: Layer, prefix: str, go_backwards: bool) -> Layer:
        config = layer.get_config()
        config.update(name=prefix + layer.name, go_backwards=go_backwards)
        return type(layer).from_config(config)

    def build(self, sequences_shape: tuple) -> None:
        self.input_spec.check(self.name, 0, tuple(sequences_shape))
        for layer in (self.forward_layer, self.backward_layer):
            if not layer.built:
                layer.build(sequences_shape)
        initial = self.__dict__.pop("_initial_weights", None)
        if initial is not None:
            self.set_weights(initial)

    def call(self, sequences: Tensor, initial_state: Any = None, mask: Any = None,
             training: bool = False) -> Any:
        fw_state = bw_state = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
            if len(states) % 2:
                raise ValueError(f'Layer "{self.name}" (Bidirectional): `initial_state` '
                                 f"must hold the forward states then the backward states "
                                 f"(an even number), got {len(states)} tensor(s)")
            half = len(states) // 2
            fw_state, bw_state = states[:half], states[half:]
        y = self.forward_layer(sequences, initial_state=fw_state, mask=mask,
                               training=training)
        y_rev = self.backward_layer(sequences, initial_state=bw_state, mask=mask,
                                    training=training)
        states: tuple = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ember.flip(y_rev, [1])
        if self.merge_mode is None:
            return [y, y_rev] + list(states) if self.return_state else [y, y_rev]
        merged = {"concat": lambda: ember.cat([y, y_rev], -1), "sum": lambda: y + y_rev,
                  "ave": lambda: (y + y_rev) / 2, "mul": lambda: y * y_rev}[self.merge_mode]()
        return (merged, *states) if self.return_state else merged

    def get_config(self) -> dict:
        config = {**super().get_config(), "layer": self._layer_config,
                  "merge_mode": self.merge_mode}
        if self._backward_config is not None:
            config["backward_layer"] = self._backward_config
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Bidirectional":
        config = dict(config)
        config["layer"] = _deserialize(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"])
        return cls(**config)


class TimeDistributed(Layer):
    """Apply ``layer`` to every time step of ``(batch, timesteps, ...)`` inputs: the batch
    and time axes are merged, ``layer`` runs once on the ``(batch * timesteps, ...)``
    tensor, and the output is split back to ``(batch, timesteps, ...)``.

    >>> import ember
    >>> from ember.keras.layers.core import Dense
    >>> TimeDistributed(Dense(2))(ember.ones(4, 3, 5)).shape
    ember.Size([4, 3, 2])
    """

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        _check_layer("TimeDistributed", layer)
        super().__init__(**_wrapped_dtype(layer, kwargs))
        self.layer = layer
        self.input_spec = InputSpec(min_ndim=3)

    def _check_rank(self, shape: tuple) -> None:
        if len(shape) < 3:
            raise ValueError(f'Layer "{self.name}": `TimeDistributed` Layer should be passed '
                             f"an `input_shape` with at least 3 dimensions, received: "
                             f"{tuple(shape)}")

    def build(self, input_shape: tuple) -> None:
        self._check_rank(tuple(input_shape))
        if not self.layer.built:
            self.layer.build((None,) + tuple(input_shape[2:]))

    def call(self, inputs: Tensor, training: bool = False) -> Any:
        self._check_rank(tuple(inputs.shape))
        batch, steps = inputs.shape[0], inputs.shape[1]
        kwargs = {"training": training} if self.layer._call_takes_training() else {}
        outputs = self.layer(inputs.reshape(batch * steps, *inputs.shape[2:]), **kwargs)
        return _tree.map_structure(
            lambda y: y.reshape(batch, steps, *y.shape[1:]), outputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": _serialize(self.layer)}

    @classmethod
    def from_config(cls, config: dict) -> "TimeDistributed":
        return cls(**{**config, "layer": _deserialize(config["layer"])})
