"""Where Ember's time goes in one workload: ``python -m benchmarks.hotspots NAME``.

Runs Ember's side of a workload from ``benchmarks.workloads`` under cProfile for about
``--seconds`` and prints the top functions (by own time, ``--sort tottime``, or by time
including callees, ``--sort cumulative``) with the per-step cost of each. For a sampling
view without cProfile's per-call overhead, run py-spy on the same command::

    py-spy record -o profile.svg -- python -m benchmarks.hotspots add_16 --no-cprofile
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import time

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.hotspots", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="workload name (see python -m benchmarks.run --list)")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--sort", default="tottime", choices=("tottime", "cumulative", "ncalls"))
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--no-cprofile", action="store_true",
                   help="just run the loop (for an outside sampling profiler)")
    args = p.parse_args(argv)

    import ember
    import torch
    from benchmarks.harness import thread_limit
    from benchmarks.workloads import select

    [workload] = select([args.name])
    with thread_limit(torch, 1):
        step = workload.build(ember, torch).ember
        step()
        t0 = time.perf_counter()
        step()
        n = max(1, int(args.seconds / max(time.perf_counter() - t0, 1e-9)))
        profiler = None if args.no_cprofile else cProfile.Profile()
        if profiler:
            profiler.enable()
        for _ in range(n):
            step()
        if profiler:
            profiler.disable()
    if profiler:
        print(f"{workload.name}: {n} steps; times below are totals over all steps")
        pstats.Stats(profiler).strip_dirs().sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
