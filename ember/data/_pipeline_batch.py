"""Element-level batching for pipelines: ``batch``, ``padded_batch`` and ``unbatch``.

A batch keeps the elements' structure (tuples stay tuples, dicts stay dicts); each tensor
component is stacked along a new first dimension with :func:`ember.data.default_collate`
and each text component becomes a list, so ``unbatch`` can take them apart again.
"""
from __future__ import annotations

import collections.abc
from typing import Any, Iterator

import numpy as np

from ember.data._collate import default_collate
from ember.data._pipeline_structure import describe, flatten, is_text, pack, to_array
from ember.ops.creation import from_numpy
from ember.tensor import Tensor

__all__ = ["stack_elements", "pad_and_stack_elements", "split_element", "padded_shapes_of",
           "padding_values_of"]


def _shape(component: Any) -> tuple:
    return tuple(component.shape) if isinstance(component, Tensor) \
        else np.shape(component)


def stack_elements(elements: list) -> Any:
    """One batch from ``elements`` of equal structure and equal component shapes."""
    columns = list(zip(*(flatten(e) for e in elements)))
    stacked = []
    for index, column in enumerate(columns):
        first = _shape(column[0])
        for j, component in enumerate(column):
            if _shape(component) != first:
                raise ValueError(
                    f"batch: cannot batch components of different shapes in component "
                    f"{index}: the first element had shape {list(first)} and element {j} "
                    f"had shape {list(_shape(component))}; use padded_batch to pad them to "
                    f"a common shape")
        stacked.append(list(column) if is_text(column[0]) else default_collate(list(column)))
    return pack(elements[0], stacked)


def _spec_leaves(spec: Any, element: Any, who: str) -> list:
    """The leaves of ``spec``, a structure like ``element`` whose leaves may be lists."""
    if isinstance(element, tuple):
        if not isinstance(spec, (tuple, list)) or len(spec) != len(element):
            raise ValueError(f"padded_batch: {who} {spec!r} does not match the structure "
                             f"of the elements {describe(element)}")
        return [leaf for s, e in zip(spec, element) for leaf in _spec_leaves(s, e, who)]
    if isinstance(element, collections.abc.Mapping):
        if not isinstance(spec, collections.abc.Mapping) or sorted(spec) != sorted(element):
            raise ValueError(f"padded_batch: {who} {spec!r} does not match the structure "
                             f"of the elements {describe(element)}")
        return [leaf for k in sorted(element) for leaf in _spec_leaves(spec[k], element[k], who)]
    return [spec]


def _padded_shape(spec: Any) -> tuple | None:
    if spec is None:
        return None
    if isinstance(spec, Tensor):
        spec = spec.tolist()
    if not isinstance(spec, (list, tuple)) or \
            not all(d is None or isinstance(d, (int, np.integer)) for d in spec):
        raise TypeError(f"padded_batch: each padded shape must be a list/tuple of ints or "
                        f"None (None or -1: the longest in the batch), got {spec!r}")
    return tuple(None if d is None or d == -1 else int(d) for d in spec)


def padded_shapes_of(padded_shapes: Any, element: Any) -> list:
    """One target shape (a tuple of int-or-None, or None) per component of ``element``."""
    if padded_shapes is None:
        return [None] * len(flatten(element))
    return [_padded_shape(s) for s in _spec_leaves(padded_shapes, element, "padded_shapes")]


def padding_values_of(padding_values: Any, element: Any) -> list:
    """One padding value per component of ``element`` (None: 0, or '' for text); a single
    value pads every component."""
    leaves = flatten(element)
    if padding_values is None:
        return [_text_kind(c)() if is_text(c) else 0 for c in leaves]
    if not isinstance(padding_values, (tuple, dict)):
        return [padding_values] * len(leaves)
    return _spec_leaves(padding_values, element, "padding_values")


def _text_kind(component: Any) -> type:
    while isinstance(component, list):
        component = component[0]
    return type(component)


def pad_and_stack_elements(elements: list, shapes: list, values: list) -> Any:
    """One batch from ``elements``, each component padded to its shape in ``shapes``
    (None dims: the longest in the batch) with its value in ``values``."""
    columns = list(zip(*(flatten(e) for e in elements)))
    out = []
    for index, (column, shape, value) in enumerate(zip(columns, shapes, values)):
        arrays = [to_array(c) for c in column]
        ranks = {a.ndim for a in arrays}
        if len(ranks) != 1:
            raise ValueError(f"padded_batch: component {index} has elements of different "
                             f"ranks {sorted(ranks)}; padding needs one rank")
        rank = ranks.pop()
        longest = [max(a.shape[d] for a in arrays) for d in range(rank)]
        if shape is None:
            shape = (None,) * rank
        if len(shape) != rank:
            raise ValueError(f"padded_batch: the padded shape {list(shape)} of component "
                             f"{index} has rank {len(shape)}, but its elements have rank "
                             f"{rank}")
        for d, (want, got) in enumerate(zip(shape, longest)):
            if want is not None and want < got:
                raise ValueError(f"padded_batch: cannot pad component {index} to shape "
                                 f"{list(shape)}: dimension {d} of an element is {got}, "
                                 f"larger than {want}")
        target = [got if want is None else want for want, got in zip(shape, longest)]
        fill = _padding_scalar(value, arrays[0], index)
        padded = [np.pad(a, [(0, t - s) for t, s in zip(target, a.shape)],
                         constant_values=fill) if rank else a for a in arrays]
        if is_text(column[0]):
            out.append([p.tolist() for p in padded])
        else:
            out.append(default_collate([from_numpy(p) for p in padded]))
    return pack(elements[0], out)


def _padding_scalar(value: Any, array: np.ndarray, index: int) -> Any:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"padded_batch: the padding value of component {index} must be "
                             f"a scalar, got shape {list(value.shape)}")
        value = value.item()
    if array.dtype.kind in "US" and not isinstance(value, (str, bytes)):
        raise TypeError(f"padded_batch: component {index} holds text; its padding value "
                        f"must be a str or bytes, got {value!r}")
    if array.dtype.kind not in "US" and isinstance(value, (str, bytes)):
        raise TypeError(f"padded_batch: component {index} is numeric; its padding value "
                        f"must be a number, got {value!r}")
    return value


def split_element(element: Any) -> Iterator:
    """The elements of one batch: every component split along its first dimension."""
    leaves = flatten(element)
    sizes = []
    for index, c in enumerate(leaves):
        shape = _shape(c)
        if len(shape) == 0:
            raise ValueError(f"unbatch: component {index} is a scalar; every component "
                             f"needs a first dimension to unbatch along")
        sizes.append(shape[0])
    if any(s != sizes[0] for s in sizes):
        raise ValueError(f"unbatch: the components have different first dimensions "
                         f"{sizes}; expected them all equal")
    arrays = [c if is_text(c) else to_array(c) for c in leaves]
    for i in range(sizes[0] if sizes else 0):
        yield pack(element, [a[i] if isinstance(a, list) else from_numpy(a[i, ...])
                             for a in arrays])
