"""The backend layer: which array module holds a tensor's data, and the dtype table.

Op files never import NumPy for their math; they receive the array module ``xp`` of their
inputs from the dispatcher. CPU tensors use NumPy. A CUDA backend (CuPy) plugs in here by
registering its array type and module with :func:`register_backend`; nothing in ``ops/``
changes.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ember.backend.allocator import tune_allocator
from ember.backend.dtypes import DType, from_numpy_dtype, get_default_dtype, to_dtype

ALLOCATOR_TUNED = tune_allocator()

__all__ = ["Device", "device", "array_module", "module_for", "register_backend", "DType",
           "to_dtype", "from_numpy_dtype", "get_default_dtype", "cpu"]


class Device:
    """Where a tensor lives: ``Device('cpu')`` or ``Device('cuda', 0)``; equals its string."""

    __slots__ = ("type", "index")

    def __init__(self, type: str, index: int | None = None):
        if isinstance(type, Device):
            type, index = type.type, type.index
        if ":" in type:
            type, idx = type.split(":", 1)
            index = int(idx)
        if type not in _MODULES:
            raise RuntimeError(f"unknown or unavailable device type {type!r}; "
                               f"available: {sorted(_MODULES)}")
        self.type = type
        self.index = index

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type,
                                                                         other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


# device type -> array module; array class -> device type
_MODULES: dict[str, Any] = {"cpu": np}
_ARRAY_TYPES: dict[type, str] = {np.ndarray: "cpu"}

cpu = Device("cpu")


def register_backend(device_type: str, module: Any, array_type: type) -> None:
    """Make ``device_type`` available, its arrays being ``array_type`` from ``module``."""
    _MODULES[device_type] = module
    _ARRAY_TYPES[array_type] = device_type


def device(spec: Any = "cpu") -> Device:
    """``ember.device('cpu')``."""
    return spec if isinstance(spec, Device) else Device(spec)


def module_for(dev: Any) -> Any:
    """The array module for a device."""
    return _MODULES[device(dev).type]


def array_module(arr: Any) -> Any:
    """The array module an array belongs to (NumPy for CPU arrays)."""
    if arr.__class__ is np.ndarray:
        return np
    t = _ARRAY_TYPES.get(type(arr))
    return np if t is None else _MODULES[t]


def device_of(arr: Any) -> Device:
    if arr.__class__ is np.ndarray:
        return cpu
    return Device(_ARRAY_TYPES.get(type(arr), "cpu"))


def transfer(arr: Any, dev: Device) -> Any:
    """Copy an array to another device's array module (host <-> device)."""
    if device_of(arr) == dev:
        return arr
    if dev.type == "cpu":
        return arr.get() if hasattr(arr, "get") else np.asarray(arr)
    return _MODULES[dev.type].asarray(arr)
