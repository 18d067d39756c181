"""``keras.Model``: a layer that groups layers and can be trained, summarised and saved.

Three ways to make one, as in Keras 3:

- functional: ``keras.Model(inputs, outputs)`` (this returns a ``Functional`` model);
- ``keras.Sequential([...])``;
- subclassing: create layers in ``__init__``, use them in ``call``; the model's weights
  are created on its first call.

>>> import ember
>>> from ember import keras
>>> from ember.keras.layers.core import Dense
>>> class TwoLayers(keras.Model):
...     def __init__(self, units=4, **kwargs):
...         super().__init__(**kwargs)
...         self.hidden = Dense(units, activation="relu")
...         self.out = Dense(1)
...     def call(self, x):
...         return self.out(self.hidden(x))
>>> model = TwoLayers()
>>> model(ember.ones(2, 3)).shape, model.count_params()
(ember.Size([2, 1]), 21)
"""
from __future__ import annotations

import inspect
import json
from typing import Any

import ember
from ember.keras import _tree
from ember.keras.layers.layer import Layer
from ember.keras.trainers.trainer import Trainer

__all__ = ["Model"]


def _is_functional_call(args: tuple, kwargs: dict) -> bool:
    if "inputs" in kwargs and "outputs" in kwargs:
        return True
    return len(args) == 2 or (len(args) == 1 and "outputs" in kwargs)


def _plain_json(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_json(v) for k, v in value.items())
    return False


def _unknown_batch(shape: Any) -> Any:
    """A shape structure with its batch sizes replaced by None."""
    return _map_shapes(lambda s: (None,) + s[1:] if s else s, shape)


def _map_shapes(fn: Any, shapes: Any) -> Any:
    if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
        return fn(shapes)
    if isinstance(shapes, (list, tuple)):
        return type(shapes)(_map_shapes(fn, s) for s in shapes)
    if isinstance(shapes, dict):
        return {k: _map_shapes(fn, s) for k, s in shapes.items()}
    return shapes


def _zeros_for(shape: Any) -> Any:
    """Zero tensors (batch size 1 where unknown) for a shape structure."""
    def make(s: tuple) -> ember.Tensor:
        return ember.zeros(tuple(1 if d is None else d for d in s))
    return _map_shapes(make, shape)


class Model(Trainer, Layer):
    """A group of layers with training (``compile``/``fit``), ``summary`` and saving.

    ``Model(inputs, outputs, name=None)`` builds a functional model; subclass ``Model``
    and write ``call`` for a model defined by code.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> "Model":
        from ember.keras.models.functional import Functional
        if cls is Model and _is_functional_call(args, kwargs):
            return Functional.__new__(Functional, *args, **kwargs)
        obj = super().__new__(cls)
        from ember.keras.models.sequential import Sequential
        if cls not in (Functional, Sequential):
            # remember simple constructor arguments, so get_config() works unaided
            try:
                bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
            except TypeError:
                bound = None
            config = None
            if bound is not None:
                config = {}
                for name, value in list(bound.arguments.items())[1:]:
                    kind = inspect.signature(cls.__init__).parameters[name].kind
                    if kind == inspect.Parameter.VAR_KEYWORD:
                        config.update(value)
                    elif kind != inspect.Parameter.VAR_POSITIONAL:
                        config[name] = value
                if not _plain_json(config):
                    config = None
            object.__setattr__(obj, "_auto_config", config)
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise TypeError(f"{type(self).__name__}: a subclassed Model cannot pass `inputs` "
                            "and `outputs` to Model.__init__; build a functional model with "
                            "keras.Model(inputs, outputs), or define `call`")
        Layer.__init__(self, **kwargs)
        object.__setattr__(self, "_build_input_shape", None)
        if "__init__" in Trainer.__dict__:
            Trainer.__init__(self)

    # -- building -------------------------------------------------------------------------
    def build(self, input_shape: Any = None) -> None:
        """Create the weights of a subclassed model by running ``call`` once on zeros of
        ``input_shape`` (``None`` for the batch axis is fine)."""
        if self.built or input_shape is None:
            return
        input_shape = _unknown_batch(_as_shape(input_shape))
        object.__setattr__(self, "built", True)
        object.__setattr__(self, "_build_input_shape", input_shape)
        with ember.no_grad():
            self._run_call(_zeros_for(input_shape), **({"training": False}
                                                        if self._call_takes_training() else {}))

    def _maybe_build(self, args: tuple, kwargs: dict) -> None:
        # A subclassed model's first call creates the weights: ``build`` runs only when
        # the subclass defines one.
        if self.built:
            return
        if args and self._build_input_shape is None:
            shapes = _tree.map_structure(
                lambda x: tuple(x.shape) if hasattr(x, "shape") else x, args[0])
            object.__setattr__(self, "_build_input_shape", _unknown_batch(shapes))
        if type(self).build is not Model.build:
            super()._maybe_build(args, kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        outputs = super().__call__(*args, **kwargs)
        object.__setattr__(self, "built", True)
        return outputs

    def get_build_config(self) -> dict | None:
        """The input shape the model was built for (used to rebuild it when loading)."""
        if self._build_input_shape is None:
            return None
        return {"input_shape": _shape_to_json(self._build_input_shape)}

    def build_from_config(self, config: dict) -> None:
        shape = config.get("input_shape")
        if shape is not None and not self.built:
            self.build(_as_shape(shape))

    # -- layers ----------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The layers directly inside this model, in the order they were assigned."""
        seen: set[int] = set()
        out = []
        for child in self._sublayers():
            if isinstance(child, Layer) and id(child) not in seen:
                seen.add(id(child))
                out.append(child)
        return out

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer of this model, by ``name`` or by ``index`` in ``model.layers``."""
        if index is not None and name is not None:
            raise ValueError(f"Provide only a layer name or a layer index. Received: "
                             f"index={index}, name={name}.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model "
                                 f"only has {len(layers)} layers.")
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: "
                             f"{[layer.name for layer in layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    # -- reporting ---------------------------------------------------------------------------
    def summary(self, line_length: int | None = None, positions: list | None = None,
                print_fn: Any = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range: Any = None) -> None:
        """Print the layers, their output shapes and parameter counts, as Keras 3 does."""
        from ember.keras.models.summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      layer_range=layer_range)

    # -- configuration -------------------------------------------------------------------------
    def get_config(self) -> dict:
        """A subclassed model's config: its plain (JSON) constructor arguments; a model
        taking other arguments must override ``get_config``."""
        auto = getattr(self, "_auto_config", None)
        if auto is None:
            raise NotImplementedError(
                f"Model {type(self).__name__} takes constructor arguments that are not plain "
                "JSON values (numbers, strings, lists, dicts), so it must override "
                "`get_config()` (and `from_config()` if needed) to be serialized.")
        base = {"name": self.name, "trainable": self.trainable}
        return {**base, **auto}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Model":
        """Rebuild a model from ``get_config()``; a functional config gives a functional
        model, as in Keras."""
        if cls is Model and "input_layers" in config and "layers" in config:
            from ember.keras.models.functional import Functional
            return Functional.from_config(config, custom_objects=custom_objects)
        from ember.keras.saving.object_registration import CustomObjectScope
        with CustomObjectScope(custom_objects):
            return cls(**config)

    def to_json(self, **kwargs: Any) -> str:
        """The model's architecture as a JSON string (``keras.models.model_from_json``);
        ``kwargs`` go to ``json.dumps``."""
        from ember.keras.saving.serialization import serialize_keras_object
        return json.dumps(serialize_keras_object(self), **kwargs)

    # -- saving ------------------------------------------------------------------------------
    def save(self, filepath: str, overwrite: bool = True, **kwargs: Any) -> None:
        """Save architecture, weights and compile settings to a ``.keras`` archive."""
        from ember.keras.saving.model_file import save_model
        save_model(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath: str, overwrite: bool = True) -> None:
        """Save the weights (by layer path) to a ``.weights.safetensors`` file."""
        from ember.keras.saving.weights_file import save_weights
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: str, skip_mismatch: bool = False) -> None:
        """Load weights saved by ``save_weights`` into this (built) model."""
        from ember.keras.saving.weights_file import load_weights
        load_weights(self, filepath, skip_mismatch=skip_mismatch)


def _as_shape(shape: Any) -> Any:
    """JSON lists -> tuples for a shape or a structure of shapes."""
    if isinstance(shape, (list, tuple)) and all(d is None or isinstance(d, int)
                                                for d in shape):
        return tuple(shape)
    if isinstance(shape, (list, tuple)):
        return [_as_shape(s) for s in shape]
    if isinstance(shape, dict):
        return {k: _as_shape(s) for k, s in shape.items()}
    raise ValueError(f"Invalid input shape {shape!r}: expected a tuple of ints/None or a "
                     "list/dict of such tuples")


def _shape_to_json(shape: Any) -> Any:
    return _map_shapes(list, shape)
