"""``keras.Sequential``: a plain stack of layers, each feeding the next.

Give the input shape up front (``keras.Input`` first, or ``input_shape=`` on the first
layer) and the model is built at once, so ``summary()`` works before training; otherwise
it is built on its first call, from the shape of the data (batch size left open).

>>> import ember
>>> from ember import keras
>>> from ember.keras.layers.core import Dense
>>> model = keras.Sequential([keras.Input(shape=(3,)), Dense(4, activation="relu"), Dense(1)])
>>> model(ember.ones(2, 3)).shape, len(model.layers)
(ember.Size([2, 1]), 2)
"""
from __future__ import annotations

from typing import Any

from ember.keras.keras_tensor import KerasTensor
from ember.keras.layers.input_layer import InputLayer
from ember.keras.layers.layer import Layer
from ember.keras.models.functional import Functional
from ember.keras.models.model import Model, _as_shape, _unknown_batch

__all__ = ["Sequential"]


class Sequential(Model):
    """A model made of ``layers``, applied in order."""

    def __init__(self, layers: list | None = None, trainable: bool = True,
                 name: str | None = None, **kwargs: Any) -> None:
        Model.__init__(self, trainable=trainable, name=name, **kwargs)
        object.__setattr__(self, "_stack", [])          # InputLayer (if any) + layers
        object.__setattr__(self, "_functional", None)   # the graph, once the input is known
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    # -- editing ---------------------------------------------------------------------------
    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append a layer (or a ``keras.Input`` as the first element)."""
        if isinstance(layer, KerasTensor) and layer._keras_history is not None \
                and isinstance(layer._keras_history[0], InputLayer):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise ValueError(f"Only instances of `keras.Layer` can be added to a Sequential "
                             f"model. Received: {layer!r} (of type {type(layer).__name__})")
        if isinstance(layer, InputLayer) and self._stack:
            if isinstance(self._stack[0], InputLayer):
                raise ValueError(f"Sequential model '{self.name}' has already been configured "
                                 f"to use input shape {self._stack[0].batch_shape}. You cannot "
                                 "add a different Input layer to it.")
            raise ValueError(f"Sequential model '{self.name}': an Input layer can only be the "
                             "first element of the model")
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError(f"All layers added to a Sequential model should have unique "
                             f"names. Name '{layer.name}' is already the name of a layer in "
                             "this model. Update the `name` argument to pass a unique name.")
        if not self._stack and not isinstance(layer, InputLayer) \
                and layer._batch_input_shape is not None:
            self._push(InputLayer(batch_shape=layer._batch_input_shape, dtype=layer.dtype))
        self._push(layer)
        if rebuild:
            self._maybe_rebuild()
        else:
            self._forget_graph()

    def _push(self, layer: Layer) -> None:
        self._stack.append(layer)
        self._modules[layer.name] = layer

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        del self._modules[layer.name]
        if rebuild:
            self._maybe_rebuild()
        else:
            self._forget_graph()
        return layer

    def _forget_graph(self) -> None:
        object.__setattr__(self, "built", False)
        object.__setattr__(self, "_functional", None)

    def _maybe_rebuild(self) -> None:
        self._forget_graph()
        if len(self._stack) > 1 and isinstance(self._stack[0], InputLayer):
            self.build(self._stack[0].batch_shape)

    # -- building --------------------------------------------------------------------------
    def build(self, input_shape: Any = None) -> None:
        """Connect the layers from an input of ``input_shape`` (batch axis included)."""
        if self._functional is not None:
            return
        if input_shape is None:
            raise ValueError(f"Sequential model '{self.name}' cannot be built: no input shape "
                             "is known. Call it on data, or start it with keras.Input(shape).")
        shape = _as_shape(input_shape)
        if not isinstance(shape, tuple):
            raise ValueError(f"Sequential model '{self.name}' takes a single input; received "
                             f"the input shape {input_shape!r}")
        if not self._stack or not isinstance(self._stack[0], InputLayer):
            first = InputLayer(batch_shape=shape)
            self._stack.insert(0, first)
            self._modules[first.name] = first
        if not self.layers:
            raise ValueError(f"Sequential model '{self.name}' has no layers to build")
        inputs = self._stack[0].output
        x = inputs
        for layer in self.layers:
            x = layer(x)
        object.__setattr__(self, "_functional", Functional(inputs, x, name=self.name))
        object.__setattr__(self, "_build_input_shape", self._stack[0].batch_shape)
        self.input_spec = self._functional.input_spec
        object.__setattr__(self, "built", True)

    def _maybe_build(self, args: tuple, kwargs: dict) -> None:
        if self._functional is None and args:
            if not hasattr(args[0], "shape"):
                raise ValueError(f"Sequential model '{self.name}' takes a single tensor input, "
                                 f"got {type(args[0]).__name__}")
            self.build(_unknown_batch(tuple(args[0].shape)))

    def get_build_config(self) -> dict | None:
        return None

    # -- views -----------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The layers, without the InputLayer."""
        return [layer for layer in self._stack if not isinstance(layer, InputLayer)]

    def _graph(self, what: str) -> Functional:
        if self._functional is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined {what} yet.")
        return self._functional

    def __getattr__(self, name: str) -> Any:
        # A property that raised AttributeError lands here: keep its message.
        if name in ("inputs", "outputs", "input", "output", "input_shape", "output_shape"):
            self._graph(name.replace("_", " "))
        return super().__getattr__(name)

    @property
    def inputs(self) -> list[KerasTensor]:
        return self._graph("inputs").inputs

    @property
    def outputs(self) -> list[KerasTensor]:
        return self._graph("outputs").outputs

    @property
    def input(self) -> Any:
        return self._graph("input").input

    @property
    def output(self) -> Any:
        return self._graph("output").output

    @property
    def input_shape(self) -> tuple:
        return self._graph("input shape").input_shape

    @property
    def output_shape(self) -> tuple:
        return self._graph("output shape").output_shape

    # -- calling ---------------------------------------------------------------------------
    def _check_input_spec(self, inputs: Any) -> None:
        if self._functional is not None:
            if not hasattr(inputs, "shape"):
                raise TypeError(f"Sequential model '{self.name}' takes a single tensor "
                                f"input, got {type(inputs).__name__}")
            self.input_spec[0].check(self.name, 0, tuple(inputs.shape))

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = inputs
        for layer in self.layers:
            x = layer(x)
        return x

    # -- configuration ---------------------------------------------------------------------
    def get_config(self) -> dict:
        from ember.keras.saving.serialization import serialize_keras_object
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype,
                "layers": [serialize_keras_object(layer) for layer in self._stack]}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Sequential":
        from ember.keras.saving.object_registration import CustomObjectScope
        from ember.keras.saving.serialization import deserialize_keras_object
        if not isinstance(config.get("layers"), list):
            raise ValueError(f"Sequential config needs a list of 'layers', got {config!r}")
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        with CustomObjectScope(custom_objects):
            for layer_config in config["layers"]:
                model.add(deserialize_keras_object(layer_config), rebuild=False)
        model._maybe_rebuild()
        return model
