"""Turn benchmark results into JSON and into the table section of ``docs/benchmarks.md``."""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from benchmarks.machine import summary_line

__all__ = ["BEGIN", "END", "markdown_section", "write_json", "update_doc"]

BEGIN = "<!-- results:begin (written by python -m benchmarks.run; edit above or below) -->"
END = "<!-- results:end -->"


def _atomic_write(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_json(path: str, results: dict[str, Any]) -> None:
    """Write the results (see ``benchmarks.run.run`` for the layout) as indented JSON."""
    _atomic_write(path, json.dumps(results, indent=1) + "\n")


def _fmt_time(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def _fmt_side(side: dict[str, Any]) -> str:
    return f"{_fmt_time(side['median'])} ({_fmt_time(side['q1'])}–{_fmt_time(side['q3'])})"


def _row(w: dict[str, Any]) -> str:
    target = f"≤ {w['target']:g}x" if w["target"] is not None else "–"
    if "unavailable" in w:
        cells = [w["name"], w["description"], f"unavailable: {w['unavailable']}", "", "",
                 target, ""]
    else:
        status = "" if w["target"] is None else ("ok" if w["meets_target"] else "**miss**")
        cells = [w["name"], w["description"], _fmt_side(w["ember"]), _fmt_side(w["torch"]),
                 f"{w['ratio']:.2f}x", target, status]
    return "| " + " | ".join(cells) + " |"


def _load_line(load: dict[str, Any] | None) -> str:
    if not load or not load.get("before"):
        return "Load average: not available."
    before, after = load["before"], load["after"]
    return (f"Load average (1 min) before / after the run: {before[0]:.2f} / {after[0]:.2f} "
            f"(anything well above 0 means other processes shared the CPUs).")


def markdown_section(results: dict[str, Any]) -> str:
    """The generated part of docs/benchmarks.md: command, machine, table, variants."""
    lines = [
        f"Run on {results['date']} with `{results['command']}` "
        f"({results['threads']} thread(s), {results['rounds']} interleaved rounds, "
        f"{results.get('clock', 'wall')} clock).",
        "",
        f"Machine: {summary_line(results['machine'])}.",
        "",
        _load_line(results.get("load_average")),
        "",
        "| Workload | What | Ember median (IQR) | PyTorch median (IQR) | Ember/PyTorch "
        "| Target | |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [_row(w) for w in results["workloads"]]
    variants = [(w["name"], w["variant"]) for w in results["workloads"] if w.get("variant")]
    if variants:
        lines += ["", "How the workloads were composed (the same on both sides):", ""]
        lines += [f"- `{name}`: " + "; ".join(f"{k}: `{v}`" for k, v in v.items())
                  for name, v in variants]
    return "\n".join(lines)


def markers(threads: int) -> tuple[str, str]:
    """The result markers for a run at ``threads`` threads: one section per thread count
    (the 1-thread section keeps the original markers)."""
    if threads == 1:
        return BEGIN, END
    return (f"<!-- results threads={threads}:begin (written by python -m benchmarks.run "
            f"--threads {threads}; edit above or below) -->",
            f"<!-- results threads={threads}:end -->")


def update_doc(path: str, results: dict[str, Any]) -> None:
    """Replace the text between the result markers of ``path`` for the run's thread count
    (append them if absent)."""
    begin, end = markers(results.get("threads", 1))
    replace_section(path, markdown_section(results), begin, end, "# Benchmarks\n")


def replace_section(path: str, body: str, begin: str, end_marker: str, title: str) -> None:
    """Write ``body`` between the markers ``begin`` and ``end_marker`` of the Markdown file
    ``path`` (atomically), appending them if absent; a missing file starts with ``title``."""
    section = f"{begin}\n{body}\n{end_marker}"
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = title
    start, end = text.find(begin), text.find(end_marker)
    if start >= 0 and end > start:
        text = text[:start] + section + text[end + len(end_marker):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    _atomic_write(path, text)
