"""Smoke tests of ``benchmarks.transformers_bench``, its twin models and
``benchmarks.footprint``'s report. Timings are never asserted; the tiny models keep it fast."""
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
from benchmarks import footprint, harness, transformers_bench as tb  # noqa: E402
from benchmarks import transformer_models as tm  # noqa: E402

NO_TORCH_COMPILE = "ember_compiled,ember_eager,torch_eager"
NAMES = ["bert_minilm_infer_b8", "gpt2_infer_b1", "gpt2_infer_b8", "gpt2_train_adamw_b4"]


@pytest.fixture(autouse=True)
def _no_gc_between_batches(monkeypatch):
    """The harness collects garbage before each timed batch; nothing here reads timings."""
    monkeypatch.setattr(harness, "gc", types.SimpleNamespace(collect=lambda: 0))


def _tokens(batch=2, seq=8, vocab=100):
    return np.random.default_rng(1).integers(0, vocab, (batch, seq + 1))


@pytest.mark.parametrize("kind", ["bert", "gpt2"])
def test_twins_agree_on_the_forward(kind):
    em_model, th_model = tm.twins(kind, tm.TINY_BERT if kind == "bert" else tm.TINY_GPT2,
                                  ember, torch)
    assert [n for n, _ in em_model.named_parameters()] == \
        [n for n, _ in th_model.named_parameters()]
    x = _tokens()[:, :-1]
    with torch.no_grad():
        want = th_model(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = em_model(ember.from_numpy(x)).numpy()
    assert got.shape == want.shape == ((2, 8, 32) if kind == "bert" else (2, 8, 100))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_gpt2_is_causal_and_its_head_is_tied():
    em_model, _ = tm.twins("gpt2", tm.TINY_GPT2, ember, torch)
    x = _tokens()[:1, :-1]
    y = x.copy()
    y[0, -1] = (y[0, -1] + 1) % 100                  # change only the last token
    with ember.no_grad():
        a, b = (em_model(ember.from_numpy(t)).numpy() for t in (x, y))
    np.testing.assert_array_equal(a[0, :-1], b[0, :-1])
    assert not np.allclose(a[0, -1], b[0, -1])
    assert "lm_head" not in dict(em_model.named_parameters())


def test_twins_agree_after_an_adamw_step():
    """Same loss, gradients and updated weights. The key bias's gradient is zero up to
    rounding (softmax ignores a shift shared by all keys), and Adam turns such noise into
    steps of up to ``lr``: hence the benchmark's small ``lr`` and ``atol`` = lr / 100."""
    models = tm.twins("gpt2", tm.TINY_GPT2, ember, torch)
    tokens = _tokens()
    losses, grads, params = [], [], []
    for m, model in zip((ember, torch), models):
        opt = m.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        x, y = m.from_numpy(tokens[:, :-1].copy()), m.from_numpy(tokens[:, 1:].copy())
        logits = model(x)
        loss = m.nn.functional.cross_entropy(logits.reshape(-1, 100), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        grads.append({n: p.grad.numpy().copy() for n, p in model.named_parameters()})
        opt.step()
        losses.append(float(loss.item()))
        params.append({n: p.detach().numpy().copy() for n, p in model.named_parameters()})
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    assert params[0].keys() == params[1].keys() == grads[0].keys()
    for name in params[1]:
        np.testing.assert_allclose(grads[0][name], grads[1][name], rtol=1e-3, atol=1e-6,
                                   err_msg=name)
        np.testing.assert_allclose(params[0][name], params[1][name], rtol=1e-5, atol=1e-6,
                                   err_msg=name)


def test_quick_run_writes_json_and_both_thread_sections(tmp_path):
    out, doc = tmp_path / "t.json", tmp_path / "t.md"
    doc.write_text("# Transformers\n\nHand-written intro.\n")
    threads_before = torch.get_num_threads()
    res = tb.main(["--quick", "--variants", NO_TORCH_COMPILE, "--out", str(out),
                   "--doc", str(doc)])
    assert torch.get_num_threads() == threads_before
    assert res["quick"] and res["clock"] == "cpu" and res["threads_in_effect"]["torch"] == 1
    assert [w["name"] for w in res["workloads"]] == NAMES
    for w in res["workloads"]:
        assert w["unavailable"] == {} and list(w["variants"]) == NO_TORCH_COMPILE.split(",")
        med = {v: s["median"] for v, s in w["variants"].items()}
        assert w["figures"]["eager_vs_torch_eager"] == pytest.approx(
            med["ember_eager"] / med["torch_eager"])
        [t] = w["targets"]
        assert t["metric"] == "eager_vs_torch_eager" and t["met"] in (True, False)
        assert t["bound"] == tb.TARGETS[w["name"]]
        assert all(d <= 1e-3 for d in w["check"]["max_abs_diff"].values())
    losses = res["workloads"][-1]["check"]["losses"]["ember_eager"]
    assert losses[-1] < losses[0]                                  # the step does train

    # a 2-thread run (here: the same results relabelled) joins the 1-thread one
    tb.merge_json(str(out), {**res, "threads": 2})
    tb.update_doc(str(doc), {**res, "threads": 2})
    tb.main(["--quick", "--only", "gpt2_infer_b1", "--variants", "ember_eager,torch_eager",
             "--out", str(out), "--doc", str(doc)])
    data = json.loads(out.read_text())
    assert list(data["runs"]) == ["threads=1", "threads=2"]
    assert [w["name"] for w in data["runs"]["threads=1"]["workloads"]] == ["gpt2_infer_b1"]
    assert len(data["runs"]["threads=2"]["workloads"]) == 4
    text = doc.read_text()
    assert "Hand-written intro." in text and "### 1 thread(s)" in text
    assert "### 2 thread(s)" in text
    for n in (1, 2):
        begin, end = tb.markers(n)
        assert text.count(begin) == 1 and text.count(end) == 1
    one = text[text.index(tb.markers(1)[0]):text.index(tb.markers(1)[1])]
    assert "| gpt2_infer_b1 |" in one and "| bert_minilm_infer_b8 |" not in one
    assert "| bert_minilm_infer_b8 |" in text                     # still in the 2-thread part


def test_bad_names_raise_clear_errors(capsys):
    assert tb.main(["--list"]) is None
    listed = capsys.readouterr().out
    assert all(n in listed for n in NAMES)
    with pytest.raises(SystemExit, match=r"transformers_bench: unknown workload\(s\) "
                                         r"\['bert'\]; known: \['bert_minilm_infer_b8'"):
        tb.main(["--quick", "--only", "bert", "--no-doc", "--out", os.devnull])
    with pytest.raises(SystemExit, match=r"unknown variant\(s\) \['jax'\]"):
        tb.main(["--quick", "--variants", "ember_eager,jax", "--no-doc", "--out", os.devnull])


def test_footprint_report_and_child_errors():
    mib = 2 ** 20
    side = {"built_rss": 100 * mib, "peak_rss": 300 * mib, "step_added": 200 * mib}
    imp = {"median": 0.1, "q1": 0.09, "q3": 0.11, "min": 0.08, "max": 0.12}
    results = {
        "date": "today", "command": "python -m benchmarks.footprint", "threads": 1,
        "load_average": None, "machine": {
            "cpu": {"model": "CPU", "logical_cpus": 2}, "blas": {}, "python": "3",
            "numpy": "2", "torch": "2", "torch_cpu_capability": "AVX2", "ember": "0",
            "ember_commit": None},
        "memory": {"steps": 3, "batch": 32, "repeats": 3, "ember": side,
                   "torch": {**side, "peak_rss": 600 * mib}, "ratio_peak": 0.5,
                   "ratio_step_added": 1.0, "meets_target": True},
        "import": {"repeats": 7, "ember": imp, "torch": {**imp, "median": 1.0},
                   "ratio": 0.1, "meets_target": True}}
    text = footprint.markdown_section(results)
    assert "| peak (VmHWM = ru_maxrss) | 300 MiB | 600 MiB | 0.50x | ≤ 1x | met |" in text
    assert "| import | 100 ms (90 ms–110 ms) | 1 s (90 ms–110 ms) | 0.10x | ≤ 0.2x | met |" \
        in text
    with pytest.raises(RuntimeError, match=r"footprint: child \['x'\] failed \(exit 3\)"):
        footprint._child("import sys; sys.exit(3)", ["x"], 1)
