"""Objects <-> JSON-ready configs: ``serialize_keras_object`` / ``deserialize_keras_object``.

A serialized object is Keras 3's dict ``{"module", "class_name", "config",
"registered_name"}`` (plus ``"build_config"`` for a model built from a known input shape).
Classes are found again by their registered name (``register_keras_serializable``,
``custom_objects``), else by name in the Ember module recorded under ``"module"`` (only
``ember.keras`` modules are ever imported; ``keras.*`` module names map onto them), else
among Ember's layers and models. Nothing is ever unpickled or evaluated.
"""
from __future__ import annotations

import importlib
from typing import Any

from ember.keras._registry import CUSTOM_OBJECTS, registered_name
from ember.keras.saving.object_registration import CustomObjectScope, get_registered_name, \
    get_registered_object

__all__ = ["serialize_keras_object", "deserialize_keras_object"]


def serialize_keras_object(obj: Any) -> Any:
    """The JSON-ready form of ``obj`` (a layer, model, initializer, loss, ... or plain data).

    >>> from ember import keras
    >>> keras.saving.serialize_keras_object(keras.initializers.Zeros())["class_name"]
    'Zeros'
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(item) for item in obj]
    if isinstance(obj, dict):
        return {str(k): serialize_keras_object(v) for k, v in obj.items()}
    if hasattr(obj, "get_config") and not isinstance(obj, type):
        cls = type(obj)
        registered = registered_name(cls)
        out = {"module": cls.__module__, "class_name": cls.__name__,
               "config": obj.get_config(),
               "registered_name": registered if registered in CUSTOM_OBJECTS else None}
        build_config = getattr(obj, "get_build_config", None)
        if build_config is not None and build_config() is not None:
            out["build_config"] = build_config()
        return out
    if callable(obj):
        name = get_registered_name(obj)
        if get_registered_object(name) is obj:
            return {"module": getattr(obj, "__module__", None), "class_name": "function",
                    "config": name, "registered_name": name}
        module = getattr(obj, "__module__", "") or ""
        if module.startswith("ember.keras."):
            return {"module": module, "class_name": "function", "config": obj.__name__,
                    "registered_name": None}
    raise TypeError(f"serialize_keras_object: cannot serialize {obj!r} of type "
                    f"{type(obj).__name__}: it has no get_config() and is not a registered "
                    "function (see keras.saving.register_keras_serializable)")


def _ember_module(module: Any) -> Any:
    """The Ember module a config's ``"module"`` names, or None (never a foreign module)."""
    if not isinstance(module, str):
        return None
    if module == "keras" or module.startswith("keras."):
        module = "ember." + module
    if module != "ember.keras" and not module.startswith("ember.keras."):
        return None
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _builtin_layer_classes() -> dict[str, type]:
    import ember.keras.layers as layers
    from ember.keras import models
    from ember.keras.layers.layer import Layer

    found: dict[str, type] = {}
    stack = [Layer]
    while stack:                    # every imported Layer subclass defined by Ember
        cls = stack.pop()
        if cls.__module__.startswith("ember.keras."):
            found.setdefault(cls.__name__, cls)
        stack.extend(cls.__subclasses__())
    for namespace in (layers, models):
        for name in dir(namespace):
            value = getattr(namespace, name)
            if isinstance(value, type) and issubclass(value, Layer):
                found[name] = value
    return found


def _locate(config: dict) -> Any:
    class_name = config.get("class_name")
    for key in (config.get("registered_name"), class_name):
        if isinstance(key, str):
            obj = get_registered_object(key)
            if obj is not None:
                return obj
    module = _ember_module(config.get("module"))
    name = config["config"] if class_name == "function" else class_name
    if module is not None and isinstance(name, str) and hasattr(module, name):
        return getattr(module, name)
    if class_name != "function":
        found = _builtin_layer_classes().get(class_name)
        if found is not None:
            return found
    raise ValueError(f"Could not locate {'function' if class_name == 'function' else 'class'} "
                     f"{name!r}. Make sure custom classes and functions are decorated with "
                     "`@keras.saving.register_keras_serializable()` or passed in "
                     f"`custom_objects`. Full object config: {config}")


def deserialize_keras_object(config: Any, custom_objects: dict | None = None,
                             safe_mode: bool = True, **kwargs: Any) -> Any:
    """Rebuild an object from what :func:`serialize_keras_object` produced.

    ``safe_mode`` is accepted for Keras compatibility: Ember configs never hold code, so
    loading is always safe.

    >>> from ember import keras
    >>> cfg = keras.saving.serialize_keras_object(keras.layers.Layer(name="x"))
    >>> keras.saving.deserialize_keras_object(cfg).name
    'x'
    """
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(c, custom_objects, safe_mode) for c in config]
    with CustomObjectScope(custom_objects):
        if isinstance(config, str):
            obj = get_registered_object(config)
            return config if obj is None else obj
        if not isinstance(config, dict) or "class_name" not in config:
            raise ValueError(f"deserialize_keras_object: expected a dict with a 'class_name' "
                             f"key, got {config!r}")
        if "config" not in config:
            raise ValueError(f"deserialize_keras_object: the config of "
                             f"{config['class_name']!r} has no 'config' entry: {config!r}")
        found = _locate(config)
        if config["class_name"] == "function":
            return found
        inner = config["config"]
        if not isinstance(inner, dict):
            raise ValueError(f"deserialize_keras_object: the 'config' of "
                             f"{config['class_name']!r} must be a dict, got {inner!r}")
        if hasattr(found, "from_config"):
            obj = found.from_config(inner)
        else:
            obj = found(**inner)
        build_config = config.get("build_config")
        if build_config and hasattr(obj, "build_from_config"):
            obj.build_from_config(build_config)
        return obj
