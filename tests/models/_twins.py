"""Shared helper of the ember.models tests: build a model from ember.models or from its
torch twin in benchmarks.reference_models, as ``check_module``'s ``make(nn)`` expects."""
from __future__ import annotations

from typing import Any, Callable

import ember
import ember.models as em
import benchmarks.reference_models as tm


def twins(name: str, *args: Any, **kw: Any) -> Callable[[Any], Any]:
    """``make(nn)`` giving ``ember.models.<name>`` for ``ember.nn``, else the torch twin."""
    return lambda nn: getattr(em if nn is ember.nn else tm, name)(*args, **kw)
