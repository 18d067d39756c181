"""Transformer workloads (BERT encoder, GPT-2 small) in the four variants of
:mod:`benchmarks.compile_bench`: ``python -m benchmarks.transformers_bench [options]``.

The models are :mod:`benchmarks.transformer_models` (written once against ``m``, PyTorch's
initial weights copied into Ember). Each workload goes through ``compile_bench.run_one``:
the first calls of every variant are checked against eager Ember's results before any
timing (a compiled Ember or eager PyTorch result that differs stops the run), then the
variants are timed in interleaved rounds.

Rows: BERT (all-MiniLM-L6-v2 shape) inference, GPT-2 small forward at batch 1 and 8, GPT-2
small AdamW train step. Targets (issue 6) are on eager Ember / eager PyTorch, the path a
PyTorch-style user gets; Ember compiled / PyTorch eager is reported next to it.

Results of one thread count replace that count's entry in the JSON (``--out``) and its
section of ``docs/benchmarks_transformers.md`` (``--doc``), so a run at ``--threads 1``
and one at ``--threads 2`` sit side by side. ``--quick`` runs every row on a tiny model
(1 layer, hidden 32, vocab 100, sequence 8): a smoke test of the whole path.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import json
import shlex
import sys
from typing import Any, Callable

from benchmarks import transformer_models as tm
from benchmarks.compile_bench import (LABELS, VARIANTS, CompileWorkload, MakeStep, Step,
                                      Target, _cell, _num, eval_forward, run_one,
                                      section_head)
from benchmarks.harness import CLOCKS, thread_limit
from benchmarks.run import _load, _thread_state, pin_thread_env

__all__ = ["TARGETS", "workloads", "run", "main", "markdown_section"]

SEQ = 128
TARGETS = {"bert_minilm_infer_b8": 0.8, "gpt2_infer_b1": 0.8, "gpt2_infer_b8": 0.8,
           "gpt2_train_adamw_b4": 1.0}


def _tokens(batch: int, seq: int, vocab: int) -> Any:
    import numpy as np
    return np.random.default_rng(0).integers(0, vocab, (batch, seq), dtype=np.int64)


def _infer(kind: str, config: tm.Config, batch: int, seq: int) -> Callable[[Any, Any],
                                                                           MakeStep]:
    """Eval-mode forward under ``no_grad``; the step returns the model's output."""
    def build(em: Any, th: Any) -> MakeStep:
        tokens = _tokens(batch, seq, config.vocab)
        models = tm.twins(kind, config, em, th)

        def make(m: Any, wrap: Callable | None) -> Step:
            # read-only here: the variants share the model
            return eval_forward(m, models[m is th], m.from_numpy(tokens.copy()), wrap)
        return make
    return build


def _train(config: tm.Config, batch: int, seq: int) -> Callable[[Any, Any], MakeStep]:
    """GPT-2 next-token train step: ``zero_grad``, forward, cross-entropy, backward, AdamW
    (lr 1e-4, weight decay 0.01); the step returns the loss. Each variant trains its own
    copy of the model."""
    def build(em: Any, th: Any) -> MakeStep:
        tokens = _tokens(batch, seq + 1, config.vocab)
        models = tm.twins("gpt2", config, em, th)

        def make(m: Any, wrap: Callable | None) -> Step:
            model = copy.deepcopy(models[m is th])
            model.train()
            opt = m.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
            cross_entropy = m.nn.functional.cross_entropy
            x, y = m.from_numpy(tokens[:, :-1].copy()), m.from_numpy(tokens[:, 1:].copy())

            def step(a: Any, b: Any) -> Any:
                opt.zero_grad()
                logits = model(a)
                loss = cross_entropy(logits.reshape(-1, logits.shape[-1]), b.reshape(-1))
                loss.backward()
                opt.step()
                return loss.detach()
            fn = wrap(step) if wrap else step
            return lambda: fn(x, y)
        return make
    return build


def _target(name: str) -> Target:
    bound = TARGETS[name]
    return Target("eager_vs_torch_eager", bound, True,
                  f"Ember eager ≤ {bound:g}x PyTorch eager")


def workloads(tiny: bool = False) -> list[CompileWorkload]:
    """The four rows; ``tiny`` swaps in 1-layer, hidden-32 models and sequence 8."""
    bert, gpt = (tm.TINY_BERT, tm.TINY_GPT2) if tiny else (tm.MINILM, tm.GPT2_SMALL)
    seq = 8 if tiny else SEQ

    def what(base: str, rest: str) -> str:
        size = "tiny stand-in (1 layer, hidden 32, vocab 100) for " if tiny else ""
        return f"{size}{base}, {rest}"
    rows = [
        ("bert_minilm_infer_b8",
         what("BERT encoder, all-MiniLM-L6-v2 shape (6 layers, 384, 12 heads, FFN 1536, "
              "embeddings included)", f"eval forward, no_grad, batch 8 x {seq}"),
         _infer("bert", bert, 8, seq)),
        ("gpt2_infer_b1",
         what("GPT-2 small shape (12 layers, 768, 12 heads, vocab 50257, tied LM head)",
              f"eval forward to logits, no_grad, batch 1 x {seq}"),
         _infer("gpt2", gpt, 1, seq)),
        ("gpt2_infer_b8",
         what("GPT-2 small shape", f"eval forward to logits, no_grad, batch 8 x {seq}"),
         _infer("gpt2", gpt, 8, seq)),
        ("gpt2_train_adamw_b4",
         what("GPT-2 small shape", f"train step, cross-entropy, AdamW, batch 4 x {seq}"),
         _train(gpt, 4, seq)),
    ]
    return [CompileWorkload(name, text, build, heavy=True, targets=(_target(name),))
            for name, text, build in rows]


def _finish(row: dict[str, Any], w: CompileWorkload) -> None:
    """Add the eager Ember / eager PyTorch figure and judge the targets on it."""
    med = {v: s["median"] for v, s in row["variants"].items()}
    if "ember_eager" in med and "torch_eager" in med:
        row["figures"]["eager_vs_torch_eager"] = med["ember_eager"] / med["torch_eager"]
    row["targets"] = [{"metric": t.metric, "bound": t.bound, "at_most": t.at_most,
                       "text": t.text, "met": t.verdict(row["figures"])} for t in w.targets]


def _select(names: list[str], tiny: bool) -> list[CompileWorkload]:
    known = {w.name: w for w in workloads(tiny)}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"transformers_bench: unknown workload(s) {unknown}; "
                         f"known: {list(known)}")
    return [known[n] for n in names] if names else list(known.values())


def run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Check and measure the selected workloads at ``args.threads``; returns one run's
    results (the layout of ``compile_bench``'s, plus ``eager_vs_torch_eager``)."""
    import numpy
    import torch

    import ember
    from benchmarks.machine import describe
    variants = tuple(v for v in args.variants.split(",") if v)
    bad = sorted(set(variants) - set(VARIANTS))
    if bad:
        raise SystemExit(f"transformers_bench: unknown variant(s) {bad}; "
                         f"known: {list(VARIANTS)}")
    chosen = _select([n for item in args.only for n in item.split(",") if n], args.quick)
    load_before = _load()
    with thread_limit(torch, args.threads):
        threads = _thread_state(torch)
        rows = []
        for w in chosen:
            row = run_one(w, ember, torch, variants, args.rounds, args.min_time, args.clock)
            _finish(row, w)
            rows.append(row)
            _print_row(row)
    return {"schema": 1, "quick": args.quick,
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": command, "threads": args.threads, "threads_in_effect": threads,
            "rounds": args.rounds, "min_time": args.min_time, "clock": args.clock,
            "variants": list(variants),
            "load_average": {"before": load_before, "after": _load()},
            "machine": describe(numpy, torch, ember), "workloads": rows}


def _print_row(row: dict[str, Any]) -> None:
    cells = [f"{LABELS[v]} {s['median'] * 1e3:9.1f} ms" for v, s in row["variants"].items()]
    cells += [f"{k} {v:.2f}" for k, v in row["figures"].items()]
    cells += [f"{LABELS[v]} unavailable: {why[:80]}" for v, why in row["unavailable"].items()]
    print(f"{row['name']:<22} " + "  ".join(cells), flush=True)


# -- report ---------------------------------------------------------------------------------

def markers(threads: int) -> tuple[str, str]:
    """The begin/end markers of the doc section holding the run at ``threads``."""
    return (f"<!-- transformers threads={threads}: begin (written by python -m "
            f"benchmarks.transformers_bench) -->", f"<!-- transformers threads={threads}: end -->")


def markdown_section(results: dict[str, Any]) -> str:
    """One run's section: command, machine, one row per workload, targets, checks."""
    lines = [f"### {results['threads']} thread(s)", ""] + section_head(
        results, f"{results['rounds']} interleaved rounds, {results['clock']} clock; compile "
        f"times are wall clock{'; QUICK smoke run on tiny models' if results.get('quick') else ''}",
        ["Workload"], ["eager / PyTorch eager", "compiled / PyTorch eager",
                       "torch.compile / PyTorch eager", "Target", ""])
    for r in results["workloads"]:
        f = r["figures"]
        verdicts = "; ".join({True: "met", False: "**missed**", None: "not measured"}[t["met"]]
                             for t in r["targets"])
        lines.append("| " + " | ".join(
            [r["name"], *(_cell(r, v) for v in VARIANTS),
             _num(f.get("eager_vs_torch_eager"), ".2f", "x"),
             _num(f.get("compiled_vs_torch_eager"), ".2f", "x"),
             _num(f.get("torch_compile_vs_torch_eager"), ".2f", "x"),
             "; ".join(f"≤ {t['bound']:g}x" for t in r["targets"]), verdicts]) + " |")
    lines += ["", "Compile times and checks (the first calls of every variant compared with "
              "eager Ember's):", ""]
    for r in results["workloads"]:
        c = r["compile_s"]
        diffs = ", ".join(f"{LABELS[v]} {d:.2g}" for v, d in r["check"]["max_abs_diff"].items())
        g = r.get("graph")
        graph = f"{g['graphs']} graph(s), {g['nodes']} nodes" if g else "no Ember graph"
        lines.append(
            f"- `{r['name']}`: {r['description']}. Ember compile (eager + tracing call) "
            f"{_num(c.get('ember'), '.1f', ' s')}, torch.compile first call "
            f"{_num(c.get('torch'), '.1f', ' s')}; {graph}; max |difference| {diffs or '–'}")
    return "\n".join(lines)


def merge_json(path: str, results: dict[str, Any]) -> dict[str, Any]:
    """Put ``results`` under ``runs["threads=N"]`` of the JSON file at ``path`` (other
    thread counts' runs are kept) and write it; returns the whole file's content."""
    from benchmarks import report
    try:
        with open(path) as f:
            data = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        data = {}
    runs = data.get("runs", {}) if data.get("schema") == 1 else {}
    runs[f"threads={results['threads']}"] = results
    data = {"schema": 1, "runs": dict(sorted(runs.items()))}
    report.write_json(path, data)
    return data


TITLE = "# Benchmarks: transformers, memory and import time\n"


def update_doc(path: str, results: dict[str, Any]) -> None:
    """Rewrite the section of ``path`` that holds the run at ``results['threads']``."""
    from benchmarks.report import replace_section
    replace_section(path, markdown_section(results), *markers(results["threads"]), TITLE)


# -- command line ---------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.transformers_bench",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="threads for every variant (1)")
    p.add_argument("--rounds", type=int, default=3,
                   help="interleaved timed rounds (3: the steps take seconds)")
    p.add_argument("--min-time", type=float, default=0.05,
                   help="seconds one timed batch lasts at least (0.05)")
    p.add_argument("--clock", choices=sorted(CLOCKS), default=None,
                   help="cpu (process CPU time) or wall; default cpu at 1 thread, wall above")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="workload name (repeatable, or comma-separated)")
    p.add_argument("--variants", default=",".join(VARIANTS),
                   help=f"comma-separated subset of {','.join(VARIANTS)} (eager Ember "
                        "always runs the checked calls: it is the reference)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: tiny models, 2 rounds, 5 ms batches")
    p.add_argument("--out", default="benchmarks/results/transformers.json",
                   help="JSON results path (this thread count's entry is replaced)")
    p.add_argument("--doc", default="docs/benchmarks_transformers.md",
                   help="markdown file whose section for this thread count is rewritten")
    p.add_argument("--no-doc", action="store_true", help="do not touch the markdown file")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    return p


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    """Entry point; returns this run's results (``None`` with ``--list``)."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    pin_thread_env(args.threads)
    if args.list:
        for w in workloads():
            print(f"{w.name:<22} {w.description}")
        return None
    if args.clock is None:
        args.clock = "cpu" if args.threads == 1 else "wall"
    if args.quick:
        args.rounds, args.min_time = 2, 0.005
    results = run(args, shlex.join(["python", "-m", "benchmarks.transformers_bench", *argv]))
    merge_json(args.out, results)
    print(f"wrote {args.out}")
    if not args.no_doc:
        update_doc(args.doc, results)
        print(f"updated {args.doc}")
    return results


if __name__ == "__main__":
    main()
