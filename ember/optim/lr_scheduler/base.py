"""``LRScheduler``, the base of every scheduler, and the helpers the scheduler files share."""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any
from weakref import ref

from ember.tensor import Tensor

from ..optimizer import Optimizer

__all__ = ["LRScheduler"]

_EPOCH_DEPRECATED = (
    "Passing an epoch to `scheduler.step()` is deprecated: call `scheduler.step()` once per "
    "epoch instead. When an epoch is given, the scheduler uses its closed-form formula where "
    "it has one instead of the chainable form."
)

_LENGTH_MISMATCH = ("{name} must have the same length as optimizer.param_groups. "
                    "{name} has {given} values, param_groups has {groups}.")


def _check_optimizer(optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _copy(value: Any) -> Any:
    """A value that does not alias the group's (tensor learning rates are cloned)."""
    return value.clone() if isinstance(value, Tensor) else value


def _assign(group: dict, key: str, value: Any) -> None:
    """Set ``group[key]``; a tensor entry (a tensor lr) is written in place, as in PyTorch."""
    if isinstance(group[key], Tensor):
        group[key].fill_(float(value))
    else:
        group[key] = value


def _current_lrs(optimizer: Optimizer) -> list:
    return [_copy(group["lr"]) for group in optimizer.param_groups]


def _per_group(name: str, optimizer: Optimizer, value: Any,
               mismatch: str = _LENGTH_MISMATCH) -> list:
    """``value`` repeated for each param group, or, given as a list or tuple, checked to have
    one entry per group (else ``mismatch``, formatted with ``name``, ``given``, ``groups``)."""
    groups = optimizer.param_groups
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(mismatch.format(name=name, given=len(value), groups=len(groups)))
        return list(value)
    return [value] * len(groups)


def _cosine(base: float, eta_min: float, t: float, period: float) -> float:
    """Half-cosine from ``base`` (t=0) down to ``eta_min`` (t=period)."""
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / period)) / 2


def _callable_state(fn: Callable | None) -> dict | None:
    """A callable object's attributes; None for plain functions and lambdas (not saved)."""
    return None if fn is None or isinstance(fn, types.FunctionType) else dict(fn.__dict__)


def _restore_callable(fn: Callable | None, saved: dict | None) -> None:
    """Undo :func:`_callable_state`: put saved attributes back on the live callable."""
    if saved is not None:
        fn.__dict__.update(saved)


def _state_with(state: dict[str, Any], key: str, convert: Callable[[Any], Any]) -> dict:
    """``state`` with ``state[key]`` replaced by ``convert(state[key])`` and moved last (where
    PyTorch puts the entries it saves in a form of their own)."""
    state[key] = convert(state.pop(key))
    return state


def _load_except(scheduler: LRScheduler, state_dict: dict[str, Any], key: str) -> Any:
    """Load every saved attribute but ``key``, whose live object the scheduler keeps, and
    return the saved ``key`` for the caller to restore into that object."""
    scheduler.__dict__.update({k: v for k, v in state_dict.items() if k != key})
    return state_dict[key]


def _record_optimizer_steps(optimizer: Optimizer) -> None:
    """Wrap ``optimizer.step`` once so schedulers can warn when they step before it."""
    step = optimizer.step
    if getattr(step, "_wrapped_by_lr_sched", False):
        return
    func = step.__func__
    opt_ref = ref(optimizer)  # a strong reference would make a cycle through the instance

    @wraps(func)
    def recorded_step(*args, **kwargs):
        opt = opt_ref()
        opt._opt_called = True
        return func(opt, *args, **kwargs)

    recorded_step._wrapped_by_lr_sched = True
    optimizer.step = recorded_step


class LRScheduler:
    """Base class: adjusts each param group's ``lr`` once per :meth:`step`.

    ``last_epoch`` counts the steps taken (-1 before the first); on construction the
    scheduler records each group's starting lr as ``group["initial_lr"]`` (kept in
    ``base_lrs``) and takes its initial step. Subclasses implement :meth:`get_lr` as in
    PyTorch (Ember's own implement ``_compute_lr``, which ``get_lr`` calls).
    A non-default ``last_epoch`` resumes a schedule and needs ``initial_lr`` in every group.

    >>> class Halving(LRScheduler):
    ...     def get_lr(self):
    ...         return [base * 0.5 ** self.last_epoch for base in self.base_lrs]
    """

    _get_lr_called_within_step = False
    _is_initial = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group in groups:
                group.setdefault("initial_lr", _copy(group["lr"]))
        else:
            for i, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        "resuming scheduler with last_epoch >= 0; load the optimizer's state "
                        "first, or construct the scheduler with last_epoch=-1")
        self.base_lrs = [_copy(group["initial_lr"]) for group in groups]
        self.last_epoch = last_epoch
        _record_optimizer_steps(optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def state_dict(self) -> dict[str, Any]:
        """Every attribute of the scheduler except the optimizer."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore attributes saved by :meth:`state_dict`."""
        self.__dict__.update(state_dict)

    def get_last_lr(self) -> list[float]:
        """The learning rates the last :meth:`step` set, one per param group."""
        return self._last_lr

    def get_lr(self) -> list[float]:
        """The learning rates for the step being taken (called by :meth:`step`)."""
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, "
                          "please use `get_last_lr()`.", UserWarning, stacklevel=2)
        return self._compute_lr()

    def _compute_lr(self) -> list[float]:
        raise NotImplementedError

    def _closed_form_lr(self) -> list[float] | None:
        """Learning rates at ``last_epoch`` computed directly, or None where there is no formula."""
        return None

    def step(self, epoch: int | None = None) -> None:
        """Advance the schedule by one step (call it after ``optimizer.step()``).

        ``epoch`` is deprecated, as in PyTorch: it sets ``last_epoch`` and uses the closed
        form where the scheduler has one.
        """
        if self._step_count == 1:
            self._warn_step_order()
        self._step_count += 1
        if epoch is not None:
            warnings.warn(_EPOCH_DEPRECATED, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _warn_step_order(self) -> None:
        # stacklevel 3: the line that called step(), which called this
        if not hasattr(self.optimizer.step, "_wrapped_by_lr_sched"):
            warnings.warn("`optimizer.step()` was replaced after the learning rate scheduler "
                          "was created; call `optimizer.step()` before `lr_scheduler.step()`.",
                          UserWarning, stacklevel=3)
        elif not getattr(self.optimizer, "_opt_called", False):
            warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                          "Call `optimizer.step()` first, otherwise the first value of the "
                          "learning rate schedule is skipped.", UserWarning, stacklevel=3)

    def _get_lr_in_step(self) -> list[float]:
        """``get_lr()`` as a step calls it (without the warning meant for direct calls)."""
        self._get_lr_called_within_step = True
        try:
            return self.get_lr()
        finally:
            self._get_lr_called_within_step = False

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            lrs = self._get_lr_in_step()
        else:
            self.last_epoch = epoch
            lrs = self._closed_form_lr()
            if lrs is None:
                lrs = self._get_lr_in_step()
        self._set_lrs(lrs)

    def _set_lrs(self, lrs: Iterable[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            _assign(group, "lr", lr)
        self._last_lr = _current_lrs(self.optimizer)
