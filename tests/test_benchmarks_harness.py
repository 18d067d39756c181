"""Smoke test of the benchmark harness: it runs, writes its JSON and its markdown table.

Timings are never asserted (shared machines are noisy); only the shape of the output.
"""
import json
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
# benchmarks/ sits next to ember/ but is not installed: make it importable under any runner
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import report, run  # noqa: E402
from benchmarks.harness import Unavailable, Workload  # noqa: E402

SIDE_KEYS = {"median", "q1", "q3", "min", "max", "calls_per_round", "rounds"}


def _bench(tmp_path, doc, *extra):
    out = tmp_path / "results.json"
    run.main(["--only", "add_16", "--rounds", "2", "--min-time", "0.001",
              "--out", str(out), "--doc", str(doc), *extra])
    return json.loads(out.read_text())


def test_json_schema_and_markdown_table(tmp_path):
    doc = tmp_path / "bench.md"
    doc.write_text("# Benchmarks\n\nHand-written intro.\n")
    threads_before = torch.get_num_threads()
    data = _bench(tmp_path, doc)

    assert torch.get_num_threads() == threads_before          # thread limit is undone
    assert {"schema", "date", "command", "threads", "threads_in_effect", "rounds", "clock",
            "load_average", "machine", "workloads"} <= set(data)
    assert data["command"].startswith("python -m benchmarks.run --only add_16")
    assert data["threads_in_effect"]["torch"] == 1
    assert {"cpu", "numpy", "torch", "blas"} <= set(data["machine"])
    [w] = data["workloads"]
    assert w["name"] == "add_16" and w["target"] is None
    for side in ("ember", "torch"):
        assert SIDE_KEYS <= set(w[side]) and len(w[side]["rounds"]) == 2
        assert w[side]["min"] <= w[side]["median"] <= w[side]["max"]
    assert w["ratio"] == pytest.approx(w["ember"]["median"] / w["torch"]["median"])

    text = doc.read_text()
    assert "Hand-written intro." in text
    assert "| add_16 |" in text and "| Ember/PyTorch |" in text
    _bench(tmp_path, doc)                                      # rerun replaces the section
    text = doc.read_text()
    assert text.count(report.BEGIN) == 1 and text.count(report.END) == 1
    assert text.count("| add_16 |") == 1 and "Hand-written intro." in text


def test_each_thread_count_has_its_own_section(tmp_path):
    doc = tmp_path / "bench.md"
    doc.write_text("# Benchmarks\n")
    _bench(tmp_path, doc)
    one = doc.read_text()
    data = _bench(tmp_path, doc, "--threads", "2")
    assert data["threads"] == 2
    text = doc.read_text()
    begin, end = report.markers(2)
    assert text.startswith(one.rstrip("\n"))                  # the 1-thread section stays
    section = text[text.index(begin):text.index(end)]
    assert "1 thread(s)" not in section and "2 thread(s)" in section
    assert section.count("| add_16 |") == 1 and text.count("| add_16 |") == 2


def test_unavailable_and_failing_workloads_become_rows():
    import ember

    def missing(em, th):
        raise Unavailable("ember.nn.functional.frobnicate is not available yet")

    def broken(em, th):
        raise TypeError("bad")

    rows = [run._run_one(Workload(name, "test", "what", build, 1.0), ember, torch, 2, 0.001)
            for name, build in (("missing", missing), ("broken", broken))]
    assert rows[0]["unavailable"] == "ember.nn.functional.frobnicate is not available yet"
    assert rows[1]["unavailable"].startswith("failed: TypeError: bad")
    results = {"date": "d", "command": "c", "threads": 1, "rounds": 2, "workloads": rows,
               "machine": {"cpu": {"model": "cpu", "logical_cpus": 1}, "python": "3",
                           "numpy": "n", "torch": "t", "torch_cpu_capability": "x",
                           "ember": "e", "ember_commit": None, "blas": {}}}
    table = report.markdown_section(results)
    assert "| missing | what | unavailable: ember.nn.functional.frobnicate" in table
    assert "| broken | what | unavailable: failed: TypeError: bad" in table



def test_training_group_and_steps_match_torch():
    """The training workloads start from the same weights and take the same steps: the
    losses of the first two steps (the second after one optimizer update) agree."""
    import ember
    from benchmarks.workloads import select

    chosen = select(["training"])
    assert [w.name for w in chosen] == [
        "mlp_adam_b64", "mlp_adam_b512", "lenet_b64", "resnet18_cifar_train_b32",
        "resnet18_cifar_infer_b32"]
    for w in chosen[::2]:       # MLP (Adam), LeNet (SGD momentum), ResNet inference
        sides = w.build(ember, torch)
        for _ in range(2):
            got, want = sides.ember(), sides.torch()
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2e-4, atol=1e-5,
                                       err_msg=w.name)
