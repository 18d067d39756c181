"""Turning lists of samples into batches: ``default_collate`` and ``default_convert``.

The rules are PyTorch's (``torch.utils.data.default_collate``): tensors are stacked, NumPy
arrays and numbers become tensors, strings stay a list, and containers (dicts, namedtuples,
lists, tuples) are collated field by field. ``collate`` with a ``collate_fn_map`` lets a
user add rules for their own types, as in PyTorch.
"""
from __future__ import annotations

import collections.abc
import copy
import re
from typing import Any, Callable

import numpy as np

from ember.backend.dtypes import float64
from ember.ops.creation import as_tensor, tensor
from ember.ops.joining import stack
from ember.tensor import Tensor

__all__ = ["collate", "default_collate", "default_convert", "default_collate_fn_map"]

# dtype.str codes NumPy uses for bytes, str and object arrays: these cannot become tensors.
_STRING_OR_OBJECT = re.compile(r"[SaUO]")
_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
        "lists; found {}")


def _is_namedtuple(obj: Any) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def _rebuild_sequence(elem: Any, items: list) -> Any:
    """A container like ``elem`` holding ``items``; a plain list if its type refuses."""
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(elem)(items)
    except TypeError:
        return items


def _rebuild_mapping(elem: Any, items: dict) -> Any:
    """A mapping like ``elem`` holding ``items``; a plain dict if its type refuses."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(items)
            return clone
        return type(elem)(items)
    except TypeError:
        return items


def collate(batch: Any, *, collate_fn_map: dict | None = None) -> Any:
    """Collate ``batch`` (a sequence of samples of one structure) into one batched sample.

    ``collate_fn_map`` maps a type (or tuple of types) to a function
    ``fn(batch, *, collate_fn_map)`` that collates a batch whose first sample is of that
    type; containers are handled here and their fields collated recursively.

    >>> collate([(1, 'a'), (2, 'b')], collate_fn_map=default_collate_fn_map)
    [tensor([1, 2]), ['a', 'b']]
    """
    if len(batch) == 0:
        raise IndexError("default_collate: got an empty batch; a batch needs at least one "
                         "sample")
    elem = batch[0]
    if collate_fn_map is not None:
        fn = collate_fn_map.get(type(elem))
        if fn is None:
            fn = next((f for t, f in collate_fn_map.items() if isinstance(elem, t)), None)
        if fn is not None:
            return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {key: collate([d[key] for d in batch],
                                                    collate_fn_map=collate_fn_map)
                                       for key in elem})
    if _is_namedtuple(elem):
        return type(elem)(*(collate(s, collate_fn_map=collate_fn_map)
                            for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        # Tuples come back as lists, as in PyTorch.
        return fields if isinstance(elem, tuple) else _rebuild_sequence(elem, fields)
    raise TypeError(_ERR.format(type(elem)))


def _collate_tensors(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    return stack(batch, 0)


def _collate_arrays(batch: list, *, collate_fn_map: dict | None = None) -> Any:
    if _STRING_OR_OBJECT.search(batch[0].dtype.str) is not None:
        raise TypeError(_ERR.format(batch[0].dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def _collate_numpy_scalars(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    return as_tensor(np.asarray(batch))


def _collate_floats(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    return tensor(batch, dtype=float64)


def _collate_ints(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    return tensor(batch)       # int64, or bool when every sample is a bool


def _collate_strings(batch: list, *, collate_fn_map: dict | None = None) -> list:
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: _collate_tensors,
    np.ndarray: _collate_arrays,
    (np.bool_, np.number): _collate_numpy_scalars,
    float: _collate_floats,
    int: _collate_ints,
    str: _collate_strings,
    bytes: _collate_strings,
}


def default_collate(batch: Any) -> Any:
    """The DataLoader's default ``collate_fn``: batch a list of samples, keeping structure.

    Tensors are stacked along a new first dimension; NumPy arrays likewise (string and
    object arrays are refused); Python floats become a float64 tensor, ints int64, bools
    bool; str/bytes stay a list; dicts, namedtuples, lists and tuples are collated per
    key/position (tuples come back as lists). Anything else raises ``TypeError``.

    >>> default_collate([{'x': ember.zeros(2), 'y': 1}, {'x': ember.ones(2), 'y': 0}])
    {'x': tensor([[0., 0.], [1., 1.]]), 'y': tensor([1, 0])}
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)


def default_convert(data: Any) -> Any:
    """The ``collate_fn`` used when automatic batching is off (``batch_size=None``).

    NumPy arrays (except string/object ones) and NumPy scalars become tensors; containers
    are converted element by element (tuples become lists, as in PyTorch); everything else
    is returned unchanged.

    >>> default_convert((np.arange(2), 'a'))
    [tensor([0, 1]), 'a']
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if _STRING_OR_OBJECT.search(data.dtype.str) else as_tensor(data)
    if isinstance(data, (np.bool_, np.number)):
        return as_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {k: default_convert(v) for k, v in data.items()})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data
