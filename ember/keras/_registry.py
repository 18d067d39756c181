"""Resolving Keras identifiers: string aliases, class names, configs, instances.

``keras.initializers.get``, ``keras.regularizers.get``, ``keras.activations.get`` (and the
saving code) share this so every family accepts the same forms and fails the same way.
Classes registered with ``keras.saving.register_keras_serializable`` are found by name.
"""
from __future__ import annotations

from typing import Any

# "package>ClassName" or "ClassName" -> class, filled by register_keras_serializable
CUSTOM_OBJECTS: dict[str, Any] = {}


class Registry:
    """The known members of one family (``kind``: "initializer", "activation", ...)."""

    def __init__(self, kind: str, base: type | None, aliases: dict[str, Any]) -> None:
        self.kind, self.base, self.aliases = kind, base, dict(aliases)
        self._by_class_name = {getattr(v, "__name__", k): v for k, v in aliases.items()}

    def lookup(self, name: str) -> Any:
        """The member called ``name`` (an alias or a class name), or a ValueError."""
        for table in (self.aliases, self._by_class_name, CUSTOM_OBJECTS):
            if name in table:
                return table[name]
        known = ", ".join(sorted(self.aliases))
        raise ValueError(f"Could not interpret {self.kind} identifier: {name!r}. Known "
                         f"names: {known}")

    def get(self, identifier: Any) -> Any:
        """None stays None; strings and ``{"class_name", "config"}`` dicts are resolved
        (a class is instantiated); instances and other callables are returned as is."""
        if identifier is None:
            return None
        if isinstance(identifier, str):
            member = self.lookup(identifier)
            return member() if isinstance(member, type) else member
        if isinstance(identifier, dict):
            if "class_name" not in identifier:
                raise ValueError(f"Could not interpret {self.kind} identifier: "
                                 f"{identifier!r} (a config needs 'class_name')")
            member = self.lookup(identifier["class_name"])
            config = identifier.get("config") or {}
            if not isinstance(member, type):
                return member
            if hasattr(member, "from_config"):
                return member.from_config(config)
            return member(**config)
        if self.base is not None and isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, type) and self.base is not None \
                and issubclass(identifier, self.base):
            return identifier()
        if callable(identifier):
            return identifier
        raise ValueError(f"Could not interpret {self.kind} identifier: {identifier!r}")

    def serialize(self, obj: Any) -> Any:
        """A JSON-ready form: the alias for a plain function, else class name + config."""
        if obj is None:
            return None
        for name, member in self.aliases.items():
            if member is obj:
                return name
        if hasattr(obj, "get_config"):
            return {"class_name": registered_name(type(obj)), "config": obj.get_config()}
        for key, value in CUSTOM_OBJECTS.items():
            if value is obj:
                return key
        raise ValueError(f"Cannot serialize {self.kind} {obj!r}: register it with "
                         "keras.saving.register_keras_serializable()")


def registered_name(cls: type) -> str:
    """The name a class is saved under: its registration key, else its class name."""
    for key, value in CUSTOM_OBJECTS.items():
        if value is cls:
            return key
    return cls.__name__
