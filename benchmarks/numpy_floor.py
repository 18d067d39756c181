"""How fast can a hand-written NumPy MLP step be, next to Ember and PyTorch?

``python -m benchmarks.numpy_floor [--batches 64,512] [--rounds 9]``

The MLP 784-128-64-10 forward+backward with cross-entropy, written three ways on the same
data: plain NumPy with the gradients derived by hand (the floor any NumPy-based framework
works against), Ember (``F.linear``/``F.relu``/``F.cross_entropy`` and ``backward``) and
PyTorch. One thread, CPU clock, interleaved rounds, medians. Prints the ratios to PyTorch.
"""
from __future__ import annotations

import argparse
import os
import time
from typing import Callable

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ember  # noqa: E402
import ember.nn.functional as F  # noqa: E402

SIZES = (784, 128, 64, 10)


def _steps(batch: int) -> dict:
    rng = np.random.default_rng(0)
    weights = [((rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32),
                np.zeros(o, np.float32)) for i, o in zip(SIZES, SIZES[1:])]
    x = rng.standard_normal((batch, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], batch)

    def numpy_step() -> None:
        acts, h = [x], x
        for i, (w, b) in enumerate(weights):
            h = h @ w.T + b
            if i < len(weights) - 1:
                h = np.maximum(h, 0)
            acts.append(h)
        p = np.exp(h - h.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = p
        g[np.arange(batch), y] -= 1
        g /= batch
        for i in range(len(weights) - 1, -1, -1):
            w, _ = weights[i]
            g.T @ acts[i], g.sum(0)               # weight and bias gradients
            if i:
                g = (g @ w) * (acts[i] > 0)

    def framework_step(m: object, fn: object, data: Callable) -> Callable:
        params = [(data(w).requires_grad_(), data(b).requires_grad_()) for w, b in weights]
        tx, ty = data(x), data(y)

        def step() -> None:
            h = tx
            for i, (w, b) in enumerate(params):
                w.grad = b.grad = None
                h = fn.linear(h, w, b)
                if i < len(params) - 1:
                    h = fn.relu(h)
            fn.cross_entropy(h, ty).backward()
        return step

    return {"numpy": numpy_step,
            "ember": framework_step(ember, F, lambda a: ember.from_numpy(a.copy())),
            "torch": framework_step(torch, torch.nn.functional,
                                    lambda a: torch.from_numpy(a.copy()))}


def measure(batch: int, rounds: int) -> dict:
    """Median CPU seconds per step of each variant, interleaved over ``rounds``."""
    steps = _steps(batch)
    n = max(20, 60000 // batch)
    times: dict = {k: [] for k in steps}
    for f in steps.values():
        for _ in range(10):
            f()
    for _ in range(rounds):
        for k, f in steps.items():
            t = time.process_time()
            for _ in range(n):
                f()
            times[k].append((time.process_time() - t) / n)
    return {k: sorted(v)[len(v) // 2] for k, v in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.numpy_floor", description=__doc__)
    p.add_argument("--batches", default="64,512")
    p.add_argument("--rounds", type=int, default=9)
    args = p.parse_args()
    torch.set_num_threads(1)
    print("batch  numpy(us)  ember(us)  torch(us)  numpy/torch  ember/torch")
    for batch in (int(b) for b in args.batches.split(",")):
        m = measure(batch, args.rounds)
        print(f"{batch:5d}  {m['numpy'] * 1e6:9.1f}  {m['ember'] * 1e6:9.1f}  "
              f"{m['torch'] * 1e6:9.1f}  {m['numpy'] / m['torch']:11.2f}  "
              f"{m['ember'] / m['torch']:11.2f}")


if __name__ == "__main__":
    main()
