"""Peak memory of a ResNet-18 train step and ``import`` time, Ember next to PyTorch, each
measured in fresh subprocesses: ``python -m benchmarks.footprint [options]``.

- **Memory**: a child process imports one framework only, builds the ResNet-18 (CIFAR
  stem, 10 classes: ``ember.models.resnet18`` or its twin in
  :mod:`benchmarks.reference_models`) and an SGD-momentum optimizer, reads its resident
  set (``VmRSS``), runs ``--steps`` train steps on a fixed batch of 32, then reads the peak
  resident set (``VmHWM``, the same figure as ``getrusage``'s ``ru_maxrss``). Reported:
  the peak, the resident set after import + build, and their difference (what the train
  steps added). ``--repeats`` children per framework, alternating; medians.
- **Import time**: a child process times ``import ember`` (or ``import torch``) with
  ``time.perf_counter`` around the import statement, so interpreter start-up is left out;
  ``--imports`` children per framework, alternating, after one unrecorded warm-up child
  each (so both find their files in the OS cache); medians and quartiles.

Targets (issue 6): peak resident memory Ember / PyTorch ≤ 1.0; import time ≤ 0.2.
Results go under ``runs["threads=N"]`` of ``--out`` and in a section of ``--doc``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
from typing import Any

from benchmarks.harness import summarize

__all__ = ["FRAMEWORKS", "TARGET_MEMORY", "TARGET_IMPORT", "measure_memory",
           "measure_import", "run", "main", "markdown_section"]

FRAMEWORKS = ("ember", "torch")
TARGET_MEMORY, TARGET_IMPORT = 1.0, 0.2
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Run in the child: one framework only, so neither pays for the other's import.
_MEMORY_CHILD = r"""
import json, sys
import numpy as np
fw, steps, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")

if fw == "ember":
    import ember as m
    model = m.models.resnet18(num_classes=10, cifar=True)
else:
    import torch as m
    from benchmarks import reference_models
    model = reference_models.resnet18(num_classes=10, cifar=True)
if fw == "torch":
    m.set_num_threads(int(sys.argv[4]))
model.train()
opt = m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
rng = np.random.default_rng(0)
x = m.from_numpy(rng.standard_normal((batch, 3, 32, 32), dtype=np.float32))
y = m.from_numpy(rng.integers(0, 10, batch))
built = status("VmRSS")
for _ in range(steps):
    opt.zero_grad()
    loss = m.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
print(json.dumps({"built_rss": built, "peak_rss": status("VmHWM"),
                  "final_rss": status("VmRSS"), "loss": float(loss.item())}))
"""

_IMPORT_CHILD = r"""
import sys, time
t0 = time.perf_counter()
__import__(sys.argv[1])
print(time.perf_counter() - t0)
"""


def _child(code: str, args: list[str], threads: int) -> str:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=ROOT, text=True,
                          capture_output=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"footprint: child {args} failed (exit {done.returncode}):\n"
                           f"{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def measure_memory(repeats: int, steps: int, batch: int, threads: int) -> dict[str, Any]:
    """Per framework: every child's figures (bytes) and their medians; ratios of medians."""
    runs: dict[str, list[dict[str, Any]]] = {fw: [] for fw in FRAMEWORKS}
    for _ in range(repeats):
        for fw in FRAMEWORKS:
            runs[fw].append(json.loads(_child(_MEMORY_CHILD, [fw, str(steps), str(batch),
                                                               str(threads)], threads)))
    out: dict[str, Any] = {"steps": steps, "batch": batch, "repeats": repeats}
    for fw, rs in runs.items():
        rows = [{**r, "step_added": r["peak_rss"] - r["built_rss"]} for r in rs]
        out[fw] = {"children": rows,
                   **{k: statistics.median(r[k] for r in rows)
                      for k in ("built_rss", "peak_rss", "step_added")}}
    out["ratio_peak"] = out["ember"]["peak_rss"] / out["torch"]["peak_rss"]
    out["ratio_step_added"] = out["ember"]["step_added"] / out["torch"]["step_added"]
    out["meets_target"] = out["ratio_peak"] <= TARGET_MEMORY
    return out


def measure_import(repeats: int, threads: int) -> dict[str, Any]:
    """Per framework: import times (seconds) of ``repeats`` fresh children and their
    statistics; the ratio of medians."""
    for fw in FRAMEWORKS:                       # warm the OS file cache, unrecorded
        _child(_IMPORT_CHILD, [fw], threads)
    times: dict[str, list[float]] = {fw: [] for fw in FRAMEWORKS}
    for _ in range(repeats):
        for fw in FRAMEWORKS:
            times[fw].append(float(_child(_IMPORT_CHILD, [fw], threads)))
    out: dict[str, Any] = {"repeats": repeats}
    for fw, t in times.items():
        out[fw] = {**summarize(t), "rounds": t}
    out["ratio"] = out["ember"]["median"] / out["torch"]["median"]
    out["meets_target"] = out["ratio"] <= TARGET_IMPORT
    return out


def run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Both measurements at ``args.threads``; returns one run's results."""
    import numpy
    import torch

    import ember
    from benchmarks.machine import describe
    from benchmarks.run import _load
    load_before = _load()
    memory = measure_memory(args.repeats, args.steps, args.batch, args.threads)
    print(f"memory: peak ember {memory['ember']['peak_rss'] / 2**20:.0f} MiB, torch "
          f"{memory['torch']['peak_rss'] / 2**20:.0f} MiB, ratio {memory['ratio_peak']:.2f}; "
          f"added by the steps: ratio {memory['ratio_step_added']:.2f}", flush=True)
    imports = measure_import(args.imports, args.threads)
    print(f"import: ember {imports['ember']['median'] * 1e3:.0f} ms, torch "
          f"{imports['torch']['median'] * 1e3:.0f} ms, ratio {imports['ratio']:.2f}", flush=True)
    return {"schema": 1,
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": command, "threads": args.threads,
            "load_average": {"before": load_before, "after": _load()},
            "machine": describe(numpy, torch, ember), "memory": memory, "import": imports}


# -- report ---------------------------------------------------------------------------------

def markers(threads: int) -> tuple[str, str]:
    """The begin/end markers of the doc section holding the run at ``threads``."""
    return (f"<!-- footprint threads={threads}: begin (written by python -m "
            f"benchmarks.footprint) -->", f"<!-- footprint threads={threads}: end -->")


def _mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def markdown_section(results: dict[str, Any]) -> str:
    """One run's section: command, machine, the memory and import-time tables."""
    from benchmarks.machine import summary_line
    from benchmarks.report import _fmt_side, _load_line
    mem, imp = results["memory"], results["import"]
    verdict = {True: "met", False: "**missed**"}
    lines = [
        f"### Memory and import time, {results['threads']} thread(s)", "",
        f"Run on {results['date']} with `{results['command']}`.", "",
        f"Machine: {summary_line(results['machine'])}.", "",
        _load_line(results.get("load_average")), "",
        f"ResNet-18 (CIFAR) train step, SGD momentum, batch {mem['batch']}, {mem['steps']} "
        f"steps per child, median of {mem['repeats']} children per framework:", "",
        "| Resident memory | Ember | PyTorch | Ember/PyTorch | Target | |",
        "|---|---|---|---|---|---|",
        f"| peak (VmHWM = ru_maxrss) | {_mib(mem['ember']['peak_rss'])} | "
        f"{_mib(mem['torch']['peak_rss'])} | {mem['ratio_peak']:.2f}x | ≤ {TARGET_MEMORY:g}x | "
        f"{verdict[mem['meets_target']]} |",
        f"| after import + model build | {_mib(mem['ember']['built_rss'])} | "
        f"{_mib(mem['torch']['built_rss'])} | "
        f"{mem['ember']['built_rss'] / mem['torch']['built_rss']:.2f}x | – | |",
        f"| added by the train steps (peak − after build) | {_mib(mem['ember']['step_added'])} "
        f"| {_mib(mem['torch']['step_added'])} | {mem['ratio_step_added']:.2f}x | – | |",
        "",
        f"Import time (`import ember` / `import torch` in a fresh process, interpreter "
        f"start-up excluded), median (IQR) of {imp['repeats']} children per framework:", "",
        "| | Ember | PyTorch | Ember/PyTorch | Target | |", "|---|---|---|---|---|---|",
        f"| import | {_fmt_side(imp['ember'])} | {_fmt_side(imp['torch'])} | "
        f"{imp['ratio']:.2f}x | ≤ {TARGET_IMPORT:g}x | {verdict[imp['meets_target']]} |",
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.footprint", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="threads in every child (1)")
    p.add_argument("--repeats", type=int, default=3, help="memory children per framework (3)")
    p.add_argument("--steps", type=int, default=3, help="train steps per memory child (3)")
    p.add_argument("--batch", type=int, default=32, help="ResNet-18 batch size (32)")
    p.add_argument("--imports", type=int, default=7, help="import children per framework (7)")
    p.add_argument("--out", default="benchmarks/results/footprint.json",
                   help="JSON results path (this thread count's entry is replaced)")
    p.add_argument("--doc", default="docs/benchmarks_transformers.md",
                   help="markdown file whose section for this thread count is rewritten")
    p.add_argument("--no-doc", action="store_true", help="do not touch the markdown file")
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point; returns this run's results."""
    from benchmarks.report import replace_section
    from benchmarks.transformers_bench import TITLE, merge_json
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    results = run(args, shlex.join(["python", "-m", "benchmarks.footprint", *argv]))
    merge_json(args.out, results)
    print(f"wrote {args.out}")
    if not args.no_doc:
        replace_section(args.doc, markdown_section(results), *markers(args.threads), TITLE)
        print(f"updated {args.doc}")
    return results


if __name__ == "__main__":
    main()
