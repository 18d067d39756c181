"""The file behind ``Pipeline.cache(filename)``: every element of one pass, in safetensors.

Layout (version 1): for numeric component ``k`` (in flattened order) the tensor
``c{k}.data`` holds all elements' values one after another, flattened, and
``c{k}.shapes`` (int64, ``[count, rank]``) each element's shape. Text components, the
element structure (in :mod:`ember.io.structure`'s JSON, with component numbers as
leaves) and the count are JSON in the safetensors metadata. Nothing is unpickled.
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterator

import numpy as np

from ember.data._pipeline_structure import describe, flatten, is_text, pack, \
    same_structure, to_array
from ember.io import safetensors_file, structure
from ember.io.atomic import atomic_write
from ember.ops.creation import from_numpy

__all__ = ["write_cache", "read_cache"]

_FORMAT = "ember.pipeline.cache"
_VERSION = "1"


def _text_to_json(x: Any) -> Any:
    if isinstance(x, list):
        return [_text_to_json(v) for v in x]
    return {"b": x.decode("latin-1")} if isinstance(x, bytes) else x


def _text_from_json(x: Any) -> Any:
    if isinstance(x, list):
        return [_text_from_json(v) for v in x]
    return x["b"].encode("latin-1") if isinstance(x, dict) else x


def write_cache(filename: str, elements: list) -> None:
    """Write ``elements`` (one full pass, all of one structure) to ``filename`` atomically."""
    if not elements:
        template: Any = ()
        columns: list = []
    else:
        template = elements[0]
        for i, e in enumerate(elements):
            if not same_structure(template, e):
                raise ValueError(f"cache: element {i} has the structure {describe(e)}, "
                                 f"unlike element 0's {describe(template)}")
        columns = list(zip(*(flatten(e) for e in elements)))
    arrays: dict[str, np.ndarray] = {}
    text: dict[str, list] = {}
    for k, column in enumerate(columns):
        if is_text(column[0]):
            text[str(k)] = [_text_to_json(c) for c in column]
            continue
        values = [to_array(c) for c in column]
        kinds = {(v.dtype, v.ndim) for v in values}
        if len(kinds) != 1:
            raise ValueError(f"cache: component {k} changes dtype or rank between elements "
                             f"({sorted(str(d) + '/rank ' + str(r) for d, r in kinds)}); "
                             f"a cached component needs one dtype and rank")
        arrays[f"c{k}.data"] = np.concatenate([v.reshape(-1) for v in values])
        arrays[f"c{k}.shapes"] = np.array([v.shape for v in values], dtype=np.int64) \
            .reshape(len(values), values[0].ndim)
    tree, _ = structure.encode(pack(template, list(range(len(columns)))))
    metadata = {"format": _FORMAT, "version": _VERSION, "count": str(len(elements)),
                "structure": json.dumps(tree), "text": json.dumps(text)}
    atomic_write(filename, lambda tmp: safetensors_file.write_file(arrays, metadata, tmp),
                 who="Pipeline.cache")


def read_cache(filename: str) -> Iterator:
    """The elements stored in ``filename`` by :func:`write_cache`.

    Raises RuntimeError naming the file for anything that is not such a file.
    """
    with open(filename, "rb") as f:
        data = f.read()
    source = f"Pipeline.cache: {os.fspath(filename)}"
    metadata, arrays = safetensors_file.from_bytes(data, source)
    try:
        if metadata.get("format") != _FORMAT:
            raise ValueError(f"it is not a pipeline cache (format {metadata.get('format')!r})")
        if metadata.get("version") != _VERSION:
            raise ValueError(f"unknown cache version {metadata.get('version')!r}, this Ember "
                             f"reads version {_VERSION}")
        count = int(metadata["count"])
        template = structure.decode(json.loads(metadata["structure"]), lambda name: {}[name])
        text = {int(k): v for k, v in json.loads(metadata["text"]).items()}
        n_columns = len(flatten(template)) if count else 0
        columns = [_text_column(text[k], count) if k in text
                   else _numeric_column(arrays, k, count) for k in range(n_columns)]
    except (ValueError, KeyError, TypeError) as e:
        raise RuntimeError(f"{source}: a malformed pipeline cache file ({e}); delete it to "
                           f"rebuild the cache") from None
    for i in range(count):
        yield pack(template, [c[i] for c in columns])


def _text_column(values: Any, count: int) -> list:
    if not isinstance(values, list) or len(values) != count:
        raise ValueError("a text component does not have one value per element")
    return [_text_from_json(v) for v in values]


def _numeric_column(arrays: dict, k: int, count: int) -> list:
    data, shapes = arrays[f"c{k}.data"], arrays[f"c{k}.shapes"]
    if shapes.ndim != 2 or shapes.shape[0] != count or (shapes < 0).any():
        raise ValueError(f"component {k} has bad shapes {list(shapes.shape)}")
    sizes = np.prod(shapes, axis=1, dtype=np.int64)
    if data.ndim != 1 or int(sizes.sum()) != data.shape[0]:
        raise ValueError(f"component {k} holds {data.size} values, its shapes need "
                         f"{int(sizes.sum())}")
    ends = np.cumsum(sizes)
    return [from_numpy(data[end - size:end].reshape(tuple(shape)))
            for end, size, shape in zip(ends.tolist(), sizes.tolist(), shapes.tolist())]
