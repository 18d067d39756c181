"""Whether operations record the autograd graph: no_grad, enable_grad, set_grad_enabled,
inference_mode. Each works as a context manager and as a decorator; the flag is per thread,
as in PyTorch."""
from __future__ import annotations

import functools
import inspect
import threading
from typing import Any, Callable

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "is_inference_mode_enabled"]


class _State(threading.local):
    enabled = True
    inference = False


state = _State()


def is_grad_enabled() -> bool:
    """True when new operations record the graph for backward."""
    return state.enabled


def is_inference_mode_enabled() -> bool:
    return state.inference


class _GradModeContext:
    """Base: sets the grad flag on enter, restores it on exit; decorates functions too."""

    _mode = True

    def __enter__(self) -> None:
        self._prev = (state.enabled, state.inference)
        state.enabled = self._mode
        self._enter_extra()

    def _enter_extra(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        state.enabled, state.inference = self._prev

    def __call__(self, fn: Callable) -> Callable:
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                # the mode holds while the generator body runs, not while the caller does
                gen = fn(*args, **kwargs)
                value = None
                while True:
                    with self.__class__(*self._ctor_args()):
                        try:
                            item = gen.send(value)
                        except StopIteration as stop:
                            return stop.value
                    value = yield item
            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__(*self._ctor_args()):
                return fn(*args, **kwargs)
        return wrapper

    def _ctor_args(self) -> tuple:
        return ()


class _BareDecoratorContext(_GradModeContext):
    """Also usable as a bare decorator (``@ember.no_grad``), as in PyTorch."""

    def __new__(cls, orig_func: Callable | None = None):
        self = super().__new__(cls)
        return self(orig_func) if orig_func is not None else self

    def __init__(self, orig_func: Callable | None = None):
        pass


class no_grad(_BareDecoratorContext):
    """Operations inside do not record the graph: ``with ember.no_grad(): ...``."""

    _mode = False


class enable_grad(_BareDecoratorContext):
    """Re-enables recording inside a ``no_grad`` block."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` sets the flag at once (like PyTorch) and as a context
    manager restores the previous value on exit."""

    def __init__(self, mode: bool):
        self._mode = bool(mode)
        self._prev = (state.enabled, state.inference)
        state.enabled = self._mode

    def __enter__(self) -> None:
        state.enabled = self._mode

    def _ctor_args(self) -> tuple:
        return (self._mode,)

    def __call__(self, fn: Callable) -> Callable:
        state.enabled, state.inference = self._prev   # a decorator must not flip the flag now
        return super().__call__(fn)


class inference_mode(_GradModeContext):
    """Like ``no_grad`` (no graph is recorded); ``inference_mode(False)`` is a no-op."""

    def __init__(self, mode: bool = True):
        self._on = bool(mode)

    def __enter__(self) -> None:
        self._prev = (state.enabled, state.inference)
        if self._on:
            state.enabled = False
            state.inference = True

    def _ctor_args(self) -> tuple:
        return (self._on,)

    def __call__(self, fn: Callable) -> Callable:
        if isinstance(fn, bool):   # inference_mode(False) used as decorator factory
            return inference_mode(fn)
        return super().__call__(fn)
