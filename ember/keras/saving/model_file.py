"""Whole models in a ``.keras`` archive: ``model.save`` / ``keras.models.load_model``.

The archive is a zip file holding

- ``config.json``: the serialized model (class, config, build config) and, if the model was
  compiled, ``"compile_config"`` (optimizer, loss, metrics, loss weights, serialized);
- ``metadata.json``: ``{"ember_version", "format_version", "date_saved"}``;
- ``model.weights.safetensors``: the weights by layer path (see ``weights_file``).

It is written to a temporary file and renamed, so a crash never leaves half an archive.
Loading never unpickles or runs code from the file.
"""
from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
from typing import Any

import ember
from ember.io.atomic import atomic_write
from ember.io.safetensors_file import from_bytes, to_bytes
from ember.keras.saving.object_registration import CustomObjectScope
from ember.keras.saving.serialization import deserialize_keras_object, \
    serialize_keras_object
from ember.keras.saving.weights_file import assign_weights, check_suffix, weight_arrays

__all__ = ["save_model", "load_model"]

FORMAT_VERSION = 1
_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.safetensors"


def save_model(model: Any, filepath: Any, overwrite: bool = True, zipped: bool | None = None,
               **kwargs: Any) -> None:
    """Save ``model`` (architecture, weights, compile settings) to a ``.keras`` file.

    >>> model.save("model.keras")                     # doctest: +SKIP
    """
    if kwargs:
        raise ValueError(f"save_model: unrecognized keyword arguments {sorted(kwargs)}")
    if zipped is False:
        raise ValueError("save_model: Ember always writes the zipped `.keras` format "
                         "(zipped=False is not supported)")
    path = check_suffix(filepath, ".keras", "save_model")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save_model: {path} exists and overwrite=False")
    config = serialize_keras_object(model)
    compile_config = getattr(model, "_compile_config", None)
    if compile_config:
        config["compile_config"] = serialize_keras_object(compile_config)
    metadata = {"ember_version": ember.__version__, "format_version": FORMAT_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    weights = to_bytes(weight_arrays(model), None)

    def write(tmp: str) -> None:
        with zipfile.ZipFile(tmp, "w") as archive:
            archive.writestr(_METADATA, json.dumps(metadata), zipfile.ZIP_DEFLATED)
            archive.writestr(_CONFIG, json.dumps(config), zipfile.ZIP_DEFLATED)
            archive.writestr(_WEIGHTS, weights, zipfile.ZIP_STORED)

    atomic_write(path, write, who="save_model")


def _read_archive(path: str) -> tuple[dict, dict, bytes]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ValueError(f"load_model: cannot read {path}: {e.strerror}") from None
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = set(archive.namelist())
            for member in (_CONFIG, _METADATA, _WEIGHTS):
                if member not in names:
                    raise ValueError(f"load_model: {path} is not a complete .keras archive: "
                                     f"member {member!r} is missing (it has {sorted(names)})")
            members = {m: archive.read(m) for m in (_CONFIG, _METADATA, _WEIGHTS)}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as e:
        raise ValueError(f"load_model: {path} is not a valid .keras archive (a zip file): "
                         f"{e}") from None
    parsed = []
    for member in (_CONFIG, _METADATA):
        try:
            value = json.loads(members[member])
        except (ValueError, RecursionError) as e:
            raise ValueError(f"load_model: {path}: {member} is not valid JSON ({e})") from None
        if not isinstance(value, dict):
            raise ValueError(f"load_model: {path}: {member} must hold a JSON object")
        parsed.append(value)
    return parsed[0], parsed[1], members[_WEIGHTS]


def load_model(filepath: Any, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Rebuild the model saved in a ``.keras`` file, load its weights, and re-compile it
    with the saved settings if it was compiled (and ``compile=True``).

    Custom layers are found by ``register_keras_serializable`` or ``custom_objects``.

    >>> model = keras.models.load_model("model.keras")     # doctest: +SKIP
    """
    path = os.fsdecode(os.fspath(filepath))
    if not path.endswith(".keras"):
        raise ValueError(f"load_model: file format not supported: filepath={path}. Ember "
                         "loads `.keras` archives written by model.save(); weights-only "
                         "files go to model.load_weights().")
    config, metadata, weights = _read_archive(path)
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(f"load_model: {path} has format version {version!r}; this Ember "
                         f"reads versions up to {FORMAT_VERSION}")
    compile_config = config.pop("compile_config", None)
    try:
        model = deserialize_keras_object(config, custom_objects=custom_objects,
                                         safe_mode=safe_mode)
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f"load_model: {path}: cannot rebuild the model from config.json: "
                         f"{e}") from None
    try:
        _, arrays = from_bytes(weights, f"{path}:{_WEIGHTS}")
    except RuntimeError as e:
        raise ValueError(f"load_model: {e}") from None
    assign_weights(model, arrays, f"{path}:{_WEIGHTS}")
    if compile and compile_config and hasattr(model, "compile_from_config"):
        with CustomObjectScope(custom_objects or {}):
            model.compile_from_config(compile_config)
    return model
