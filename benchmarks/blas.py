"""NumPy GEMM speed per OpenBLAS kernel choice: ``python -m benchmarks.blas``.

OpenBLAS (the BLAS inside NumPy's wheels) picks its kernels once, when the library loads,
from the CPU it detects; ``OPENBLAS_CORETYPE`` overrides that choice. Since the variable
only counts before NumPy is imported, each core type is measured in a fresh subprocess;
a core type whose instructions the CPU lacks kills that subprocess (SIGILL), which is
reported instead of a speed. Core types are cycled ``--repeats`` times, interleaved, and
the median over repeats of each subprocess's best GFLOP/s is reported.
See docs/blas.md for the numbers and what Ember should do about them.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.machine import cpu_info

__all__ = ["main", "measure_coretype"]

DEFAULT = "default"


def _child(sizes: list[int], min_time: float) -> dict[str, Any]:
    """Runs inside the subprocess: report the kernel core OpenBLAS chose and GEMM speeds."""
    import numpy as np
    try:
        from threadpoolctl import threadpool_info
        core = [p.get("architecture") for p in threadpool_info()
                if p["internal_api"] == "openblas"]
    except ImportError:
        core = ["unknown (no threadpoolctl)"]
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"core": core[0] if core else None, "gflops": {}, "max_rel_err": {}}
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        small = rng.standard_normal((64, 64))
        ref = small @ small.T
        got = small.astype(dtype) @ small.T.astype(dtype)
        out["max_rel_err"][name] = float(abs(got - ref).max() / abs(ref).max())
        for n in sizes:
            a = rng.standard_normal((n, n)).astype(dtype)
            b = rng.standard_normal((n, n)).astype(dtype)
            a @ b                                   # warm-up (thread pool, page faults)
            best = float("inf")
            deadline = time.perf_counter() + min_time
            while time.perf_counter() < deadline or best == float("inf"):
                t0 = time.perf_counter()
                a @ b
                best = min(best, time.perf_counter() - t0)
            out["gflops"].setdefault(name, {})[str(n)] = 2 * n ** 3 / best / 1e9
    return out


def measure_coretype(coretype: str, sizes: list[int], threads: int, min_time: float
                     ) -> dict[str, Any]:
    """Run :func:`_child` in a subprocess with ``OPENBLAS_CORETYPE=coretype``."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype != DEFAULT:
        env["OPENBLAS_CORETYPE"] = coretype
    cmd = [sys.executable, "-m", "benchmarks.blas", "--child",
           "--sizes", ",".join(map(str, sizes)), "--min-time", str(min_time)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        sig = -proc.returncode if proc.returncode < 0 else None
        why = signal.Signals(sig).name if sig else f"exit status {proc.returncode}"
        return {"crashed": why, "stderr": proc.stderr[-500:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if "crashed" not in r]
    if not ok:
        return runs[0]
    merged = {"core": ok[0]["core"], "max_rel_err": ok[0]["max_rel_err"], "gflops": {}}
    for dt, by_size in ok[0]["gflops"].items():
        merged["gflops"][dt] = {n: statistics.median(r["gflops"][dt][n] for r in ok)
                                for n in by_size}
    return merged


def _table(results: dict[str, Any], sizes: list[int]) -> str:
    head = ["OPENBLAS_CORETYPE", "kernels used"] + [f"{dt} n={n}" for dt in
                                                   ("float32", "float64") for n in sizes]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for ct, r in results.items():
        if "crashed" in r:
            cells = [ct, f"crashed ({r['crashed']})"] + ["–"] * (len(head) - 2)
        else:
            cells = [ct, r["core"]] + [f"{r['gflops'][dt][str(n)]:.1f}"
                                       for dt in ("float32", "float64") for n in sizes]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.blas", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--coretypes", default="default,Haswell,Zen,SkylakeX,Sandybridge",
                   help="comma-separated OPENBLAS_CORETYPE values ('default': unset)")
    p.add_argument("--sizes", default="64,256,1024", help="square GEMM sizes")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--min-time", type=float, default=0.3,
                   help="seconds spent timing each size (best call is kept)")
    p.add_argument("--out", default="benchmarks/results/blas.json")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.child:
        print(json.dumps(_child(sizes, args.min_time)))
        return
    coretypes = args.coretypes.split(",")
    runs: dict[str, list] = {ct: [] for ct in coretypes}
    for rep in range(args.repeats):
        order = coretypes if rep % 2 == 0 else coretypes[::-1]
        for ct in order:
            runs[ct].append(measure_coretype(ct, sizes, args.threads, args.min_time))
    results = {ct: _merge(r) for ct, r in runs.items()}
    print(_table(results, sizes))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"command": " ".join(["python -m benchmarks.blas", *(argv or sys.argv[1:])]),
                   "threads": args.threads, "cpu": cpu_info(), "results": results}, f,
                  indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
