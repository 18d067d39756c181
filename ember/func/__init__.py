"""``ember.func``: JAX/torch.func-style function transforms on Ember's ops.

``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian``,
``vmap`` and ``functional_call`` take and return plain functions, so they compose:
``vmap(grad(f))`` gives per-example gradients, ``ember.compile(vmap(f))`` traces the
batched ops.
"""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "grad": "ember.func._transforms", "value_and_grad": "ember.func._transforms",
    "vjp": "ember.func._transforms", "jvp": "ember.func._transforms",
    "jacrev": "ember.func._transforms", "jacfwd": "ember.func._transforms",
    "hessian": "ember.func._transforms",
    "functional_call": "ember.func._functional_call",
    "vmap": "ember.func.vmap",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ember.func' has no attribute {name!r}")
