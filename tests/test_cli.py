"""The `ember` command: info, a short quickstart, and (slow) the full quickstart's accuracy."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember.cli import main

EMBER = [sys.executable, "-m", "ember.cli"]


def test_console_script_entry_point_is_declared():
    from importlib.metadata import entry_points
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("ember") == "ember.cli:main"


def test_info_prints_version_backend_blas_threads_and_datasets(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"Ember {ember.__version__}" in out
    assert f"numpy {np.__version__}" in out
    assert re.search(r"BLAS: \S+.*kernel: \S+.*threads: \d+", out), out
    assert re.search(r"FashionMNIST: available", out), out
    assert "CIFAR10" in out and "Digits" in out
    import numba
    assert f"Optimizer updates: numba {numba.__version__}" in out


def test_info_advises_on_avx512_only_where_openblas_runs_avx2(monkeypatch):
    from ember import cli
    full = {"avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl"}
    monkeypatch.setattr(cli, "_cpu_flags", lambda: full)
    assert "OPENBLAS_CORETYPE=SkylakeX" in cli._avx512_line(["Haswell"])
    assert cli._avx512_line(["SkylakeX"]) == "CPU: AVX-512"
    monkeypatch.setattr(cli, "_cpu_flags", lambda: full - {"avx512bw"})
    line = cli._avx512_line(["Haswell"])
    assert line.startswith("CPU: no AVX-512") and "CORETYPE" not in line


def test_info_says_when_optimizer_updates_run_on_numpy(capsys, monkeypatch):
    from ember.backend import jit
    monkeypatch.setenv("EMBER_NUMBA", "0")
    jit.reset()                    # the switch is read once per process
    try:
        assert main(["info"]) == 0
    finally:
        jit.reset()
    assert "Optimizer updates: NumPy (EMBER_NUMBA=0)" in capsys.readouterr().out


def test_bad_arguments_exit_with_a_usage_error():
    result = subprocess.run(EMBER + ["quickstart", "--epochs", "0"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "--epochs must be at least 1, got 0" in result.stderr
    result = subprocess.run(EMBER + ["fly"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "invalid choice: 'fly'" in result.stderr


def _load_saved(path):
    from ember import keras
    return keras.models.load_model(path)


def test_short_quickstart_trains_reports_and_saves_a_loadable_model(tmp_path):
    out_file = tmp_path / "qs.keras"
    result = subprocess.run(EMBER + ["quickstart", "--epochs", "1", "--limit", "3000",
                                     "--output", str(out_file)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    text = result.stdout
    assert "Training a small CNN on Fashion-MNIST: 3000 training images" in text
    assert re.search(r"47/47 ━+ .*accuracy: [\d.]+ - loss: [\d.]+", text), text  # 3000/64
    accuracy = float(re.search(r"Test accuracy on Fashion-MNIST: ([\d.]+)%", text).group(1))
    assert 50.0 < accuracy <= 100.0
    assert f"Saved the trained model to {out_file}" in text
    model = _load_saved(str(out_file))
    from ember.data.datasets import FashionMNIST
    test = FashionMNIST(train=False)
    x = np.asarray(test.data[:500], np.float32)[..., None]   # the model takes raw pixels
    predicted = model.predict(x, verbose=0).argmax(-1)
    # the reloaded model classifies like the reported accuracy says (same order of size)
    assert abs(100.0 * (predicted == np.asarray(test.targets[:500])).mean() - accuracy) < 8.0


@pytest.mark.slow
def test_full_quickstart_reaches_ninety_percent_on_fashion_mnist(tmp_path):
    result = subprocess.run(EMBER + ["quickstart", "--output", str(tmp_path / "m.keras")],
                            capture_output=True, text=True, timeout=900,
                            env={**os.environ, "COLUMNS": "100"})
    assert result.returncode == 0, result.stderr[-3000:]
    accuracy = float(re.search(r"Test accuracy on Fashion-MNIST: ([\d.]+)%",
                               result.stdout).group(1))
    assert accuracy >= 90.0, result.stdout[-3000:]


def test_quickstart_falls_back_to_the_mnist_5k_subset_and_says_so(tmp_path, monkeypatch,
                                                                   capsys):
    from ember.data import datasets

    def absent(*args, **kwargs):
        raise FileNotFoundError("FashionMNIST: no IDX files in /nowhere\nInstall them ...")

    monkeypatch.setattr(datasets, "FashionMNIST", absent)
    assert main(["quickstart", "--epochs", "1", "--limit", "640",
                 "--output", str(tmp_path / "m.keras")]) == 0
    out = capsys.readouterr().out
    assert "Fashion-MNIST is not installed (FashionMNIST: no IDX files in /nowhere)" in out
    assert "Falling back to the MNIST 5k subset" in out
    assert "Training a small CNN on MNIST (5k subset): 640 training images, 1000 test" in out
    assert re.search(r"Test accuracy on MNIST \(5k subset\): [\d.]+%", out)
    assert (tmp_path / "m.keras").exists()
