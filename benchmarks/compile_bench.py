"""``ember.compile`` next to eager Ember, eager PyTorch and ``torch.compile``:
``python -m benchmarks.compile_bench [options]``.

Each workload builds one model per framework (PyTorch's initial weights copied into Ember),
then four *variants* of one step written once against ``m`` (``ember`` or ``torch``), each
on its own deep copy of that model and on the same fixed batch:

- ``ember_compiled``: ``ember.compile(step)``; ``ember_eager``: ``step`` itself;
- ``torch_eager``: PyTorch's ``step``; ``torch_compile``: ``torch.compile(step)``.

Before anything is timed, every variant runs :data:`CHECK_CALLS` calls (Ember's compiled
step: call 1 eager, call 2 traces, calls 3+ run the graph) and each call's result (the loss
of a train step, the output of inference) is compared with eager Ember's: a compiled Ember
result that differs, or an eager PyTorch one (the sides would not be doing the same work),
raises :class:`ResultsDiffer` and stops the run. A ``torch.compile`` that fails or differs
is reported as unavailable with the reason. Those first calls also give the compile time
(wall clock): Ember's first two calls (warm-up + tracing), ``torch.compile``'s first call.

Then the variants are timed in interleaved rounds (``benchmarks.harness``), and the JSON
(``--out``) and the results section of ``docs/benchmarks_compile.md`` (``--doc``) get each
variant's median, the ratios, the compile times and the targets met or missed.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import shlex
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from benchmarks.harness import CLOCKS, _calibrate, _time_batch, summarize, thread_limit
from benchmarks.run import _load, _thread_state, pin_thread_env

__all__ = ["CHECK_CALLS", "VARIANTS", "WORKLOADS", "CompileWorkload", "ResultsDiffer",
           "Target", "check_agreement", "main", "run"]

VARIANTS = ("ember_compiled", "ember_eager", "torch_eager", "torch_compile")
LABELS = {"ember_compiled": "Ember compiled", "ember_eager": "Ember eager",
          "torch_eager": "PyTorch eager", "torch_compile": "torch.compile"}
CHECK_CALLS = 4
RTOL, ATOL = 1e-3, 1e-4            # float32 results after a few steps, reordered sums

Step = Callable[[], Any]
# (m, wrap) -> a zero-argument step on a fresh copy of the model; wrap compiles the step
MakeStep = Callable[[Any, Callable | None], Step]


class ResultsDiffer(AssertionError):
    """A variant's results differ from eager Ember's: its timing would compare other work."""


@dataclass(frozen=True)
class Target:
    """A goal on one figure: ``row["figures"][metric]`` at most (or at least) ``bound``."""

    metric: str
    bound: float
    at_most: bool
    text: str

    def verdict(self, figures: dict[str, float]) -> bool | None:
        """True when met, False when missed, None when the figure was not measured."""
        value = figures.get(self.metric)
        if value is None:
            return None
        return value <= self.bound if self.at_most else value >= self.bound


@dataclass(frozen=True)
class CompileWorkload:
    """One benchmarked step; ``build(ember, torch)`` returns its :data:`MakeStep`."""

    name: str
    description: str
    build: Callable[[Any, Any], MakeStep]
    heavy: bool = False                 # seconds per call: timed with ``--heavy-rounds``
    targets: tuple[Target, ...] = ()


def check_agreement(workload: str, variant: str, got: list, want: list) -> float:
    """Largest absolute difference between two variants' per-call results; raises
    :class:`ResultsDiffer` when any call's results differ beyond ``RTOL``/``ATOL``.

    >>> import numpy as np
    >>> check_agreement("mlp", "ember_compiled", [np.float32(2.3)], [np.float32(2.3)])
    0.0
    """
    import numpy as np
    worst = 0.0
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        if a.shape != b.shape:
            raise ResultsDiffer(f"compile_bench: {workload}: call {i + 1} of {variant} gave "
                                f"shape {a.shape}, eager Ember {b.shape}")
        diff = float(np.max(np.abs(a - b), initial=0.0))
        if not np.allclose(a, b, rtol=RTOL, atol=ATOL):
            shown = (f"{float(a):.6g} vs {float(b):.6g}" if a.ndim == 0
                     else f"max |diff| {diff:.3g}")
            raise ResultsDiffer(f"compile_bench: {workload}: call {i + 1} of {variant} differs "
                                f"from eager Ember ({shown}; rtol {RTOL:g}, atol {ATOL:g})")
        worst = max(worst, diff)
    return worst


# -- workloads ----------------------------------------------------------------------------

def _inputs(batch: int, shape: tuple) -> tuple[Any, Any]:
    import numpy as np
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, *shape), dtype=np.float32), rng.integers(0, 10, batch)


def _pair(models: str, em: Any, th: Any) -> tuple[Any, Any]:
    """Ember and PyTorch twins of ``models`` with PyTorch's initial weights in both."""
    from benchmarks import training
    th.manual_seed(0)
    if models == "transformer":
        def make(m: Any) -> Any:
            nn = m.nn
            layer = nn.TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=256,
                                               batch_first=True)
            return nn.TransformerEncoder(layer, num_layers=2)
        em_model, th_model = make(em), make(th)
    else:
        em_model, th_model = getattr(training, models)(em, th)
    training.copy_state(th_model, em_model, em)
    return em_model, th_model


def _train(models: str, optimizer: str, batch: int, shape: tuple) -> Callable:
    """A builder of ``zero_grad, forward, cross_entropy, backward, step`` train steps."""
    def build(em: Any, th: Any) -> MakeStep:
        from benchmarks import training
        x, labels = _inputs(batch, shape)
        twins = _pair(models, em, th)
        make_opt = getattr(training, optimizer)

        def make(m: Any, wrap: Callable | None) -> Step:
            model = copy.deepcopy(twins[m is th])      # twins: (ember model, torch model)
            model.train()
            opt = make_opt(m, model.parameters())
            cross_entropy = m.nn.functional.cross_entropy
            tx, ty = m.from_numpy(x.copy()), m.from_numpy(labels.copy())

            def step(a: Any, b: Any) -> Any:
                opt.zero_grad()
                loss = cross_entropy(model(a), b)
                loss.backward()
                opt.step()
                return loss.detach()
            fn = wrap(step) if wrap else step
            return lambda: fn(tx, ty)
        return make
    return build


def eval_forward(m: Any, model: Any, x: Any, wrap: Callable | None) -> Step:
    """A call of ``model`` (put in eval mode) on ``x`` under ``m.no_grad()``, the step
    passed through ``wrap`` (a compiler) when given."""
    model.eval()

    def step(a: Any) -> Any:
        with m.no_grad():
            return model(a)
    fn = wrap(step) if wrap else step
    return lambda: fn(x)


def _infer(models: str, shape: tuple, batch: int) -> Callable:
    """A builder of eval-mode forwards under ``no_grad``."""
    def build(em: Any, th: Any) -> MakeStep:
        x, _ = _inputs(batch, shape)
        twins = _pair(models, em, th)

        def make(m: Any, wrap: Callable | None) -> Step:
            return eval_forward(m, copy.deepcopy(twins[m is th]), m.from_numpy(x.copy()), wrap)
        return make
    return build


TARGET_VS_TORCH, TARGET_SPEEDUP, TARGET_COMPILE_S = 0.5, 1.3, 2.0
_VS_TORCH = Target("compiled_vs_torch_eager", TARGET_VS_TORCH, True,
                   f"Ember compiled ≤ {TARGET_VS_TORCH:g}x PyTorch eager")
_SPEEDUP = Target("speedup_vs_ember_eager", TARGET_SPEEDUP, False,
                  f"Ember compiled ≥ {TARGET_SPEEDUP:g}x faster than Ember eager")
_COMPILE = Target("ember_compile_s", TARGET_COMPILE_S, True,
                  f"Ember compile time < {TARGET_COMPILE_S:g} s")
_MNIST, _LENET, _CIFAR = (784,), (1, 28, 28), (3, 32, 32)

WORKLOADS: list[CompileWorkload] = [
    CompileWorkload("mlp_adam_b64", "MLP 784-128-64-10 train step, Adam, batch 64",
                    _train("_mlp", "_adam", 64, _MNIST),
                    targets=(_VS_TORCH, _SPEEDUP, _COMPILE)),
    CompileWorkload("mlp_adam_b512", "MLP 784-128-64-10 train step, Adam, batch 512",
                    _train("_mlp", "_adam", 512, _MNIST), targets=(_SPEEDUP, _COMPILE)),
    CompileWorkload("lenet_b64", "LeNet-5 train step, SGD momentum 0.9, batch 64",
                    _train("_lenet", "_sgd_momentum", 64, _LENET),
                    targets=(_SPEEDUP, _COMPILE)),
    CompileWorkload("resnet18_cifar_infer_b32",
                    "ResNet-18 (CIFAR stem) eval forward, no_grad, batch 32",
                    _infer("_resnet18_cifar", _CIFAR, 32), heavy=True, targets=(_COMPILE,)),
    CompileWorkload("resnet18_cifar_train_b32",
                    "ResNet-18 (CIFAR stem) train step, SGD momentum 0.9, batch 32",
                    _train("_resnet18_cifar", "_sgd_momentum", 32, _CIFAR), heavy=True,
                    targets=(_COMPILE,)),
    CompileWorkload("transformer_infer_b32",
                    "TransformerEncoder (2 layers, d_model 128, 4 heads, ff 256) eval "
                    "forward, no_grad, (32, 64, 128)",
                    _infer("transformer", (64, 128), 32), targets=(_COMPILE,)),
]


# -- running one workload -------------------------------------------------------------------

def _numpy(out: Any) -> Any:
    import numpy as np
    return np.array(out.detach().numpy(), copy=True)


def _first_calls(step: Step) -> tuple[list, list[float]]:
    """Results and wall times of the first :data:`CHECK_CALLS` calls of ``step``."""
    outs, secs = [], []
    for _ in range(CHECK_CALLS):
        t0 = time.perf_counter()
        out = step()
        secs.append(time.perf_counter() - t0)
        outs.append(_numpy(out))
    return outs, secs


def _graph_info(compiled: Any, caught: list) -> dict[str, Any]:
    graphs = compiled.graphs
    info: dict[str, Any] = {"graphs": len(graphs), "nodes": sum(len(g.nodes) for g in graphs)}
    if caught:
        info["warnings"] = [str(w.message) for w in caught]
    return info


def _prepare(w: CompileWorkload, em: Any, th: Any, variants: tuple[str, ...],
             row: dict[str, Any]) -> dict[str, Step]:
    """Build and check the variants (see the module doc); fill ``row``'s check, compile
    and graph entries; return the ready steps."""
    make = w.build(em, th)
    th.compiler.reset()                      # each workload's torch.compile starts afresh
    holder: dict[str, Any] = {}

    def ember_compile(fn: Callable) -> Any:
        holder["fn"] = em.compile(fn)
        return holder["fn"]
    makers = {"ember_compiled": lambda: make(em, ember_compile),
              "ember_eager": lambda: make(em, None), "torch_eager": lambda: make(th, None),
              "torch_compile": lambda: make(th, th.compile)}
    order = ["ember_eager"] + [v for v in VARIANTS if v != "ember_eager" and v in variants]
    steps, results, secs = {}, {}, {}
    for v in order:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                steps[v] = makers[v]()
                results[v], secs[v] = _first_calls(steps[v])
        except Exception as e:      # a torch.compile (or Ember) failure must not stop the run
            if v == "ember_eager":      # the reference: nothing to compare without it
                raise
            row["unavailable"][v] = f"failed: {type(e).__name__}: {str(e)[:300]}"
            row.setdefault("tracebacks", {})[v] = traceback.format_exc()
            steps.pop(v, None)
            continue
        if v == "ember_compiled":
            row["graph"] = _graph_info(holder["fn"], caught)
    row["check"] = {"reference": "ember_eager", "calls": CHECK_CALLS, "max_abs_diff": {}}
    for v in [v for v in order if v in results and v != "ember_eager"]:
        try:
            diff = check_agreement(w.name, v, results[v], results["ember_eager"])
        except ResultsDiffer as e:
            if v != "torch_compile":
                raise
            row["unavailable"][v] = f"results differ: {e}"
            steps.pop(v)
            continue
        row["check"]["max_abs_diff"][v] = diff
    if results["ember_eager"][0].ndim == 0:
        row["check"]["losses"] = {v: [float(o) for o in r] for v, r in results.items()}
    if "ember_compiled" in secs:
        row["compile_s"]["ember_calls"] = secs["ember_compiled"][:2]   # eager, tracing
        row["compile_s"]["ember"] = sum(secs["ember_compiled"][:2])
    if "torch_compile" in steps:
        row["compile_s"]["torch"] = secs["torch_compile"][0]
    return {v: steps[v] for v in VARIANTS if v in steps and v in variants}


def _interleaved(steps: dict[str, Step], rounds: int, min_time: float,
                 clock: str) -> dict[str, Any]:
    """Per-variant statistics of ``rounds`` rounds timed in turn (first calls are done)."""
    tick = CLOCKS[clock]
    inner = {v: _calibrate(f, 1, min_time, tick) for v, f in steps.items()}
    times: dict[str, list[float]] = {v: [] for v in steps}
    for _ in range(rounds):
        for v, f in steps.items():
            times[v].append(_time_batch(f, inner[v], tick))
    return {v: {**summarize(t), "calls_per_round": inner[v], "rounds": t}
            for v, t in times.items()}


def _figures(row: dict[str, Any]) -> dict[str, float]:
    med = {v: s["median"] for v, s in row["variants"].items()}
    pairs = {"compiled_vs_torch_eager": ("ember_compiled", "torch_eager"),
             "speedup_vs_ember_eager": ("ember_eager", "ember_compiled"),
             "torch_compile_vs_torch_eager": ("torch_compile", "torch_eager")}
    out = {k: med[a] / med[b] for k, (a, b) in pairs.items() if a in med and b in med}
    if "ember" in row["compile_s"]:
        out["ember_compile_s"] = row["compile_s"]["ember"]
    return out


def run_one(w: CompileWorkload, em: Any, th: Any, variants: tuple[str, ...], rounds: int,
            min_time: float, clock: str) -> dict[str, Any]:
    """Check, then time, one workload; returns its JSON row (layout: the module doc and
    ``docs/benchmarks_compile.md``)."""
    row: dict[str, Any] = {"name": w.name, "description": w.description, "heavy": w.heavy,
                           "rounds": rounds, "unavailable": {}, "compile_s": {}}
    steps = _prepare(w, em, th, variants, row)
    row["variants"] = _interleaved(steps, rounds, min_time, clock)
    row["figures"] = _figures(row)
    row["targets"] = [{"metric": t.metric, "bound": t.bound, "at_most": t.at_most,
                       "text": t.text, "met": t.verdict(row["figures"])} for t in w.targets]
    return row


# -- report ---------------------------------------------------------------------------------

BEGIN = "<!-- results:begin (written by python -m benchmarks.compile_bench) -->"
END = "<!-- results:end -->"


def _cell(row: dict[str, Any], v: str) -> str:
    from benchmarks.report import _fmt_side
    if v in row["variants"]:
        return _fmt_side(row["variants"][v])
    return f"unavailable ({row['unavailable'][v]})" if v in row["unavailable"] else "–"


def _num(value: float | None, fmt: str, unit: str) -> str:
    return "–" if value is None else format(value, fmt) + unit


def _ember_compile(c: dict[str, Any]) -> str:
    if "ember" not in c:
        return "–"
    eager, trace = c["ember_calls"]
    return f"{c['ember']:.2f} s ({eager:.2f} + {trace:.2f})"


def section_head(results: dict[str, Any], how: str, first: list[str],
                 last: list[str]) -> list[str]:
    """The lines a results section starts with: when and how it ran (``how`` inside the
    brackets), the machine, the load, and a table header with the ``first`` columns, the
    four variants' medians, then the ``last`` columns."""
    from benchmarks.machine import summary_line
    from benchmarks.report import _load_line
    columns = first + [f"{LABELS[v]} median (IQR)" for v in VARIANTS] + last
    return [f"Run on {results['date']} with `{results['command']}` ({how}).", "",
            f"Machine: {summary_line(results['machine'])}.", "",
            _load_line(results.get("load_average")), "",
            "| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]


def markdown_section(results: dict[str, Any]) -> str:
    """The generated part of ``docs/benchmarks_compile.md``: command, machine, tables."""
    rows = results["workloads"]
    lines = section_head(
        results, f"{results['threads']} thread(s), {results['rounds']} interleaved rounds, "
        f"{results['heavy_rounds']} for the ResNet-18 rows, {results['clock']} clock; compile "
        f"times are wall clock", ["Workload", "What"],
        ["compiled / PyTorch eager", "speedup vs Ember eager", "torch.compile / PyTorch eager",
         "Ember compile (eager + tracing call)", "torch.compile compile"])
    for r in rows:
        f, c = r["figures"], r["compile_s"]
        lines.append("| " + " | ".join(
            [r["name"], r["description"], *(_cell(r, v) for v in VARIANTS),
             _num(f.get("compiled_vs_torch_eager"), ".2f", "x"),
             _num(f.get("speedup_vs_ember_eager"), ".2f", "x"),
             _num(f.get("torch_compile_vs_torch_eager"), ".2f", "x"),
             _ember_compile(c), _num(c.get("torch"), ".1f", " s")]) + " |")
    lines += ["", "| Target | Workload | Measured | |", "|---|---|---|---|"]
    for r in rows:
        for t in r["targets"]:
            value = r["figures"].get(t["metric"])
            unit = " s" if t["metric"].endswith("_s") else "x"
            verdict = {True: "met", False: "**missed**", None: "not measured"}[t["met"]]
            lines.append(f"| {t['text']} | {r['name']} | {_num(value, '.2f', unit)} | "
                         f"{verdict} |")
    lines += ["", "Graphs and checks (results of the first "
              f"{CHECK_CALLS} calls compared with eager Ember's):", ""]
    for r in rows:
        g = r.get("graph")
        graphs = (f"{g['graphs']} graph(s), {g['nodes']} nodes" if g else
                  f"Ember compiled {r['unavailable'].get('ember_compiled', 'not run')}")
        diffs = ", ".join(f"{LABELS[v]} {d:.2g}" for v, d in r["check"]["max_abs_diff"].items())
        note = f"; warnings: {'; '.join(g['warnings'])}" if g and g.get("warnings") else ""
        lines.append(f"- `{r['name']}`: {graphs}; max |difference| {diffs or '–'}{note}")
    return "\n".join(lines)


def update_doc(path: str, results: dict[str, Any]) -> None:
    """Replace the text between :data:`BEGIN` and :data:`END` in ``path`` (append if absent)."""
    from benchmarks.report import replace_section
    replace_section(path, markdown_section(results), BEGIN, END,
                    "# Benchmarks: ember.compile\n")


def _print_row(row: dict[str, Any]) -> None:
    cells = [f"{LABELS[v]} {s['median'] * 1e3:9.3f} ms" for v, s in row["variants"].items()]
    cells += [f"{k} {v:.2f}" for k, v in row["figures"].items()]
    cells += [f"{LABELS[v]} unavailable: {why[:80]}" for v, why in row["unavailable"].items()]
    print(f"{row['name']:<26} " + "  ".join(cells), flush=True)


# -- command line ---------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.compile_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="threads for every variant (1)")
    p.add_argument("--rounds", type=int, default=15, help="interleaved timed rounds (15)")
    p.add_argument("--heavy-rounds", type=int, default=5,
                   help="rounds for the slow ResNet-18 workloads (5)")
    p.add_argument("--min-time", type=float, default=0.05,
                   help="seconds one timed batch lasts at least (0.05)")
    p.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                   help="CPU time of this process (default) or wall time")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="workload name (repeatable, or comma-separated)")
    p.add_argument("--variants", default=",".join(VARIANTS),
                   help=f"comma-separated subset of {','.join(VARIANTS)} (eager Ember "
                        "always runs the checked calls: it is the reference)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: mlp_adam_b64 only, 2 rounds, 5 ms batches")
    p.add_argument("--out", default="benchmarks/results/compile.json", help="JSON results path")
    p.add_argument("--doc", default="docs/benchmarks_compile.md",
                   help="markdown file whose results section is rewritten")
    p.add_argument("--no-doc", action="store_true", help="do not touch the markdown file")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    return p


def _select(names: list[str]) -> list[CompileWorkload]:
    known = {w.name: w for w in WORKLOADS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"compile_bench: unknown workload(s) {unknown}; known: {list(known)}")
    return [known[n] for n in names] if names else list(WORKLOADS)


def run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Check and measure the selected workloads; returns the results (JSON layout)."""
    import numpy
    import torch

    import ember
    from benchmarks.machine import describe
    if args.quick:
        args.only, args.rounds, args.heavy_rounds, args.min_time = ["mlp_adam_b64"], 2, 2, 0.005
    variants = tuple(v for v in args.variants.split(",") if v)
    bad = sorted(set(variants) - set(VARIANTS))
    if bad:
        raise SystemExit(f"compile_bench: unknown variant(s) {bad}; known: {list(VARIANTS)}")
    chosen = _select([n for item in args.only for n in item.split(",") if n])
    load_before = _load()
    with thread_limit(torch, args.threads):
        threads = _thread_state(torch)
        rows = []
        for w in chosen:
            rounds = args.heavy_rounds if w.heavy else args.rounds
            rows.append(run_one(w, ember, torch, variants, rounds, args.min_time, args.clock))
            _print_row(rows[-1])
    return {"schema": 1,
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": command, "threads": args.threads, "threads_in_effect": threads,
            "rounds": args.rounds, "heavy_rounds": args.heavy_rounds,
            "min_time": args.min_time, "clock": args.clock, "variants": list(variants),
            "check_calls": CHECK_CALLS, "tolerance": {"rtol": RTOL, "atol": ATOL},
            "load_average": {"before": load_before, "after": _load()},
            "machine": describe(numpy, torch, ember), "workloads": rows}


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    """Entry point; returns the results (``None`` with ``--list``)."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    pin_thread_env(args.threads)
    if args.list:
        for w in WORKLOADS:
            print(f"{w.name:<26} {w.description}")
        return None
    from benchmarks import report
    results = run(args, shlex.join(["python", "-m", "benchmarks.compile_bench", *argv]))
    report.write_json(args.out, results)
    print(f"wrote {args.out}")
    if not args.no_doc:
        update_doc(args.doc, results)
        print(f"updated {args.doc}")
    return results


if __name__ == "__main__":
    main()
