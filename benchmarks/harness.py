"""Timing core: run Ember's and PyTorch's side of a workload in interleaved rounds.

A :class:`Workload` builds two zero-argument step functions (one per framework) that do
the same work. :func:`measure` warms both up, picks per side how many calls one timed
batch holds (so a batch lasts at least ``min_time`` and timer resolution does not
matter), then alternates Ember batch, PyTorch batch, ... for ``rounds`` rounds, so that
slow drifts of a shared machine (frequency, neighbours) hit both sides alike. The result
holds per-call seconds for each round and their summary statistics.

Two clocks are offered: ``wall`` (``time.perf_counter``, the default) and ``cpu``
(``time.process_time``: CPU seconds used by this process, all its threads). At one thread
on a machine shared with other jobs, ``cpu`` leaves out the time spent waiting for a
core, which wall time counts; with more threads the two measure different things.
"""
from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["CLOCKS", "Unavailable", "Workload", "Sides", "measure", "summarize",
           "thread_limit"]

Step = Callable[[], Any]
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


class Unavailable(Exception):
    """Raised by a workload's builder when Ember lacks something the workload needs."""


@dataclass
class Sides:
    """What a workload builder returns: the two step functions and how they were made."""

    ember: Step
    torch: Step
    variant: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Workload:
    """One benchmarked task.

    ``build(ember, torch)`` creates the inputs and returns :class:`Sides`, or raises
    :class:`Unavailable`. ``target`` is the Ember/PyTorch ratio (at 1 thread) we aim to
    stay at or below, or ``None`` when the workload is tracked without a target.
    """

    name: str
    group: str
    description: str
    build: Callable[[Any, Any], Sides]
    target: float | None = None


def _time_batch(fn: Step, n: int, clock: Callable[[], float]) -> float:
    gc.collect()          # do not let one side pay for the other side's garbage
    t0 = clock()
    for _ in range(n):
        fn()
    return (clock() - t0) / n


def _calibrate(fn: Step, warmup: int, min_time: float, clock: Callable[[], float]) -> int:
    """Warm ``fn`` up, then return the number of calls one batch needs to last ``min_time``."""
    for _ in range(warmup):
        fn()
    n = 1
    while True:
        per_call = _time_batch(fn, n, clock)
        if per_call * n >= min_time:
            return n
        n = max(n * 2, int(min_time / max(per_call, 1e-9) * 1.2))


def summarize(times: list[float]) -> dict[str, float]:
    """Median, quartiles and extremes of per-call times (seconds)."""
    s = sorted(times)
    if len(s) >= 2:
        q1, _, q3 = statistics.quantiles(s, n=4, method="inclusive")
    else:
        q1 = q3 = s[0]
    return {"median": statistics.median(s), "q1": q1, "q3": q3, "min": s[0], "max": s[-1]}


def measure(sides: Sides, rounds: int, min_time: float, warmup: int = 3,
            clock: str = "wall") -> dict[str, Any]:
    """Time both sides in ``rounds`` interleaved rounds; return times and statistics."""
    tick = CLOCKS[clock]
    fns = {"ember": sides.ember, "torch": sides.torch}
    inner = {k: _calibrate(f, warmup, min_time, tick) for k, f in fns.items()}
    times: dict[str, list[float]] = {"ember": [], "torch": []}
    for _ in range(rounds):
        for k, f in fns.items():
            times[k].append(_time_batch(f, inner[k], tick))
    out: dict[str, Any] = {}
    for k in fns:
        out[k] = {**summarize(times[k]), "calls_per_round": inner[k], "rounds": times[k]}
    out["ratio"] = out["ember"]["median"] / out["torch"]["median"]
    per_round = summarize([e / t for e, t in zip(times["ember"], times["torch"])])
    out["ratio_per_round"] = {"q1": per_round["q1"], "q3": per_round["q3"]}
    return out


class thread_limit:
    """Context manager: run PyTorch and NumPy's BLAS with ``n`` threads, then restore.

    PyTorch is set with ``torch.set_num_threads``. NumPy's OpenBLAS is limited at run time
    with threadpoolctl when it is installed; otherwise only the ``OPENBLAS_NUM_THREADS``
    environment variable (which ``benchmarks.run`` sets before NumPy is imported) applies.
    """

    def __init__(self, torch: Any, n: int):
        self.torch, self.n = torch, n
        self._saved = torch.get_num_threads()
        self._limiter = None

    def __enter__(self) -> "thread_limit":
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            pass
        else:
            self._limiter = threadpool_limits(limits=self.n, user_api="blas")
        self.torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.torch.set_num_threads(self._saved)
        if self._limiter is not None:
            self._limiter.restore_original_limits()
