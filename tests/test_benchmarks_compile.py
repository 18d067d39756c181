"""Smoke test of ``benchmarks.compile_bench``: its checks, its JSON and its markdown.

Timings are never asserted (shared machines are noisy); only the shape of the output and
the checks that guard the timings (compiled == eager, failures reported, not fatal).
"""
import json
import os
import sys
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")
# benchmarks/ sits next to ember/ but is not installed: make it importable under any runner
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ember  # noqa: E402
from benchmarks import compile_bench as cb, harness  # noqa: E402

NO_TORCH_COMPILE = ("ember_compiled", "ember_eager", "torch_eager")
STAT_KEYS = {"median", "q1", "q3", "min", "max", "calls_per_round", "rounds"}
WORKLOAD = {w.name: w for w in cb.WORKLOADS}


@pytest.fixture(autouse=True)
def _no_gc_between_batches(monkeypatch):
    """The harness collects garbage before each timed batch: ~0.2 s in a test process
    full of objects, and nothing here reads the timings."""
    monkeypatch.setattr(harness, "gc", types.SimpleNamespace(collect=lambda: 0))


def _run_one(name, variants=cb.VARIANTS):
    return cb.run_one(WORKLOAD[name], ember, torch, variants, rounds=1, min_time=0.001,
                      clock="cpu")


def _quick(tmp_path, doc):
    out = tmp_path / "compile.json"
    cb.main(["--quick", "--variants", ",".join(NO_TORCH_COMPILE), "--out", str(out),
             "--doc", str(doc)])
    return json.loads(out.read_text())


def test_quick_run_writes_json_and_markdown(tmp_path):
    doc = tmp_path / "bench.md"
    doc.write_text("# Compile benchmarks\n\nHand-written intro.\n")
    threads_before = torch.get_num_threads()
    data = _quick(tmp_path, doc)

    assert torch.get_num_threads() == threads_before          # thread limit is undone
    assert {"schema", "date", "command", "threads", "threads_in_effect", "rounds",
            "heavy_rounds", "clock", "variants", "check_calls", "tolerance", "load_average",
            "machine", "workloads"} <= set(data)
    assert data["command"].startswith("python -m benchmarks.compile_bench --quick")
    assert data["clock"] == "cpu" and data["threads_in_effect"]["torch"] == 1
    [w] = data["workloads"]
    assert w["name"] == "mlp_adam_b64" and w["unavailable"] == {}
    assert list(w["variants"]) == list(NO_TORCH_COMPILE)
    for stats in w["variants"].values():
        assert STAT_KEYS <= set(stats) and len(stats["rounds"]) == 2
        assert stats["min"] <= stats["median"] <= stats["max"]
    med = {v: s["median"] for v, s in w["variants"].items()}
    assert w["figures"]["compiled_vs_torch_eager"] == pytest.approx(
        med["ember_compiled"] / med["torch_eager"])
    assert w["figures"]["speedup_vs_ember_eager"] == pytest.approx(
        med["ember_eager"] / med["ember_compiled"])
    assert "torch_compile_vs_torch_eager" not in w["figures"] and "torch" not in w["compile_s"]
    assert w["compile_s"]["ember"] == pytest.approx(sum(w["compile_s"]["ember_calls"]))
    assert w["compile_s"]["ember"] > 0 and w["graph"]["graphs"] == 1
    assert w["graph"]["nodes"] > 0
    assert [t["metric"] for t in w["targets"]] == [
        "compiled_vs_torch_eager", "speedup_vs_ember_eager", "ember_compile_s"]
    assert all(t["met"] in (True, False) for t in w["targets"])
    losses = w["check"]["losses"]
    assert set(losses) == {"ember_eager", "ember_compiled", "torch_eager"}
    assert all(len(v) == cb.CHECK_CALLS for v in losses.values())
    assert losses["ember_eager"][-1] < losses["ember_eager"][0]   # the steps do train
    assert set(w["check"]["max_abs_diff"]) == {"ember_compiled", "torch_eager"}

    text = doc.read_text()
    assert "Hand-written intro." in text and "| mlp_adam_b64 |" in text
    assert "| Ember compiled ≤ 0.5x PyTorch eager | mlp_adam_b64 |" in text
    assert "Machine: " in text and "`python -m benchmarks.compile_bench --quick" in text
    _quick(tmp_path, doc)                                      # rerun replaces the section
    text = doc.read_text()
    assert text.count(cb.BEGIN) == 1 and text.count(cb.END) == 1
    assert text.count("| Ember compile time < 2 s | mlp_adam_b64 |") == 1


@pytest.mark.parametrize("name", ["mlp_adam_b512", "lenet_b64", "transformer_infer_b32"])
def test_light_workloads_agree_and_run_as_one_graph(name):
    row = _run_one(name, NO_TORCH_COMPILE)
    assert row["unavailable"] == {} and list(row["variants"]) == list(NO_TORCH_COMPILE)
    assert row["graph"]["graphs"] == 1 and "warnings" not in row["graph"]
    assert ("losses" in row["check"]) == name.startswith(("mlp", "lenet"))
    assert all(d <= 1e-3 for d in row["check"]["max_abs_diff"].values())


def test_heavy_workloads_build_steps_for_both_frameworks():
    for name in ("resnet18_cifar_infer_b32", "resnet18_cifar_train_b32"):
        assert WORKLOAD[name].heavy
        make = WORKLOAD[name].build(ember, torch)
        assert callable(make(ember, None)) and callable(make(torch, None))


def test_failing_torch_compile_is_reported_not_fatal(monkeypatch):
    def broken(fn):
        def call(*args):
            raise RuntimeError("no C++ compiler")
        return call
    monkeypatch.setattr(torch, "compile", broken)
    row = _run_one("mlp_adam_b64")
    assert row["unavailable"]["torch_compile"] == "failed: RuntimeError: no C++ compiler"
    assert "torch_compile" not in row["variants"] and "torch" not in row["compile_s"]
    assert "torch_compile_vs_torch_eager" not in row["figures"]
    assert "unavailable (failed: RuntimeError: no C++ compiler)" in cb._cell(row,
                                                                            "torch_compile")


def test_torch_compile_that_differs_is_dropped(monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda fn: lambda *a: fn(*a) + 1.0)
    row = _run_one("mlp_adam_b64")
    assert row["unavailable"]["torch_compile"].startswith(
        "results differ: compile_bench: mlp_adam_b64: call 1 of torch_compile differs")
    assert "torch_compile" not in row["variants"]


def test_compiled_ember_that_differs_aborts_loudly(monkeypatch):
    real = ember.compile

    class OffByOnePercent:
        def __init__(self, fn):
            self.compiled = real(fn)
            self.graphs = self.compiled.graphs

        def __call__(self, *args):
            return self.compiled(*args) * 1.01
    monkeypatch.setattr(ember, "compile", OffByOnePercent)
    with pytest.raises(cb.ResultsDiffer, match=r"mlp_adam_b64: call 1 of ember_compiled "
                                               r"differs from eager Ember \(2\.3\d+ vs 2\.3"):
        _run_one("mlp_adam_b64", NO_TORCH_COMPILE)


def test_check_agreement():
    a = [np.float32(1.0), np.ones((2, 3), np.float32)]
    assert cb.check_agreement("w", "v", a, a) == 0.0
    b = [np.float32(1.0 + 5e-4), np.ones((2, 3), np.float32)]
    assert cb.check_agreement("w", "v", b, a) == pytest.approx(5e-4, rel=1e-3)   # in rtol
    with pytest.raises(cb.ResultsDiffer, match=r"w: call 2 of v differs from eager Ember "
                                               r"\(max \|diff\| 0\.1;"):
        cb.check_agreement("w", "v", [a[0], a[1] + 0.1], a)
    with pytest.raises(cb.ResultsDiffer, match=r"call 1 of v gave shape \(3,\), eager Ember "
                                               r"\(\)"):
        cb.check_agreement("w", "v", [np.zeros(3)], [np.zeros(())])
    with pytest.raises(ValueError):                                 # a missing call
        cb.check_agreement("w", "v", a[:1], a)


def test_list_and_bad_names(capsys):
    assert cb.main(["--list"]) is None
    listed = capsys.readouterr().out
    assert all(w.name in listed for w in cb.WORKLOADS) and len(cb.WORKLOADS) == 6
    with pytest.raises(SystemExit, match=r"compile_bench: unknown workload\(s\) \['nope'\]"):
        cb.main(["--only", "nope", "--no-doc", "--out", os.devnull])
    with pytest.raises(SystemExit, match=r"compile_bench: unknown variant\(s\) \['jax'\]"):
        cb.main(["--variants", "ember_eager,jax", "--no-doc", "--out", os.devnull])
