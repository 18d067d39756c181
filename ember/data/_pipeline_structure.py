"""Nested elements of a pipeline: flattening, rebuilding and converting their components.

An element is a nest of tuples (namedtuples included) and dicts whose leaves are
components: ``ember.Tensor`` for numbers, and Python ``str``/``bytes`` (or nested lists of
them, for batched strings) for text, which has no tensor type in Ember. A Python list is
a leaf, as in tf.data, so ``[1, 2, 3]`` is one tensor rather than three components.
Dict leaves are visited in sorted key order (tf.nest's order), so two elements with the
same keys flatten alike whatever order their keys were written in.
"""
from __future__ import annotations

import collections.abc
from typing import Any

import numpy as np

from ember.ops.creation import as_tensor, from_numpy, tensor
from ember.tensor import Tensor

__all__ = ["flatten", "pack", "same_structure", "to_component", "is_text", "to_array",
           "describe"]


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def flatten(x: Any) -> list:
    """The leaves of ``x`` in order (dicts by sorted key)."""
    if isinstance(x, tuple):
        return [leaf for item in x for leaf in flatten(item)]
    if isinstance(x, collections.abc.Mapping):
        return [leaf for k in sorted(x) for leaf in flatten(x[k])]
    return [x]


def pack(template: Any, leaves: list) -> Any:
    """``template``'s structure with its leaves replaced, in order, by ``leaves``."""
    it = iter(leaves)

    def build(t: Any) -> Any:
        if isinstance(t, tuple):
            items = [build(item) for item in t]
            return type(t)(*items) if _is_namedtuple(t) else type(t)(items)
        if isinstance(t, collections.abc.Mapping):
            built = {k: build(t[k]) for k in sorted(t)}
            return type(t)((k, built[k]) for k in t)
        return next(it)

    return build(template)


def same_structure(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and \
            all(same_structure(x, y) for x, y in zip(a, b))
    if isinstance(a, collections.abc.Mapping):
        return isinstance(b, collections.abc.Mapping) and sorted(a) == sorted(b) and \
            all(same_structure(a[k], b[k]) for k in a)
    return not isinstance(b, (tuple, collections.abc.Mapping))


def describe(x: Any) -> str:
    """A short picture of a structure: ``(Tensor[2, 3], {'y': str})``."""
    if isinstance(x, tuple):
        inner = ", ".join(describe(v) for v in x)
        return f"({inner},)" if len(x) == 1 else f"({inner})"
    if isinstance(x, collections.abc.Mapping):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in x.items()) + "}"
    if isinstance(x, Tensor):
        return f"Tensor{list(x.shape)}:{x.dtype.name}"
    return type(x).__name__


def _all_text(x: Any) -> bool:
    if isinstance(x, (str, bytes)):
        return True
    return isinstance(x, list) and len(x) > 0 and all(_all_text(v) for v in x)


def is_text(x: Any) -> bool:
    """Whether a component is text: a ``str``/``bytes`` or a nested list of them."""
    return _all_text(x)


def to_component(x: Any, who: str) -> Any:
    """A leaf as a pipeline component: text stays text, everything numeric becomes a tensor.

    Python floats become float32, ints int64 and bools bool (Ember's PyTorch rules); NumPy
    arrays keep their dtype (and share memory); string arrays become lists of ``str``.
    """
    if isinstance(x, Tensor) or isinstance(x, (str, bytes)):
        return x
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "US":
            return x.tolist()
        if x.dtype.kind == "O":
            raise TypeError(f"{who}: cannot make a component from a NumPy array of dtype "
                            f"object; expected numbers, bools or strings")
        return from_numpy(x)
    if isinstance(x, (np.generic, bool, int, float)):
        return as_tensor(np.asarray(x)) if isinstance(x, np.generic) else tensor(x)
    if isinstance(x, list):
        if _all_text(x):
            return x
        try:
            return tensor(x)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{who}: cannot make a tensor from the list {_short(x)} ({e}); "
                             f"lists must be rectangular and hold numbers, bools or "
                             f"tensors") from None
    raise TypeError(f"{who}: cannot make a component from a value of type "
                    f"{type(x).__name__} ({_short(x)}); expected a tensor, NumPy array, "
                    f"number, bool, str, bytes or list, nested in tuples and dicts")


def _short(x: Any) -> str:
    r = repr(x)
    return r if len(r) <= 60 else r[:57] + "..."


def to_array(component: Any) -> np.ndarray:
    """A component as a NumPy array (text as a ``U``/``S`` array), sharing memory."""
    if isinstance(component, Tensor):
        return component.detach().numpy()
    return np.asarray(component)
