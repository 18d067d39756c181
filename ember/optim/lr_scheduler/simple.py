"""Schedulers that scale the lr by a factor each step: by a user function (LambdaLR,
MultiplicativeLR), in steps (StepLR, MultiStepLR, ConstantLR) or smoothly (LinearLR,
ExponentialLR, PolynomialLR)."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..optimizer import Optimizer
from .base import (LRScheduler, _callable_state, _load_except, _per_group, _restore_callable,
                   _state_with)

__all__ = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "PolynomialLR"]


class _FactorLR(LRScheduler):
    """A scheduler whose step multiplies each group's current lr by ``_factor(i)``.

    Multiplying the current lr (instead of recomputing it from ``base_lrs``) is PyTorch's
    chainable form: it composes with other schedulers acting on the same optimizer.
    """

    def _factor(self, group_index: int) -> float:
        raise NotImplementedError

    def _compute_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        return [group["lr"] * self._factor(i) for i, group in enumerate(groups)]

    def _closed_form_factor(self) -> float | None:
        return None

    def _closed_form_lr(self) -> list[float] | None:
        factor = self._closed_form_factor()
        return None if factor is None else [base * factor for base in self.base_lrs]


def _lr_lambda_list(optimizer: Optimizer, lr_lambda: Any) -> list[Callable[[int], float]]:
    return _per_group("lr_lambda", optimizer, lr_lambda,
                      "Expected {groups} lr_lambdas, but got {given}")


class _LambdaState(LRScheduler):
    """State dict handling for schedulers holding ``lr_lambdas``: plain functions and lambdas
    are not saved (their slot is None); callable objects keep their ``__dict__``."""

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer; ``lr_lambdas`` as the callables' attributes."""
        return _state_with(super().state_dict(), "lr_lambdas",
                           lambda fns: [_callable_state(fn) for fn in fns])

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore attributes saved by :meth:`state_dict` (lr_lambdas keep their functions)."""
        for fn, saved in zip(self.lr_lambdas, _load_except(self, state_dict, "lr_lambdas")):
            _restore_callable(fn, saved)


class LambdaLR(_LambdaState, LRScheduler):
    """lr = initial_lr * lr_lambda(epoch); one function, or one per param group.

    >>> sched = LambdaLR(opt, lambda epoch: 0.95 ** epoch)
    """

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        self.lr_lambdas = _lr_lambda_list(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaState, _FactorLR):
    """Each step multiplies the lr by lr_lambda(epoch); one function, or one per group.

    >>> sched = MultiplicativeLR(opt, lambda epoch: 0.95)
    """

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        self.lr_lambdas = _lr_lambda_list(optimizer, lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def _factor(self, group_index: int) -> float:
        return 1.0 if self._is_initial else self.lr_lambdas[group_index](self.last_epoch)


class StepLR(_FactorLR):
    """Multiplies the lr by ``gamma`` every ``step_size`` epochs.

    >>> sched = StepLR(opt, step_size=30, gamma=0.1)  # lr, lr/10 from epoch 30, lr/100 from 60
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _factor(self, group_index: int) -> float:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return 1.0
        return self.gamma

    def _closed_form_factor(self) -> float:
        return self.gamma ** (self.last_epoch // self.step_size)


class MultiStepLR(_FactorLR):
    """Multiplies the lr by ``gamma`` at each milestone epoch (repeated milestones count twice).

    The state dict stores ``milestones`` as a sorted list (a JSON-safe form of PyTorch's
    Counter); :meth:`load_state_dict` also accepts a mapping milestone -> count.

    >>> sched = MultiStepLR(opt, milestones=[30, 80], gamma=0.1)
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _sorted_milestones(self) -> list[int]:
        return sorted(self.milestones.elements())

    def _factor(self, group_index: int) -> float:
        count = self.milestones.get(self.last_epoch, 0)
        return 1.0 if count == 0 else self.gamma ** count

    def _closed_form_factor(self) -> float:
        return self.gamma ** bisect_right(self._sorted_milestones(), self.last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer; ``milestones`` as a sorted list."""
        state = super().state_dict()
        state["milestones"] = self._sorted_milestones()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore attributes saved by :meth:`state_dict` (or by PyTorch, as a mapping)."""
        super().load_state_dict(state_dict)
        saved = state_dict["milestones"]
        if isinstance(saved, Mapping):  # JSON turns integer keys into strings
            self.milestones = Counter({int(k): n for k, n in saved.items()})
        else:
            self.milestones = Counter(saved)


class ConstantLR(_FactorLR):
    """Scales the lr by ``factor`` until epoch ``total_iters``, then restores it.

    >>> sched = ConstantLR(opt, factor=0.5, total_iters=4)  # lr/2 for epochs 0-3, then lr
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError(
                f"ConstantLR: factor expected to be between 0 and 1, but got {factor}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _factor(self, group_index: int) -> float:
        if self.last_epoch == 0:
            return self.factor
        if self.last_epoch == self.total_iters:
            return 1.0 / self.factor
        return 1.0

    def _closed_form_factor(self) -> float:
        return self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)


class LinearLR(_FactorLR):
    """Scales the lr linearly from ``start_factor`` to ``end_factor`` of the initial lr over
    ``total_iters`` epochs.

    >>> sched = LinearLR(opt, start_factor=0.1, total_iters=10)  # warm up to lr in 10 epochs
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("LinearLR: start_factor expected to be greater than 0 and less "
                             f"or equal to 1, but got {start_factor}")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(
                f"LinearLR: end_factor expected to be between 0 and 1, but got {end_factor}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _factor(self, group_index: int) -> float:
        if self.last_epoch == 0:
            return self.start_factor
        if self._is_initial or self.last_epoch > self.total_iters:
            return 1.0
        slope = self.end_factor - self.start_factor
        # ratio of the factor at this epoch to the factor at the previous one
        return 1.0 + slope / (self.total_iters * self.start_factor + (self.last_epoch - 1) * slope)

    def _closed_form_factor(self) -> float:
        done = min(self.total_iters, self.last_epoch)
        return self.start_factor + (self.end_factor - self.start_factor) * done / self.total_iters


class ExponentialLR(_FactorLR):
    """Multiplies the lr by ``gamma`` every epoch.

    >>> sched = ExponentialLR(opt, gamma=0.9)
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _factor(self, group_index: int) -> float:
        return 1.0 if self._is_initial else self.gamma

    def _closed_form_factor(self) -> float:
        return self.gamma ** self.last_epoch


class PolynomialLR(_FactorLR):
    """lr = initial_lr * (1 - epoch / total_iters) ** power, reaching 0 at ``total_iters``.

    >>> sched = PolynomialLR(opt, total_iters=100, power=2.0)
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def _factor(self, group_index: int) -> float:
        if self._is_initial or self.last_epoch > self.total_iters:
            return 1.0
        now = 1.0 - self.last_epoch / self.total_iters
        before = 1.0 - (self.last_epoch - 1) / self.total_iters
        return (now / before) ** self.power

    def _closed_form_factor(self) -> float:
        return (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
