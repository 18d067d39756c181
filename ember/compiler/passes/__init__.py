"""Graph passes: each is a module with ``run(graph, ctx) -> None`` that rewrites the graph
in place, and can be switched off by name.

The pipeline runs them in :data:`ORDER`. Switch passes off per compiled function with
``ember.compile(fn, options={"cse": False})`` or for the whole process with the
environment variable ``EMBER_DISABLE_PASSES=cse,fusion``. ``ctx`` is a
:class:`PassContext`: what a pass may assume about the call (inference or training).
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any

from ember.compiler.ir import Graph

__all__ = ["ORDER", "PassContext", "run_passes", "enabled_passes"]

#: pass name -> module; the order they run in
ORDER = {
    "algebraic": "ember.compiler.passes.algebraic",
    "constant_folding": "ember.compiler.passes.constant_folding",
    "cse": "ember.compiler.passes.cse",
    "bn_folding": "ember.compiler.passes.bn_folding",
    "dce": "ember.compiler.passes.dce",
    "fusion": "ember.compiler.passes.fusion",
    "memory": "ember.compiler.passes.memory",
}


@dataclass
class PassContext:
    """What passes may rely on: ``inference`` is True when no gradient is computed and
    no module is in training mode (BatchNorm folding needs that)."""

    inference: bool = False
    stats: dict = field(default_factory=dict)    # pass name -> what it changed


def enabled_passes(options: dict | None = None) -> list[str]:
    """The passes that will run, after ``options`` and ``EMBER_DISABLE_PASSES``."""
    off = {p.strip() for p in os.environ.get("EMBER_DISABLE_PASSES", "").split(",") if p}
    options = options or {}
    unknown = (set(options) | off) - set(ORDER) - {"all"}
    if unknown:
        raise ValueError(f"ember.compile: unknown pass(es) {sorted(unknown)}; "
                         f"known: {list(ORDER)}")
    if "all" in off or options.get("all") is False:
        return []
    return [p for p in ORDER if p not in off and options.get(p, True)]


def run_passes(graph: Graph, ctx: PassContext, options: dict | None = None) -> Graph:
    """Run every enabled pass over ``graph`` (in place) and return it."""
    for name in enabled_passes(options):
        module: Any = importlib.import_module(ORDER[name])
        before = len(graph.nodes)
        module.run(graph, ctx)
        ctx.stats.setdefault(name, before - len(graph.nodes))
    return graph
