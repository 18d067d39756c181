"""``TensorSpec``: the declared type of one pipeline component (``from_generator``'s
``output_signature``, and what ``Pipeline.element_spec`` reports)."""
from __future__ import annotations

import collections.abc
from typing import Any

import numpy as np

from ember.backend.dtypes import DType, float32, to_dtype
from ember.data._pipeline_structure import describe, is_text, to_array
from ember.ops.creation import from_numpy
from ember.tensor import Tensor

__all__ = ["TensorSpec", "conform", "spec_of"]


class TensorSpec:
    """The shape (``None``: any size / any rank) and dtype of a component, as
    ``tf.TensorSpec``. ``dtype=str`` (or ``bytes``) declares text.

    >>> TensorSpec(shape=(None, 3), dtype=ember.int64)
    TensorSpec(shape=(None, 3), dtype=int64, name=None)
    """

    def __init__(self, shape: Any = None, dtype: Any = float32, name: str | None = None):
        if shape is not None:
            try:
                shape = tuple(None if d is None or d == -1 else int(d) for d in shape)
            except TypeError:
                raise TypeError(f"TensorSpec: shape must be None or a sequence of ints/None, "
                                f"got {shape!r}") from None
        self.shape = shape
        self.dtype: DType | type = dtype if dtype in (str, bytes) else to_dtype(dtype)
        self.name = name

    @property
    def is_text(self) -> bool:
        return self.dtype in (str, bytes)

    def is_compatible_with(self, shape: tuple) -> bool:
        """Whether a component of ``shape`` fits this spec's shape."""
        if self.shape is None:
            return True
        return len(shape) == len(self.shape) and \
            all(want is None or want == got for want, got in zip(self.shape, shape))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorSpec) and \
            (self.shape, self.dtype, self.name) == (other.shape, other.dtype, other.name)

    def __hash__(self) -> int:
        return hash((self.shape, str(self.dtype), self.name))

    def __repr__(self) -> str:
        dtype = self.dtype.__name__ if self.is_text else self.dtype.name
        return f"TensorSpec(shape={self.shape}, dtype={dtype}, name={self.name!r})"


def spec_of(component: Any) -> TensorSpec:
    """The spec of one component (its exact shape and dtype)."""
    if is_text(component):
        kind = component
        while isinstance(kind, list):
            kind = kind[0]
        return TensorSpec(np.shape(component), type(kind))
    return TensorSpec(tuple(component.shape), component.dtype)


def conform(value: Any, spec: Any, who: str) -> Any:
    """``value`` (a generator's output) made to match ``spec``, a structure of TensorSpecs:
    numbers are cast to the declared dtype (same kind only, e.g. not float to int), shapes
    are checked. TypeError for a different structure or dtype, ValueError for a shape."""
    if isinstance(spec, tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(spec):
            raise TypeError(f"{who}: `generator` yielded an element that did not match the "
                            f"expected structure: expected {len(spec)}-tuple, got "
                            f"{_short(value)}")
        items = [conform(v, s, who) for v, s in zip(value, spec)]
        return type(spec)(*items) if hasattr(spec, "_fields") else tuple(items)
    if isinstance(spec, collections.abc.Mapping):
        if not isinstance(value, collections.abc.Mapping) or sorted(value) != sorted(spec):
            raise TypeError(f"{who}: `generator` yielded an element that did not match the "
                            f"expected structure: expected a dict with keys {sorted(spec)}, "
                            f"got {_short(value)}")
        return {k: conform(value[k], s, who) for k, s in spec.items()}
    if not isinstance(spec, TensorSpec):
        raise TypeError(f"{who}: output_signature must be a (nested) structure of "
                        f"TensorSpec, got {spec!r}")
    if spec.is_text:
        if not is_text(value):
            raise TypeError(f"{who}: `generator` yielded {_short(value)} where text "
                            f"({spec.dtype.__name__}) was expected")
        component = value
    else:
        array = to_array(value) if isinstance(value, Tensor) else np.asarray(value)
        if array.dtype.kind in "USO" or array.size and \
                not np.can_cast(array.dtype, spec.dtype.np, casting="same_kind"):
            raise TypeError(f"{who}: `generator` yielded an element that could not be "
                            f"converted to the expected type {spec.dtype.name}: "
                            f"{_short(value)} has dtype {array.dtype}")
        component = from_numpy(np.asarray(array, dtype=spec.dtype.np, order="C"))
    shape = np.shape(component) if spec.is_text else tuple(component.shape)
    if not spec.is_compatible_with(shape):
        raise ValueError(f"{who}: `generator` yielded an element of shape {list(shape)} "
                         f"where an element of shape {list(spec.shape)} was expected")
    return component


def _short(x: Any) -> str:
    r = describe(x) if isinstance(x, (tuple, dict)) else repr(x)
    return r if len(r) <= 60 else r[:57] + "..."
