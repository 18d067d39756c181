"""Run the Ember-vs-PyTorch benchmarks: ``python -m benchmarks.run [options]``.

Prints one line per workload, writes the full results as JSON (``--out``) and rewrites
the table section of ``docs/benchmarks.md`` (``--doc``; ``--no-doc`` to skip).

Threads: ``--threads N`` (default 1) is applied three ways, so that every library in the
process obeys it: ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` are set
before NumPy and PyTorch are imported (when this module is the program), then at run time
threadpoolctl (if installed) limits NumPy's OpenBLAS and ``torch.set_num_threads`` limits
PyTorch. The thread counts actually in effect are read back and stored in the JSON.
"""
from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
import traceback
from typing import Any

from benchmarks.harness import CLOCKS, Unavailable, Workload, measure, thread_limit

__all__ = ["main", "run"]

_ENV_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def pin_thread_env(threads: int) -> None:
    """Set the BLAS/OpenMP thread variables, which the runtimes read when they load: only
    while neither NumPy nor PyTorch is imported yet (a running program keeps its count)."""
    if "numpy" not in sys.modules and "torch" not in sys.modules:
        for var in _ENV_THREADS:
            os.environ[var] = str(threads)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="threads for both sides (1)")
    p.add_argument("--rounds", type=int, default=15, help="interleaved timed rounds (15)")
    p.add_argument("--min-time", type=float, default=0.05,
                   help="seconds one timed batch lasts at least (0.05)")
    p.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                   help="wall time, or CPU time of this process (steadier on a busy machine "
                        "at 1 thread)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="workload name or group (repeatable, or comma-separated)")
    p.add_argument("--out", default="benchmarks/results/latest.json", help="JSON results path")
    p.add_argument("--doc", default="docs/benchmarks.md",
                   help="markdown file whose results section is rewritten")
    p.add_argument("--no-doc", action="store_true", help="do not touch the markdown file")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    return p


def _thread_state(torch: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_num_threads()}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        state["openblas"] = os.environ.get("OPENBLAS_NUM_THREADS", "unknown (no threadpoolctl)")
        state["method"] = "environment variables set before NumPy import"
    else:
        state["openblas"] = [p["num_threads"] for p in threadpool_info()
                             if p["internal_api"] == "openblas"]
        state["method"] = "threadpoolctl + torch.set_num_threads"
    return state


def _load() -> list[float] | None:
    """1, 5 and 15-minute load averages: how busy the (shared) machine was."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def _run_one(w: Workload, ember: Any, torch: Any, rounds: int, min_time: float,
             clock: str = "wall") -> dict[str, Any]:
    row: dict[str, Any] = {"name": w.name, "group": w.group, "description": w.description,
                           "target": w.target}
    try:
        sides = w.build(ember, torch)
        row["variant"] = sides.variant
        row.update(measure(sides, rounds, min_time, clock=clock))
    except Unavailable as e:
        row["unavailable"] = str(e)
    except Exception as e:      # an Ember bug in one workload must not stop the others
        row["unavailable"] = f"failed: {type(e).__name__}: {str(e)[:200]}"
        row["traceback"] = traceback.format_exc()
    if "ratio" in row and w.target is not None:
        row["meets_target"] = row["ratio"] <= w.target
    return row


def _print_row(row: dict[str, Any]) -> None:
    if "unavailable" in row:
        print(f"{row['name']:<18} {row['unavailable']}", flush=True)
        return
    target = f"(target <= {row['target']:g}x)" if row["target"] is not None else ""
    print(f"{row['name']:<18} ember {row['ember']['median'] * 1e6:11.1f} us   "
          f"torch {row['torch']['median'] * 1e6:11.1f} us   "
          f"ratio {row['ratio']:6.2f}x {target}", flush=True)


def run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Measure the selected workloads and return the results dictionary (JSON layout)."""
    import numpy
    import torch
    import ember
    from benchmarks.machine import describe
    from benchmarks.workloads import select

    names = [n for item in args.only for n in item.split(",") if n]
    chosen = select(names)
    load_before = _load()
    with thread_limit(torch, args.threads):
        threads = _thread_state(torch)
        rows = []
        for w in chosen:
            rows.append(_run_one(w, ember, torch, args.rounds, args.min_time, args.clock))
            _print_row(rows[-1])
    return {
        "schema": 1,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "threads": args.threads,
        "threads_in_effect": threads,
        "rounds": args.rounds,
        "min_time": args.min_time,
        "clock": args.clock,
        "load_average": {"before": load_before, "after": _load()},
        "machine": describe(numpy, torch, ember),
        "workloads": rows,
    }


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    """Entry point; returns the results (``None`` with ``--list``)."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    pin_thread_env(args.threads)
    if args.list:
        from benchmarks.workloads import WORKLOADS
        for w in WORKLOADS:
            print(f"{w.name:<18} {w.group:<9} {w.description}")
        return None
    from benchmarks import report
    results = run(args, shlex.join(["python", "-m", "benchmarks.run", *argv]))
    report.write_json(args.out, results)
    print(f"wrote {args.out}")
    if not args.no_doc:
        report.update_doc(args.doc, results)
        print(f"updated {args.doc}")
    return results


if __name__ == "__main__":
    main()
