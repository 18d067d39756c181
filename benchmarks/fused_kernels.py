"""Which kernel strategy should fused elementwise nodes use? Measured, not assumed.

``python -m benchmarks.fused_kernels [--rounds 7] [--json PATH]``

Two workloads, each traced into a graph with :func:`ember.compiler.tracer.trace`:
``relu(x * w + b)`` (``w``, ``b`` broadcast over rows) and an Adam-like update of
``m``, ``v``, ``p`` from ``g`` written back in place. For each size the same graph runs

* ``unfused``: one executor call per op (every op allocates its result);
* ``fused``: after the fusion pass (NumPy ufuncs with ``out=`` inside each fused node);
* ``fused+memory``: fusion, then memory planning (preallocated, reused outputs);
* ``numpy floor``: the same math hand-written as NumPy ufuncs with ``out=`` (no graph);
* ``numexpr``: the same math as precompiled numexpr expressions with ``out=``, when
  numexpr is installed;
* ``numba loop``: the same math as one hand-written numba loop (what a numba code
  generator for fused nodes could reach at best), when numba is installed.

Results must agree before anything is timed. Interleaved rounds, median per-call CPU time
in microseconds, one thread (numexpr is set to one thread too: at two threads it was
slower still on a 2-core machine).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
from typing import Any, Callable

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import ember  # noqa: E402
from ember.compiler.executor import build  # noqa: E402
from ember.compiler.passes import PassContext, fusion, memory  # noqa: E402
from ember.compiler.tracer import trace  # noqa: E402

try:
    import numexpr
    numexpr.set_num_threads(1)
except ImportError:         # optional: the fused op does not need it
    numexpr = None

try:
    import numba
except ImportError:         # optional (the ``fast`` extra)
    numba = None


def _numba_kernels() -> dict[str, Callable]:
    """One-loop numba versions of the two workloads (compiled once, on first use)."""
    if numba is None:
        return {}
    jit = numba.njit(nogil=True, error_model="numpy")

    @jit
    def relu_affine(x: Any, w: Any, b: Any, out: Any) -> None:
        zero = x[0, 0] * 0
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                y = x[i, j] * w[j] + b[j]
                out[i, j] = y if y > zero else zero

    @jit
    def adam(m: Any, v: Any, p: Any, g: Any, b1: Any, w1: Any, b2: Any, w2: Any, lr: Any,
             eps: Any) -> None:
        for i in range(p.shape[0]):
            mi = m[i] * b1 + g[i] * w1
            vi = v[i] * b2 + g[i] * g[i] * w2
            m[i] = mi
            v[i] = vi
            p[i] = p[i] - lr * mi / (np.sqrt(vi) + eps)
    return {"relu": relu_affine, "adam": adam}


NUMBA = _numba_kernels()

SIZES = ((64, 128), (512, 128), (4096, 128))
B1, B2, LR, EPS = 0.9, 0.999, 1e-3, 1e-8


def _variants(graph: Any) -> dict[str, Callable]:
    """The graph run unfused, fused, and fused with memory planning."""
    out = {"unfused": build(graph)}
    g = copy.copy(graph)
    g.nodes = list(graph.nodes)
    fusion.run(g, PassContext())
    out["fused"] = build(g)
    g2 = copy.copy(graph)
    g2.nodes = list(graph.nodes)
    fusion.run(g2, PassContext())
    memory.run(g2, PassContext())
    out["fused+memory"] = build(g2)
    return out


def relu_case(shape: tuple) -> tuple[dict, Callable]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    w, b = (rng.standard_normal(shape[1:]).astype(np.float32) for _ in range(2))
    graph = trace(lambda x, w, b: ember.relu(x * w + b),
                  tuple(ember.tensor(a) for a in (x, w, b)))
    runs = {k: (lambda r=r: r(x, w, b)[0][0]) for k, r in _variants(graph).items()}
    buf = np.empty(shape, np.float32)
    zero = np.float32(0)

    def floor() -> Any:
        np.multiply(x, w, out=buf)
        np.add(buf, b, out=buf)
        return np.maximum(buf, zero, out=buf)
    runs["numpy floor"] = floor
    if numexpr is not None:
        ex = numexpr.NumExpr("where(x * w + b > z, x * w + b, z)",
                             signature=[("x", float), ("w", float), ("b", float),
                                        ("z", float)])
        z = np.zeros((), np.float32)
        runs["numexpr"] = lambda: ex(x, w, b, z, out=buf, order="K", casting="safe",
                                     ex_uses_vml=False)
    if NUMBA:
        runs["numba loop"] = lambda: NUMBA["relu"](x, w, b, buf) or buf
    return runs, lambda r: np.array_equal(r(), runs["unfused"]())


def adam_case(shape: tuple) -> tuple[dict, Callable]:
    rng = np.random.default_rng(0)
    g = rng.standard_normal(shape).astype(np.float32)
    state = [ember.tensor(rng.standard_normal(shape).astype(np.float32)) for _ in range(2)]
    state[1] = state[1].abs()
    p = ember.tensor(rng.standard_normal(shape).astype(np.float32))
    m, v = state
    start = [t.numpy().copy() for t in (m, v, p)]

    def adam(g: Any) -> Any:
        m_new = m * B1 + g * (1 - B1)
        v_new = v * B2 + g * g * (1 - B2)
        p_new = p - LR * m_new / (v_new.sqrt() + EPS)
        m.copy_(m_new)
        v.copy_(v_new)
        p.copy_(p_new)
        return p

    graph = trace(adam, (ember.tensor(g),))
    for t, a in zip((m, v, p), start):
        t._data[...] = a
    runs = {k: (lambda r=r: r(g)) for k, r in _variants(graph).items()}
    f32 = np.float32
    c = [f32(B1), f32(1 - B1), f32(B2), f32(1 - B2), f32(LR), f32(EPS)]
    md, vd, pd = m._data, v._data, p._data
    t1, t2 = np.empty(shape, f32), np.empty(shape, f32)

    def floor() -> None:
        np.multiply(md, c[0], out=md)
        np.multiply(g, c[1], out=t1)
        np.add(md, t1, out=md)
        np.multiply(vd, c[2], out=vd)
        np.multiply(g, g, out=t1)
        np.multiply(t1, c[3], out=t1)
        np.add(vd, t1, out=vd)
        np.multiply(c[4], md, out=t1)
        np.sqrt(vd, out=t2)
        np.add(t2, c[5], out=t2)
        np.true_divide(t1, t2, out=t1)
        np.subtract(pd, t1, out=pd)
    runs["numpy floor"] = floor
    if numexpr is not None:
        sig = [(n, float) for n in ("a", "g", "c0", "c1")]
        lin = numexpr.NumExpr("a * c0 + g * c1", signature=sig)
        sq = numexpr.NumExpr("a * c0 + g * g * c1", signature=sig)
        upd = numexpr.NumExpr("p - lr * m / (sqrt(v) + eps)",
                              signature=[(n, float) for n in ("p", "m", "v", "lr", "eps")])
        z = [np.asarray(x) for x in c]
        kw = dict(order="K", casting="safe", ex_uses_vml=False)

        def ne_run() -> None:
            lin(md, g, z[0], z[1], out=md, **kw)
            sq(vd, g, z[2], z[3], out=vd, **kw)
            upd(pd, md, vd, z[4], z[5], out=pd, **kw)
        runs["numexpr"] = ne_run
    if NUMBA:
        flat = [a.reshape(-1) for a in (md, vd, pd, g)]
        runs["numba loop"] = lambda: NUMBA["adam"](*flat, *c)

    def agrees(run: Callable) -> bool:
        results = []
        for r in (runs["unfused"], run):
            for t, a in zip((m, v, p), start):
                t._data[...] = a
            r()
            results.append([t.numpy().copy() for t in (m, v, p)])
        return all(np.allclose(a, b, rtol=1e-6, atol=1e-7)
                   for a, b in zip(*results))
    return runs, agrees


def _time(fn: Callable, n: int) -> float:
    """CPU seconds per call: on a shared machine, time spent waiting for a core is left
    out (everything here runs on one thread)."""
    t0 = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t0) / n


def measure(runs: dict, rounds: int) -> dict[str, float]:
    """Median per-call seconds of each run, in interleaved rounds."""
    n = {}
    for k, r in runs.items():
        r()
        n[k] = max(1, int(0.02 / max(_time(r, 3), 1e-7)))
    times: dict[str, list] = {k: [] for k in runs}
    for _ in range(rounds):
        for k, r in runs.items():
            times[k].append(_time(r, n[k]))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    results = []
    print(f"{'case':22s} {'variant':20s} {'us/call':>9s} {'speed-up':>9s}")
    for name, case in (("relu(x*w+b)", relu_case), ("adam update", adam_case)):
        for shape in SIZES:
            runs, agrees = case(shape)
            for k, r in runs.items():
                if not agrees(r):
                    raise SystemExit(f"{name} {shape}: {k} disagrees with unfused")
            t = measure(runs, args.rounds)
            for k, sec in t.items():
                results.append({"case": name, "shape": list(shape), "variant": k,
                                "us": sec * 1e6, "speedup": t["unfused"] / sec})
                print(f"{name + ' ' + 'x'.join(map(str, shape)):22s} {k:20s} "
                      f"{sec * 1e6:9.1f} {t['unfused'] / sec:8.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"numpy": np.__version__,
                       "numexpr": getattr(numexpr, "__version__", None),
                       "numba": getattr(numba, "__version__", None),
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
