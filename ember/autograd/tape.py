"""``ember.GradientTape``: TensorFlow's tape API on top of Ember's eager autograd.

>>> x = ember.tensor(3.0)
>>> with ember.GradientTape() as tape:
...     tape.watch(x)
...     y = x * x
>>> tape.gradient(y, x)          # tensor(6.)

Inside the ``with`` block ops are recorded (grad mode is on). Tensors that already
require grad are watched when an op uses them (like TF's trainable variables), unless
``watch_accessed_variables=False``; ``watch(t)`` makes a leaf require grad for the
tape's lifetime and restores the flag on exit. ``gradient`` differentiates the sum of
the targets. A tape that is recording while another tape's ``gradient`` runs records
that computation too, so nested tapes give higher-order gradients.

Limitation: the tape shares the eager graph, so ops on watched tensors that ran *before*
the tape was entered are differentiated through as well (TF would ignore them).
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Callable, Iterator

import numpy as np

from ember.autograd import node as _node
from ember.autograd.grad_mode import state as grad_state

__all__ = ["GradientTape", "UnconnectedGradients"]

_active: list = []      # tapes inside their ``with`` block, innermost last


class UnconnectedGradients:
    """What ``gradient`` returns for a source the target does not depend on."""

    NONE = "none"
    ZERO = "zero"


def _flatten(x: Any) -> tuple[list, Callable]:
    """Tensors in a (nested) list/tuple/dict, and a function rebuilding the structure."""
    if isinstance(x, dict):
        keys = list(x)
        parts = [_flatten(x[k]) for k in keys]
    elif isinstance(x, (list, tuple)):
        keys = None
        parts = [_flatten(v) for v in x]
    else:
        return [x], lambda vals: vals[0]
    flat = [t for p in parts for t in p[0]]

    def rebuild(vals: list) -> Any:
        out, i = [], 0
        for leaves, fn in parts:
            out.append(fn(vals[i:i + len(leaves)]))
            i += len(leaves)
        if keys is not None:
            return dict(zip(keys, out))
        return out if isinstance(x, list) else type(x)(out) if not hasattr(x, "_fields") \
            else type(x)(*out)
    return flat, rebuild


class GradientTape:
    """Record operations for automatic differentiation, TensorFlow style.

    ``persistent=True`` allows several ``gradient``/``jacobian`` calls;
    ``watch_accessed_variables=False`` watches only what ``watch`` is given.
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self._persistent = bool(persistent)
        self._auto = bool(watch_accessed_variables)
        self._watched: dict[int, Any] = {}
        self._flipped: list = []        # leaves whose requires_grad this tape turned on
        self._recording = False
        self._paused = False
        self._used = False

    # -- recording ----------------------------------------------------------------------
    def __enter__(self) -> "GradientTape":
        if self._recording:
            raise RuntimeError("GradientTape is already recording; a tape cannot be "
                               "entered twice")
        self._recording = True
        self._prev_grad = grad_state.enabled
        grad_state.enabled = True
        _active.append(self)
        _node.observers.append(self._observe)
        for t in self._flipped:
            t._rg = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self._recording = False
        grad_state.enabled = self._prev_grad
        _active.remove(self)
        _node.observers.remove(self._observe)
        self._set_flipped(False)

    def _observe(self, edges: tuple) -> None:
        if self._auto and not self._paused:
            for e in edges:
                if e is not None and e[0] is None:
                    self._watched.setdefault(id(e[2]), e[2])

    def _set_flipped(self, on: bool) -> None:
        for t in self._flipped:
            if t.grad_fn is None:
                t._rg = on

    def watch(self, tensor: Any) -> None:
        """Differentiate with respect to ``tensor`` (or each tensor in a list/tuple/dict)."""
        from ember.tensor import Tensor
        for t in _flatten(tensor)[0]:
            if not isinstance(t, Tensor):
                raise ValueError(f"GradientTape.watch: expected tensors, got "
                                 f"{type(t).__name__}")
            if not t.is_floating_point():
                warnings.warn(f"GradientTape.watch: the watched tensor must be floating "
                              f"point, got {t.dtype}; it will get no gradient")
                continue
            if not t._rg:
                t._rg = True
                self._flipped.append(t)
            self._watched.setdefault(id(t), t)

    def watched_variables(self) -> tuple:
        """The tensors this tape watches, in the order they were first watched or used."""
        return tuple(self._watched.values())

    @contextlib.contextmanager
    def stop_recording(self) -> Iterator[None]:
        """Temporarily run operations without recording them."""
        if not self._recording:
            raise RuntimeError("Trying to stop recording a tape which is not recording.")
        prev, self._paused = grad_state.enabled, True
        grad_state.enabled = False
        try:
            yield
        finally:
            grad_state.enabled, self._paused = prev, False

    def reset(self) -> None:
        """Forget everything recorded, as if the tape were exited and re-entered anew."""
        self._set_flipped(False)
        self._flipped.clear()
        self._watched.clear()
        self._used = False

    # -- differentiation ------------------------------------------------------------------
    def _start_use(self) -> None:
        if self._used and not self._persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute "
                               "one set of gradients (or jacobians)")
        self._used = True

    def _grads(self, targets: list, out_grads: list, sources: list) -> list:
        """d(sum of targets)/d(source) for each source; None where unconnected."""
        from ember.autograd.functional import grad
        from ember.ops.creation import ones_like
        from ember.tensor import Tensor
        wrt: dict[int, Any] = {}
        for s in sources:
            if not isinstance(s, Tensor):
                raise ValueError(f"GradientTape.gradient: sources must be tensors, got "
                                 f"{type(s).__name__}")
            if s._rg and (s.grad_fn is not None or id(s) in self._watched):
                wrt.setdefault(id(s), s)
        outs, gos = [], []
        for t, g in zip(targets, out_grads):
            if isinstance(t, Tensor) and t._rg:
                outs.append(t)
                gos.append(ones_like(t) if g is None else g)
        found: dict[int, Any] = {}
        if outs and wrt:
            create = any(not tape._paused for tape in _active)
            res = grad(outs, list(wrt.values()), gos, allow_unused=True, create_graph=create,
                       retain_graph=self._persistent or create)
            found = dict(zip(wrt, res))
        return [found.get(id(s)) for s in sources]

    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: str = UnconnectedGradients.NONE) -> Any:
        """Gradients of ``target`` (a tensor or structure of tensors, summed) with respect
        to ``sources``, in the structure of ``sources`` (tensor, list, tuple or dict).

        ``output_gradients`` weights the targets (default: ones); a source the target
        does not depend on gets None, or zeros with ``unconnected_gradients='zero'``.
        """
        from ember.ops.creation import zeros_like
        if unconnected_gradients not in (UnconnectedGradients.NONE, UnconnectedGradients.ZERO):
            raise ValueError(f"GradientTape.gradient: unconnected_gradients must be 'none' or "
                             f"'zero', got {unconnected_gradients!r}")
        self._start_use()
        targets = _flatten(target)[0]
        out_grads = [None] * len(targets) if output_gradients is None else \
            _flatten(output_gradients)[0]
        if len(out_grads) != len(targets):
            raise ValueError(f"GradientTape.gradient: {len(out_grads)} output_gradients for "
                             f"{len(targets)} targets")
        flat, rebuild = _flatten(sources)
        self._set_flipped(True)
        try:
            res = self._grads(targets, out_grads, flat)
        finally:
            self._set_flipped(self._recording)
        if unconnected_gradients == UnconnectedGradients.ZERO:
            res = [zeros_like(s) if g is None else g for s, g in zip(flat, res)]
        return rebuild(res)

    def jacobian(self, target: Any, sources: Any,
                 unconnected_gradients: str = UnconnectedGradients.NONE,
                 parallel_iterations: Any = None, experimental_use_pfor: bool = True) -> Any:
        """The Jacobian of ``target`` with respect to each source: shape
        ``target.shape + source.shape`` (computed row by row; not differentiable)."""
        from ember.ops.creation import zeros_like
        from ember.tensor import _make
        self._start_use()
        flat, rebuild = _flatten(sources)
        n = target.numel()
        rows: list = [[] for _ in flat]
        persistent, self._persistent = self._persistent, True
        self._set_flipped(True)
        try:
            for k in range(n):
                go = zeros_like(target)
                go._data.reshape(-1)[k] = 1
                for r, g in zip(rows, self._grads([target], [go], flat)):
                    r.append(g)
        finally:
            self._persistent = persistent
            self._set_flipped(self._recording)
        res = []
        for s, r in zip(flat, rows):
            if all(g is None for g in r) and unconnected_gradients != UnconnectedGradients.ZERO:
                res.append(None)
                continue
            block = np.stack([np.zeros(s.shape, s._data.dtype) if g is None else g._data
                              for g in r]) if r else np.zeros((0,) + tuple(s.shape),
                                                              s._data.dtype)
            res.append(_make(block.reshape(tuple(target.shape) + tuple(s.shape))))
        return rebuild(res)
