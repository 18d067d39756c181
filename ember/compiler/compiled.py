"""``ember.compile``: cache traced graphs per call signature and run them.

The first call with a new signature runs eagerly (it creates any lazy state: optimizer
moments, built layers); the second traces (an eager run that also records the graph),
optimizes the graph and builds its executor; later calls with that signature run the
executor. Guards recorded while tracing (each module's training flag, each optimizer's
hyper-parameters, whether a captured ``.grad`` exists) are checked on every call; a
failed guard retraces. Code a graph cannot capture (branching on a tensor's value,
random numbers outside ops) raises with ``fullgraph=True`` and otherwise sends that
function back to eager mode with one warning.

A compiled function's graphs own preallocated buffers (memory planning), so one compiled
function must not run in two threads at the same time; compile it once per thread.
"""
from __future__ import annotations

import os
import sys
import time
import warnings
from typing import Any, Callable

import numpy as np

from ember.compiler import executor
from ember.compiler.dynamic import generalize
from ember.compiler.ir import Graph
from ember.compiler.joint import Guarded, JointEntry, trace_backward
from ember.compiler.passes import PassContext, run_passes
from ember.compiler.signature import flatten, signature, unflatten
from ember.compiler.tracer import GraphBreak, Tracer
from ember.ops.registry import dispatch_hooks
from ember.tensor import Tensor, _make

__all__ = ["compile", "CompiledFunction", "Explanation"]

#: retraces of one function before it stays eager (as torch's cache_size_limit)
CACHE_LIMIT = 8
_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


class _Entry(Guarded):
    """One traced signature: the optimized graph, its executor and its guards."""

    __slots__ = ("graph", "run", "guards", "out_spec", "positions", "trace_s", "stats",
                 "batch", "template", "variants", "compile_s")

    def __init__(self, graph: Graph, guards: list, out_spec: Any, positions: list,
                 trace_s: float, stats: dict, batch: int | None = None) -> None:
        self.graph = graph
        self.run = executor.build(graph)
        self.guards = guards
        self.out_spec = out_spec
        self.positions = positions
        self.trace_s = trace_s
        self.stats = stats
        self.batch = batch
        self.template = None          # dynamic=True: the batch-polymorphic form, if any
        self.variants: dict = {}
        self.compile_s = 0.0          # passes + executor build, after the traced run

    def for_batch(self, batch: int) -> "_Entry":
        """This entry's graph instantiated for another batch size (from the template)."""
        v = self.variants.get(batch)
        if v is None:
            v = self.variants[batch] = _Entry(self.template.instantiate(batch), self.guards,
                                              self.out_spec, self.positions, 0.0, self.stats,
                                              batch)
        return v

    def __call__(self, leaves: list) -> Any:
        outs, grads = self.run(*[leaves[i]._data for i in self.positions])
        for (t, _), g in zip(self.graph.grad_effects, grads):
            t.grad = None if g is None else _make(g)
        return unflatten(self.out_spec, [_make(o) if o.__class__ is not Tensor and
                                         hasattr(o, "dtype") and not isinstance(o, str)
                                         else o for o in outs])


class Explanation:
    """What :meth:`CompiledFunction.explain` found: graphs, breaks, op counts."""

    def __init__(self, graphs: list[Graph], breaks: list[str], notes: list[str],
                 compile_s: float) -> None:
        self.graphs = graphs
        self.graph_count = len(graphs)
        self.break_reasons = breaks
        self.notes = notes
        self.compile_time = compile_s

    def __str__(self) -> str:
        lines = [f"Graph count: {self.graph_count}",
                 f"Graph break count: {len(self.break_reasons)}"]
        for i, g in enumerate(self.graphs):
            ops = ", ".join(f"{k} x{v}" for k, v in sorted(g.op_counts().items()))
            lines.append(f"Graph {i} ({g.name}): {len(g.inputs)} inputs, "
                         f"{len(g.captures)} captures, {len(g.nodes)} nodes: {ops}")
        for r in self.break_reasons:
            lines.append(f"Break: {r}")
        lines += [f"Note: {n}" for n in self.notes]
        lines.append(f"Compile time: {self.compile_time:.3f} s")
        return "\n".join(lines)

    __repr__ = __str__


def _batch(leaves: list) -> int | None:
    """The batch size of a call: dimension 0 of its first tensor argument with one."""
    for x in leaves:
        if isinstance(x, Tensor) and x._data.ndim:
            return x._data.shape[0]
    return None


def _log(stage: str, graph: Graph) -> None:
    if os.environ.get("EMBER_LOG_GRAPHS", "") not in ("", "0"):
        print(f"[ember.compile] {stage}:\n{graph}", file=sys.stderr)


class CompiledFunction:
    """A function (or module) whose calls run as optimized graphs; see the module doc.

    NumPy arrays among the arguments reach the function as tensors sharing their memory
    (so each call's data flows into the graph instead of being baked in)."""

    def __init__(self, fn: Callable, *, dynamic: bool = False, fullgraph: bool = False,
                 mode: str = "default", options: dict | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"ember.compile: expected a function or Module, got "
                            f"{type(fn).__name__}")
        if mode not in _MODES:
            raise ValueError(f"ember.compile: unknown mode {mode!r}; expected one of {_MODES}")
        from ember.compiler.passes import enabled_passes
        enabled_passes(options)                 # validates the pass names now
        self._fn = fn
        self.dynamic = dynamic
        self.fullgraph = fullgraph
        self.mode = mode
        self.options = dict(options or {})
        self._cache: dict = {}
        self._warm: set = set()
        self._eager_reason: str | None = None
        self._traces = 0
        self._quiet = False           # fall back without warnings (keras jit_compile='auto')
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)

    # -- calling ------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._eager_reason is not None or dispatch_hooks:
            # inside another trace or transform (vmap), run the ops so that it sees them
            return self._fn(*args, **kwargs)
        leaves, spec = flatten((args, kwargs))
        if any(x.__class__ is np.ndarray for x in leaves):
            leaves = [_make(x) if x.__class__ is np.ndarray else x for x in leaves]
            args, kwargs = unflatten(spec, leaves)
        key = self._key(leaves, spec)
        entries = self._cache.get(key)
        batch = _batch(leaves) if self.dynamic else None
        other = None                            # a valid graph traced at another batch
        if entries is not None:
            for entry in entries:
                if entry.__class__ is str:      # this signature runs eagerly
                    return self._fn(*args, **kwargs)
                if entry.valid():
                    if entry.batch == batch:
                        return entry(leaves)
                    if entry.template is not None:
                        return entry.for_batch(batch)(leaves)
                    other = entry
        elif key not in self._warm:
            self._warm.add(key)
            return self._fn(*args, **kwargs)
        if self._traces >= CACHE_LIMIT:
            self._to_eager(f"retraced {CACHE_LIMIT} times (changing shapes, dtypes, "
                           f"training flags or hyper-parameters); running eagerly from now on")
            return self._fn(*args, **kwargs)
        result, entry = self._trace(args, kwargs, leaves)
        if other is not None and entry.__class__ is _Entry and other.__class__ is _Entry:
            other.template = generalize(other.graph, other.batch, entry.graph, entry.batch)
        self._cache.setdefault(key, []).append(entry)
        return result

    def _key(self, leaves: list, spec: Any) -> tuple:
        first: dict = {}
        alias = tuple(first.setdefault(id(x), i) for i, x in enumerate(leaves)
                      if isinstance(x, Tensor))
        return signature(leaves, spec, self.dynamic), alias

    def _to_eager(self, reason: str) -> None:
        self._eager_reason = reason
        if not self._quiet:
            warnings.warn(f"ember.compile({self.__name__}): {reason}", stacklevel=3)

    def _trace(self, args: tuple, kwargs: dict, leaves: list) -> tuple[Any, Any]:
        """Run the function once while tracing; returns its result and the cache entry
        (or a reason string when this signature must run eagerly)."""
        self._traces += 1
        t0 = time.perf_counter()
        graph = Graph(self.__name__)
        tracer = Tracer(graph, fullgraph=self.fullgraph)
        positions = []
        for i, x in enumerate(leaves):
            if isinstance(x, Tensor) and id(x) not in tracer.by_tensor:
                tracer.bind(x, graph.add_input(x._data.shape, x._data.dtype))
                positions.append(i)
        with tracer:
            result = self._fn(*args, **kwargs)
            if tracer.broken is None:
                tracer.finish_grads()
        t1 = time.perf_counter()
        if tracer.broken is not None:
            self._to_eager(f"graph break: {tracer.broken}; running eagerly")
            return result, str(tracer.broken)
        out_leaves, out_spec = flatten(result)
        graph.outputs = [tracer.value_of(o) if isinstance(o, Tensor) else o
                         for o in out_leaves]
        needs_grad = [o for o in out_leaves if isinstance(o, Tensor) and o._rg]
        if needs_grad and not tracer.backward_ran:
            # the caller will run backward: record it now, as a second graph
            grad_captures = [v.tensor for v in graph.captures
                             if isinstance(v.tensor, Tensor) and v.tensor._rg]
            args = [leaves[i] for i in positions] + grad_captures
            fwd, bwd, saved = trace_backward(tracer, graph, needs_grad, args)
            if tracer.broken is not None:
                self._to_eager(f"graph break in the backward: {tracer.broken}")
                return result, str(tracer.broken)
            _log("traced forward", fwd)
            _log("traced backward", bwd)
            entry = JointEntry(fwd, bwd, saved, list(tracer.guards.values()), out_spec,
                               positions, grad_captures, time.perf_counter() - t0,
                               self.options, [o._rg for o in out_leaves
                                              if isinstance(o, Tensor)])
            entry.batch = _batch(leaves) if self.dynamic else None
            entry.compile_s = time.perf_counter() - t1
            _log("optimized forward", entry.graph)
            _log("optimized backward", entry.backward_graph)
            return result, entry
        _log("traced", graph)
        ctx = PassContext(inference=not tracer.backward_ran and not any(
            k[0] == "training" and v[1] for k, v in tracer.guards.items()))
        # preallocated buffers are sized for one batch: dynamic graphs allocate per call
        # (and constant folding would turn batch-dependent literals into opaque arrays)
        run_passes(graph, ctx, {**self.options, "memory": False, "constant_folding": False}
                   if self.dynamic else self.options)
        graph.verify()
        _log("optimized", graph)
        entry = _Entry(graph, list(tracer.guards.values()), out_spec, positions,
                       time.perf_counter() - t0, ctx.stats,
                       _batch(leaves) if self.dynamic else None)
        entry.compile_s = time.perf_counter() - t1
        return result, entry

    # -- introspection ------------------------------------------------------------------
    @property
    def graphs(self) -> list[Graph]:
        """The optimized graphs cached so far (one per traced signature)."""
        return [e.graph for e in self._entries() if e.__class__ is not str]

    def _entries(self) -> list:
        return [e for entries in self._cache.values() for e in entries]

    def explain(self, *args: Any, **kwargs: Any) -> Explanation:
        """Trace ``self(*args, **kwargs)`` as a call would (running the function once),
        and say how many graphs there are, why anything fell back, and what each holds."""
        leaves, spec = flatten((args, kwargs))
        key = self._key(leaves, spec)
        self._warm.add(key)
        notes = []
        cached = any(e.__class__ is not str and e.valid() for e in self._cache.get(key, ()))
        if self._eager_reason is None and not cached:
            t0 = time.perf_counter()
            try:
                _, entry = self._trace(args, kwargs, leaves)
            except GraphBreak as e:
                entry = str(e)
            self._cache.setdefault(key, []).append(entry)
            compile_s = time.perf_counter() - t0
        else:
            compile_s = 0.0
        breaks = [v for v in self._entries() if v.__class__ is str]
        if self._eager_reason is not None:
            notes.append(f"the function runs eagerly: {self._eager_reason}")
        for e in self._entries():
            if e.__class__ is not str:
                notes.append(f"{e.graph.name}: traced in {e.trace_s:.3f} s (optimizing and "
                             f"building {e.compile_s:.3f} s); passes: "
                             + ", ".join(f"{k} {v}" for k, v in e.stats.items()))
        return Explanation(self.graphs, breaks, notes, compile_s)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        """Decorating a method: bind the instance as the first argument."""
        if obj is None:
            return self
        bound = self.__dict__.setdefault("_bound", {})
        fn = bound.get(id(obj))
        if fn is None:
            fn = bound[id(obj)] = _BoundCompiled(self, obj)
        return fn

    def __getattr__(self, name: str) -> Any:
        # a compiled Module still answers .parameters(), .train(), .state_dict(), ...
        fn = self.__dict__.get("_fn")
        if fn is None:
            raise AttributeError(name)
        return getattr(fn, name)

    def __repr__(self) -> str:
        return f"<ember.compile({getattr(self._fn, '__name__', self._fn)!r})>"


class _BoundCompiled:
    __slots__ = ("compiled", "obj")

    def __init__(self, compiled: CompiledFunction, obj: Any) -> None:
        self.compiled, self.obj = compiled, obj

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.compiled(self.obj, *args, **kwargs)


def compile(fn: Callable | None = None, *, dynamic: bool = False, fullgraph: bool = False,
            mode: str = "default", options: dict | None = None) -> Any:
    """Trace ``fn`` (a function or an ``nn.Module``) into an optimized graph and run
    that instead; usable as ``@ember.compile`` or ``@ember.compile(fullgraph=True)``.

    >>> step = ember.compile(train_step)      # forward + backward + optimizer.step()
    >>> loss = step(x, y)                      # later calls run one graph

    ``dynamic=True`` reuses one graph across batch sizes where the graph allows it;
    ``fullgraph=True`` raises instead of falling back to eager on code a graph cannot
    hold; ``options`` switches passes off by name (``{"fusion": False}``).
    """
    if fn is None:
        return lambda f: CompiledFunction(f, dynamic=dynamic, fullgraph=fullgraph, mode=mode,
                                          options=options)
    return CompiledFunction(fn, dynamic=dynamic, fullgraph=fullgraph, mode=mode,
                            options=options)
