"""Checks on tensor *values* (index ranges, class targets) that a traced graph keeps.

Most checks look at shapes and dtypes, which a graph fixes when it is traced. A check
on values must run again at every call of a compiled function, or a graph traced with
good indices would silently wrap or misread bad ones. :func:`check_values` runs such a
check now and, while a graph is being traced, records it as an ``assert_values`` node
(an effect: passes never remove or move it), so the graph raises the same error eager
mode raises.

:class:`IndexConstant` marks index arrays fixed by the code rather than by a tensor's
values (a Python list written in an index, an ``arange`` built from shapes): a graph may
keep those as attributes.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ember.ops.registry import Op, dispatch_hooks, register
from ember.tensor import Tensor

__all__: list = []


class IndexConstant(np.ndarray):
    """An index array that depends only on the code and on shapes, never on a tensor's
    values (see the module docstring)."""


def index_constant(a: Any) -> IndexConstant:
    """``a`` (an int or bool array) viewed as an :class:`IndexConstant`."""
    return np.asarray(a).view(IndexConstant)


class AssertValues(Op):
    """``check(*arrays, *args)``, which raises if the values are bad; the output (a 0-d
    bool) only gives the node a value."""

    differentiable = False
    checks = True           # an effect: passes keep it and keep it in place

    def forward(self, xp: Any, *arrays: Any, check: Callable, args: tuple) -> Any:
        check(*arrays, *args)
        return xp.zeros((), dtype=bool)


_assert_values = register(AssertValues())


def check_values(check: Callable, tensors: tuple, *args: Any) -> None:
    """Run ``check(*(t's array for t in tensors), *args)``; under a dispatch hook, as an
    op: a tracer records it in the graph (so it runs again on each call's values) and
    vmap runs it on the batched arrays."""
    if dispatch_hooks and all(isinstance(t, Tensor) for t in tensors):
        _assert_values(*tensors, check=check, args=args)
    else:
        check(*(t._data if isinstance(t, Tensor) else t for t in tensors), *args)
