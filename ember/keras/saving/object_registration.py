"""Custom classes and functions known by name when a model is rebuilt from its config.

``register_keras_serializable`` records an object under ``"package>name"`` (Keras's key);
``CustomObjectScope`` makes extra objects known for the duration of a ``with`` block (what
``load_model(custom_objects=...)`` uses). Both feed the registry that every
``keras.*.get`` and ``deserialize_keras_object`` consult.
"""
from __future__ import annotations

from typing import Any, Callable

from ember.keras._registry import CUSTOM_OBJECTS

__all__ = ["register_keras_serializable", "get_custom_objects", "get_registered_name",
           "get_registered_object", "CustomObjectScope", "custom_object_scope"]

_MISSING = object()


def register_keras_serializable(package: str = "Custom",
                                name: str | None = None) -> Callable[[Any], Any]:
    """Decorator recording a class or function under ``"package>name"`` so saved models
    that use it can be loaded.

    >>> from ember import keras
    >>> @keras.saving.register_keras_serializable(package="demo")
    ... def double(x):
    ...     return x * 2
    >>> keras.saving.get_registered_name(double)
    'demo>double'
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: `package` must be a string without "
                         f"'>', got {package!r}")

    def decorator(obj: Any) -> Any:
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError(f"Cannot register a class that does not have a get_config() "
                             f"method: {obj.__name__}")
        CUSTOM_OBJECTS[f"{package}>{name or obj.__name__}"] = obj
        return obj

    return decorator


def get_custom_objects() -> dict[str, Any]:
    """The live registry of custom objects (``name -> object``); adding to it registers."""
    return CUSTOM_OBJECTS


def get_registered_name(obj: Any) -> str:
    """The key ``obj`` is registered under, else its ``__name__``."""
    for key, value in CUSTOM_OBJECTS.items():
        if value is obj:
            return key
    return getattr(obj, "__name__", type(obj).__name__)


def get_registered_object(name: str, custom_objects: dict | None = None,
                          module_objects: dict | None = None) -> Any:
    """The object known as ``name`` (registered, in scope, or in the given dicts), or None."""
    for table in (CUSTOM_OBJECTS, custom_objects or {}, module_objects or {}):
        if name in table:
            return table[name]
    return None


class CustomObjectScope:
    """Within the ``with`` block, ``custom_objects`` are known by name to every lookup.

    >>> from ember import keras
    >>> with keras.saving.CustomObjectScope({"twice": lambda x: 2 * x}):
    ...     keras.activations.get("twice")(3)
    6
    """

    def __init__(self, custom_objects: dict[str, Any] | None = None) -> None:
        if custom_objects is not None and not isinstance(custom_objects, dict):
            raise TypeError(f"CustomObjectScope: `custom_objects` must be a dict, got "
                            f"{type(custom_objects).__name__}")
        self.custom_objects = dict(custom_objects or {})
        self._saved: list[dict[str, Any]] = []

    def __enter__(self) -> "CustomObjectScope":
        self._saved.append({k: CUSTOM_OBJECTS.get(k, _MISSING) for k in self.custom_objects})
        CUSTOM_OBJECTS.update(self.custom_objects)
        return self

    def __exit__(self, *exc: Any) -> None:
        for key, value in self._saved.pop().items():
            if value is _MISSING:
                CUSTOM_OBJECTS.pop(key, None)
            else:
                CUSTOM_OBJECTS[key] = value


custom_object_scope = CustomObjectScope
