"""``keras.models``: ``Model``, ``Sequential``, and building models from configs or files.

>>> from ember import keras
>>> from ember.keras.layers.core import Dense
>>> model = keras.Sequential([keras.Input(shape=(2,)), Dense(1)])
>>> clone = keras.models.model_from_json(model.to_json())
>>> clone.output_shape
(None, 1)
"""
from __future__ import annotations

import json
from typing import Any

from ember.keras.models.functional import Functional
from ember.keras.models.model import Model
from ember.keras.models.sequential import Sequential

__all__ = ["Model", "Sequential", "Functional", "model_from_json", "clone_model",
           "load_model", "save_model"]


def model_from_json(json_string: str, custom_objects: dict | None = None) -> Model:
    """A new model (fresh weights) from ``model.to_json()``."""
    from ember.keras.saving.serialization import deserialize_keras_object
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise ValueError(f"model_from_json: not valid JSON ({e})") from None
    return deserialize_keras_object(config, custom_objects=custom_objects)


def clone_model(model: Model, custom_objects: dict | None = None) -> Model:
    """A new model with the same architecture as ``model`` and freshly initialised
    weights (rebuilt from its config)."""
    from ember.keras.saving.serialization import deserialize_keras_object, \
        serialize_keras_object
    if not isinstance(model, Model):
        raise ValueError(f"Expected `model` argument to be a `Model` instance. Received: "
                         f"model={model!r}")
    return deserialize_keras_object(serialize_keras_object(model),
                                    custom_objects=custom_objects)


def load_model(filepath: str, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True) -> Model:
    """Load a model saved with ``model.save("....keras")``; see ``keras.saving``."""
    from ember.keras.saving.model_file import load_model as load
    return load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model: Model, filepath: str, overwrite: bool = True, **kwargs: Any) -> None:
    """Same as ``model.save(filepath)``."""
    from ember.keras.saving.model_file import save_model as save
    save(model, filepath, overwrite=overwrite, **kwargs)
