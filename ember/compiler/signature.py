"""Flatten call arguments and describe them as a cache key.

A compiled function is reused only for calls with the same *signature*: the structure of
the arguments (tuples, lists, dicts), each tensor's shape, dtype and ``requires_grad``,
the value of each Python scalar or string, the identity of other objects, and whether
gradients are enabled. ``dynamic=True`` leaves the size of dimension 0 out of the key.
"""
from __future__ import annotations

from typing import Any

from ember.autograd.grad_mode import state as grad_state
from ember.tensor import Tensor

__all__ = ["flatten", "unflatten", "signature"]


def flatten(tree: Any) -> tuple[list, Any]:
    """Leaves of nested tuples/lists/dicts and a spec to rebuild them."""
    leaves: list = []

    def walk(x: Any) -> Any:
        if isinstance(x, (tuple, list)) and (type(x) in (tuple, list) or hasattr(x, "_fields")):
            return (type(x), tuple(walk(e) for e in x))
        if type(x) is dict:
            return (dict, tuple(x.keys()), tuple(walk(e) for e in x.values()))
        leaves.append(x)
        return None
    return leaves, walk(tree)


def unflatten(spec: Any, leaves: list) -> Any:
    """Inverse of :func:`flatten`."""
    it = iter(leaves)

    def build(s: Any) -> Any:
        if s is None:
            return next(it)
        if s[0] is dict:
            return dict(zip(s[1], (build(e) for e in s[2])))
        if hasattr(s[0], "_fields"):            # a named tuple (ember.return_types)
            return s[0](*(build(e) for e in s[1]))
        return s[0](build(e) for e in s[1])
    return build(spec)


def _leaf_key(x: Any, dynamic: bool) -> Any:
    if isinstance(x, Tensor):
        d = x._data
        shape = d.shape[1:] if dynamic and d.ndim else d.shape
        return ("T", shape, d.dtype.str, x._rg)
    if x is None or isinstance(x, (bool, int, float, str, bytes)):
        return (type(x).__name__, x)
    return ("obj", id(x))


def signature(leaves: list, spec: Any, dynamic: bool = False) -> tuple:
    """The cache key of a call whose flattened arguments are ``leaves``."""
    return (spec, grad_state.enabled, tuple(_leaf_key(x, dynamic) for x in leaves))
