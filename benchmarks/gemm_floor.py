"""How close can Ember get? The matrix products of a workload, replayed alone.

``python -m benchmarks.gemm_floor [--only NAME,...] [--rounds N] [--min-time S]``

Every matrix product Ember computes goes through ``numpy.matmul`` (linear layers, their
gradients, attention, the GEMMs of convolutions). This tool runs one Ember step of a
workload with ``numpy.matmul`` wrapped, keeps each call's arrays, and then times three
things in interleaved rounds (CPU clock, one thread, medians): the Ember step, the
PyTorch step, and the recorded ``numpy.matmul`` calls replayed back to back on the same
arrays. The last is a floor for any framework that uses NumPy's BLAS for these products:
``floor / PyTorch`` is the best ratio Ember could reach if everything else cost nothing.
A target below that floor cannot be met on this machine's BLAS.

Workloads come from ``benchmarks.workloads`` (the ``benchmarks.run`` table) and
``benchmarks.transformers_bench`` (the transformer rows, eager variants).
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
from typing import Any, Callable

from benchmarks.harness import CLOCKS, _calibrate, _time_batch
from benchmarks.run import pin_thread_env

DEFAULT = ("mlp_b64,mlp_b512,mlp_adam_b64,mlp_adam_b512,lenet_b64,"
           "bert_minilm_infer_b8,gpt2_infer_b1")


def _steps(name: str, ember: Any, torch: Any) -> tuple[Callable, Callable]:
    """Ember's and PyTorch's step of the workload called ``name``."""
    from benchmarks import transformers_bench, workloads
    for w in workloads.select(None):
        if w.name == name:
            sides = w.build(ember, torch)
            return sides.ember, sides.torch
    for w in transformers_bench.workloads():
        if w.name == name:
            make = w.build(ember, torch)
            return make(ember, None), make(torch, None)
    raise SystemExit(f"gemm_floor: unknown workload {name!r}")


def record_matmuls(step: Callable) -> list[tuple]:
    """Run ``step`` once with ``numpy.matmul`` wrapped; return each call's arguments."""
    import numpy as np
    calls: list[tuple] = []
    real = np.matmul

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return real(*args, **kwargs)
    np.matmul = recording
    try:
        step()
    finally:
        np.matmul = real
    return calls


def replay(calls: list[tuple]) -> Callable[[], None]:
    """A step that makes the recorded ``numpy.matmul`` calls again, on the same arrays."""
    import numpy as np

    def step() -> None:
        for args, kwargs in calls:
            np.matmul(*args, **kwargs)
    return step


def measure(name: str, rounds: int, min_time: float) -> dict[str, Any]:
    import ember
    import torch
    e_step, t_step = _steps(name, ember, torch)
    e_step()
    calls = record_matmuls(e_step)
    fns = {"ember": e_step, "torch": t_step, "matmuls": replay(calls)}
    tick = CLOCKS["cpu"]
    inner = {k: _calibrate(f, 2, min_time, tick) for k, f in fns.items()}
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            times[k].append(_time_batch(f, inner[k], tick))
    med = {k: statistics.median(v) for k, v in times.items()}
    n = len(calls)
    del fns, calls
    gc.collect()
    return {"name": name, "matmul_calls": n, **med}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gemm_floor", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default=DEFAULT, help=f"comma-separated workloads ({DEFAULT})")
    p.add_argument("--rounds", type=int, default=7, help="interleaved timed rounds (7)")
    p.add_argument("--min-time", type=float, default=0.2,
                   help="seconds one timed batch lasts at least (0.2)")
    args = p.parse_args(argv)
    pin_thread_env(1)
    import torch
    torch.set_num_threads(1)
    print(f"{'workload':24s} {'ember':>10s} {'torch':>10s} {'matmuls':>10s} "
          f"{'ember/torch':>11s} {'floor/torch':>11s} {'ember-floor':>11s} {'calls':>6s}")
    for name in args.only.split(","):
        r = measure(name, args.rounds, args.min_time)
        e, t, f = r["ember"], r["torch"], r["matmuls"]
        print(f"{name:24s} {_ms(e):>10s} {_ms(t):>10s} {_ms(f):>10s} {e / t:10.2f}x "
              f"{f / t:10.2f}x {_ms(e - f):>11s} {r['matmul_calls']:6d}", flush=True)


def _ms(s: float) -> str:
    return f"{s * 1e3:.2f}ms" if s < 1 else f"{s:.2f}s"


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(main())
