"""Same-process A/B of Ember's numba kernels against the NumPy code they replace.

``python -m benchmarks.numba_ab [--rounds 9] [--only mlp,gelu]``

* ``mlp``: the MLP 784-128-64-10 Adam train step at batch 64 and 512, Ember eager and
  ``ember.compile``d, each with the numba update and with it switched off
  (``ember.backend.jit.disabled()``), and PyTorch eager;
* ``gelu``: exact ``F.gelu`` on (8, 128, 1536), forward and forward + backward.

Each variant is built once; rounds interleave the variants; CPU clock (one thread, set
before NumPy and PyTorch load); medians. Results go to stdout (docs/performance.md
quotes them).
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from typing import Any, Callable

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ember  # noqa: E402
import ember.nn.functional as F  # noqa: E402
from ember.backend import jit  # noqa: E402


def _numpy_path(fn: Callable) -> Callable:
    def run() -> Any:
        with jit.disabled():
            return fn()
    return run


def _mlp_step(m: Any, batch: int) -> Callable:
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    if m is torch:
        model, f = ref, torch.nn.functional
    else:
        model, f = ember.nn.Sequential(ember.nn.Linear(784, 128), ember.nn.ReLU(),
                                       ember.nn.Linear(128, 64), ember.nn.ReLU(),
                                       ember.nn.Linear(64, 10)), F
        with ember.no_grad():
            for pe, pt in zip(model.parameters(), ref.parameters()):
                pe.copy_(ember.tensor(pt.detach().numpy()))
    opt = m.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = m.tensor(rng.standard_normal((batch, 784)).astype(np.float32))
    y = m.tensor(rng.integers(0, 10, batch))

    def step() -> Any:
        opt.zero_grad()
        loss = f.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def mlp_variants(batch: int) -> dict[str, Callable]:
    eager, compiled = _mlp_step(ember, batch), ember.compile(_mlp_step(ember, batch))
    return {"torch": _mlp_step(torch, batch), "eager numpy": _numpy_path(eager),
            "eager numba": eager, "compiled numpy": _numpy_path(compiled),
            "compiled numba": compiled}


def gelu_variants() -> dict[str, Callable]:
    x = np.random.default_rng(0).standard_normal((8, 128, 1536)).astype(np.float32)
    e, t = ember.tensor(x), torch.tensor(x)
    er, tr = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)

    def fwd() -> Any:
        return F.gelu(e)

    def both() -> Any:
        return F.gelu(er).sum().backward()
    return {"torch fwd": lambda: torch.nn.functional.gelu(t), "ember fwd numpy":
            _numpy_path(fwd), "ember fwd numba": fwd,
            "torch fwd+bwd": lambda: torch.nn.functional.gelu(tr).sum().backward(),
            "ember fwd+bwd numpy": _numpy_path(both), "ember fwd+bwd numba": both}


def measure(variants: dict[str, Callable], rounds: int, calls: int) -> dict[str, float]:
    for fn in variants.values():
        for _ in range(4):      # warm-up: numba compiles, ember.compile traces
            fn()
    times: dict[str, list] = {k: [] for k in variants}
    for _ in range(rounds):
        for k, fn in variants.items():
            gc.collect()
            t0 = time.process_time()
            for _ in range(calls):
                fn()
            times[k].append((time.process_time() - t0) / calls)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--only", default="mlp,gelu")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if not jit.enabled():
        raise SystemExit("numba is not installed (pip install 'ember[fast]'): nothing to compare")
    cases = []
    if "mlp" in args.only:
        cases += [(f"mlp_adam_b{b}", mlp_variants(b), 100 if b == 64 else 30) for b in (64, 512)]
    if "gelu" in args.only:
        cases.append(("gelu_8x128x1536", gelu_variants(), 5))
    for name, variants, calls in cases:
        parts, base = [], 1.0
        for k, v in measure(variants, args.rounds, calls).items():
            base = v if k.startswith("torch") else base     # ratios to the PyTorch row above
            parts.append(f"{k} {v * 1e3:.3f} ms ({v / base:.2f}x)")
        print(f"{name}: {', '.join(parts)}")


if __name__ == "__main__":
    main()
