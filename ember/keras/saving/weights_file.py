"""Model weights by layer path, as a safetensors file (``model.save_weights``).

Each weight is named ``<layer path>/vars/<i>``: the path of the layer inside the model
(in a functional or Sequential model its class in snake case, numbered in order like
``dense``, ``dense_1``, so names given or generated do not matter; its attribute name in a
subclassed one; nested models add a level) and the weight's creation index in that layer, like Keras's
``.weights.h5`` layout. A weight shared by several layers is stored once, under its first
path. Plain ``ember.nn`` modules inside a layer store their ``state_dict`` entries.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

import ember
from ember import Tensor
from ember.io.atomic import atomic_write
from ember.io.safetensors_file import from_bytes, to_bytes
from ember.keras._naming import snake_case
from ember.keras.layers.layer import Layer

__all__ = ["save_weights", "load_weights", "weight_arrays", "assign_weights"]

SUFFIX = ".weights.safetensors"


def named_weights(layer: Layer, prefix: str = "") -> list[tuple[str, Tensor]]:
    """``(path, tensor)`` for every weight of ``layer``, each tensor once."""
    seen: set[int] = set()
    out: list[tuple[str, Tensor]] = []

    def visit(current: Any, path: str) -> None:
        if isinstance(current, Layer):
            for i, w in enumerate(current._own_weights):
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append((f"{path}vars/{i}", w))
            taken: dict[str, int] = {}
            for key, child in current._modules.items():
                if child is None:
                    continue
                if isinstance(child, Layer) and key == child.name:
                    # registered under its (often generated) name: key by class and order
                    # instead, so a fresh model of the same architecture loads the file
                    base = snake_case(type(child).__name__)
                    n = taken[base] = taken.get(base, -1) + 1
                    key = base if n == 0 else f"{base}_{n}"
                visit(child, f"{path}{key}/")
            return
        for name, t in current.state_dict(keep_vars=True).items():
            if id(t) not in seen:
                seen.add(id(t))
                out.append((f"{path}{name}", t))

    visit(layer, prefix)
    return out


def weight_arrays(model: Layer) -> dict[str, np.ndarray]:
    """The model's weights as NumPy arrays, by path."""
    return {name: np.ascontiguousarray(t.detach().numpy())
            for name, t in named_weights(model)}


def assign_weights(model: Layer, arrays: dict[str, np.ndarray], source: str,
                   skip_mismatch: bool = False) -> None:
    """Copy ``arrays`` into the model's weights; every weight must be present with its
    shape (unless ``skip_mismatch``), and no array may be left over."""
    if not model.built:
        raise ValueError(f"{source}: the model {model.name!r} is not built yet, so it has no "
                         "weights to load into; call it on data or build() it first")
    targets = named_weights(model)
    expected = {name for name, _ in targets}
    extra = sorted(set(arrays) - expected)
    missing = sorted(expected - set(arrays))
    if (extra or missing) and not skip_mismatch:
        raise ValueError(f"{source}: the file's weights do not match model {model.name!r}: "
                         f"missing from the file: {missing[:5]}"
                         f"{' ...' if len(missing) > 5 else ''}; unexpected in the file: "
                         f"{extra[:5]}{' ...' if len(extra) > 5 else ''}")
    updates = []
    for name, t in targets:
        if name not in arrays:
            continue
        value = arrays[name]
        if tuple(value.shape) != tuple(t.shape):
            if skip_mismatch:
                continue
            raise ValueError(f"{source}: weight {name!r} has shape {tuple(value.shape)} in the "
                             f"file but {tuple(t.shape)} in model {model.name!r}")
        updates.append((t, value))
    with ember.no_grad():
        for t, value in updates:
            t.copy_(ember.tensor(np.ascontiguousarray(value)).to(t.dtype))


def check_suffix(filepath: Any, suffix: str, who: str) -> str:
    path = os.fspath(filepath)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    if path.endswith(".h5") or path.endswith(".hdf5"):
        raise ValueError(f"{who}: HDF5 files are not supported by Ember; use the '{suffix}' "
                         f"suffix instead. Received: filepath={path}")
    if not path.endswith(suffix):
        raise ValueError(f"{who}: the filename must end in `{suffix}`. Received: "
                         f"filepath={path}")
    return path


def save_weights(model: Layer, filepath: Any, overwrite: bool = True) -> None:
    """Write the model's weights to ``filepath`` (``.weights.safetensors``), atomically."""
    path = check_suffix(filepath, SUFFIX, "save_weights")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save_weights: {path} exists and overwrite=False")
    data = to_bytes(weight_arrays(model), {"format": "ember.keras.weights", "version": "1"})

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(path, write, who="save_weights")


def load_weights(model: Layer, filepath: Any, skip_mismatch: bool = False) -> None:
    """Load weights written by :func:`save_weights` into ``model``."""
    path = check_suffix(filepath, SUFFIX, "load_weights")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ValueError(f"load_weights: cannot read {path}: {e.strerror}") from None
    try:
        _, arrays = from_bytes(data, path)
    except RuntimeError as e:
        raise ValueError(f"load_weights: {e}") from None
    assign_weights(model, arrays, path, skip_mismatch=skip_mismatch)
