"""One-call check that ``ember.compile`` means what eager mode means, for one op call.

Write the call as ``fn(m, *xs)`` (``m`` is the ``ember`` module, as in
``tests/conformance.py``) and give NumPy inputs::

    compile_check(lambda m, x, y: m.add(x, y), a, b)

Three things are compared with eager Ember, each on a fresh ``ember.compile(...,
fullgraph=True)`` called three times (the 1st call runs eagerly, the 2nd traces, the 3rd
runs the graph; the first two get other input values, so a graph that baked in its trace
inputs fails):

* ``forward``: the outputs for inputs that do not require grad;
* ``grad``: a compiled function returning ``ember.autograd.grad((out * w).sum(), xs)``
  (a random ``w`` per output) against the same computed eagerly;
* ``joint``: a compiled function whose outputs require grad, then an eager backward through
  it (the path of ``ember.compile(model)`` followed by ``loss.backward()``).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

import ember
from ember.compiler import GraphBreak
from ember.compiler.passes import enabled_passes

#: compiled vs eager: the same ops on the same arrays, so only passes may reorder math
TOL = {"float64": (1e-10, 1e-12), "float32": (1e-5, 1e-6), "float16": (1e-3, 1e-3)}


def _flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _flat(o)]
    return [out]


def _warm(a: Any) -> Any:
    """Other values of the same signature for the calls that run before the graph:
    floats halved (keeps signs, order and ranges such as [0, 1]), integer and bool arrays
    (indices, masks) in reversed order (keeps their range), the rest unchanged."""
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return np.asarray(a * 0.5, dtype=a.dtype)
    if isinstance(a, np.ndarray) and a.dtype.kind in "biu" and a.size > 1:
        return np.ascontiguousarray(a.reshape(-1)[::-1].reshape(a.shape))
    return a


def _tensors(inputs: Sequence[Any], diff: Sequence[int] = ()) -> list:
    res = []
    for i, a in enumerate(inputs):
        if isinstance(a, np.ndarray):
            t = ember.from_numpy(a.copy())
            res.append(t.requires_grad_(True) if i in diff else t)
        else:
            res.append(a)
    return res


def assert_same(c: Any, e: Any, what: str, rtol: float | None = None,
                atol: float | None = None) -> None:
    """A compiled result equals an eager one: type, shape, dtype, values (exact for
    integer and bool tensors)."""
    if not isinstance(e, ember.Tensor):
        if isinstance(c, ember.Tensor) and c.ndim == 0:
            c = c.item()
        assert c == e or (e != e and c != c), f"{what}: compiled {c!r} != eager {e!r}"
        return
    assert isinstance(c, ember.Tensor), f"{what}: compiled gave {type(c).__name__}"
    assert tuple(c.shape) == tuple(e.shape), \
        f"{what}: compiled shape {tuple(c.shape)} != eager {tuple(e.shape)}"
    assert c.dtype == e.dtype, f"{what}: compiled dtype {c.dtype} != eager {e.dtype}"
    cn, en = c.detach().numpy(), e.detach().numpy()
    if en.dtype.kind in "fc":
        r, a = TOL.get(en.dtype.name, (1e-5, 1e-6))
        np.testing.assert_allclose(cn, en, rtol=r if rtol is None else rtol,
                                   atol=a if atol is None else atol, equal_nan=True,
                                   err_msg=what)
    else:
        np.testing.assert_array_equal(cn, en, err_msg=what)


def run_compiled(fn: Callable, make_args: Callable[[Sequence[Any]], list],
                 inputs: Sequence[Any], options: dict | None = None) -> tuple[Any, Any]:
    """Call ``ember.compile(fn, fullgraph=True)`` on warm-up values twice, then on
    ``inputs``, then on warm-up values again; returns ``(3rd result, the compiled
    function)`` after checking that the 3rd call ran one cached graph and that the 4th
    call left its result alone (no output shares a buffer the graph reuses)."""
    compiled = ember.compile(fn, fullgraph=True, options=options)
    warm = [_warm(a) for a in inputs]
    compiled(*make_args(warm))
    compiled(*make_args(warm))
    assert len(compiled.graphs) == 1, f"expected one graph, got {len(compiled.graphs)}"
    out = compiled(*make_args(inputs))
    assert len(compiled.graphs) == 1, "the 3rd call retraced"
    kept = [o.detach().numpy().copy() if isinstance(o, ember.Tensor) else o
            for o in _flat(out)]
    compiled(*make_args(warm))
    for k, (o, before) in enumerate(zip(_flat(out), kept)):
        if isinstance(o, ember.Tensor):
            np.testing.assert_array_equal(o.detach().numpy(), before, err_msg=(
                f"output {k} of the 3rd call changed when the graph ran again\n"
                f"{graphs_text(compiled)}"))
    return out, compiled


def graphs_text(compiled: Any) -> str:
    """The printed graphs of a compiled function (with the backward graph of a joint
    entry), for failure messages."""
    parts = []
    for entry in compiled._entries():
        if entry.__class__ is not str:
            parts.append(str(entry.graph))
            if getattr(entry, "backward_graph", None) is not None:
                parts.append(str(entry.backward_graph))
    return "\n".join(parts)


def _weights(outs: list, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(tuple(o.shape)).astype(o.detach().numpy().dtype)
            for o in outs]


def _weighted_sum(outs: list, ws: Sequence[Any]) -> Any:
    total = None
    for o, w in zip(outs, ws):
        term = (o * w).sum()
        total = term if total is None else total + term
    return total


def _differentiable(outs: list) -> list:
    return [o for o in outs if isinstance(o, ember.Tensor) and o.requires_grad]


def blame(check: Callable[[dict | None], None]) -> str:
    """Which graph passes a failing ``check(options)`` depends on: rerun it with every
    pass off, then with each pass off alone, and say what made it pass."""
    def passes(options: dict) -> bool:
        try:
            check(options)
        except Exception:                       # noqa: BLE001 - any failure counts
            return False
        return True
    if not passes({"all": False}):
        return "fails with every pass disabled: tracer, executor or joint (not a pass)"
    culprits = [p for p in enabled_passes() if passes({p: False})]
    if culprits:
        return f"passes with pass {' or '.join(map(repr, culprits))} disabled"
    return "passes with every pass disabled, but no single pass is to blame"


def with_blame(check: Callable[[dict | None], None], options: dict | None) -> None:
    """Run ``check(options)``; on failure with the default passes, add :func:`blame`."""
    try:
        check(options)
    except Exception as e:
        if options is not None or isinstance(e, GraphBreak):
            raise
        raise AssertionError(f"{type(e).__name__}: {e}\n[compile_check] {blame(check)}") \
            from e


MODES = ("forward", "grad", "joint")


def diff_positions(inputs: Sequence[Any], nondiff: Sequence[int] = ()) -> list[int]:
    """Positions of the inputs gradients are checked for: floating arrays not in
    ``nondiff``."""
    return [i for i, a in enumerate(inputs) if isinstance(a, np.ndarray) and
            a.dtype.kind == "f" and i not in nondiff]


def compile_check(fn: Callable, *inputs: Any, nondiff: Sequence[int] = (),
                  modes: Sequence[str] = MODES, rtol: float | None = None,
                  atol: float | None = None, options: dict | None = None,
                  seed: int = 0) -> None:
    """Check ``fn(ember, *inputs)`` compiled against eager in each of ``modes`` (see the
    module doc); gradients are taken w.r.t. :func:`diff_positions`. A failure under the
    default passes names the pass to blame (see :func:`blame`).

    >>> compile_check(lambda m, x: m.softmax(x, 1), np.ones((2, 3)), modes=("forward",))
    """
    unknown = set(modes) - set(MODES)
    if unknown:
        raise ValueError(f"compile_check: unknown modes {sorted(unknown)}; known {MODES}")
    diff = diff_positions(inputs, nondiff)
    for mode in modes:
        if mode != "forward" and not diff:
            continue
        with_blame(lambda opts, mode=mode: _CHECKS[mode](fn, inputs, diff, rtol, atol, opts,
                                                         seed), options)


def _call(fn: Callable) -> Callable:
    return lambda *xs: fn(ember, *xs)


def _check_forward(fn: Callable, inputs: Sequence[Any], diff: Sequence[int],
                   rtol: float | None, atol: float | None, options: dict | None,
                   seed: int) -> None:
    eager = _flat(fn(ember, *_tensors(inputs)))
    out, compiled = run_compiled(_call(fn), _tensors, inputs, options)
    out = _flat(out)
    assert len(out) == len(eager), f"compiled gave {len(out)} outputs, eager {len(eager)}"
    for k, (c, e) in enumerate(zip(out, eager)):
        assert_same(c, e, f"forward output {k}\n{graphs_text(compiled)}", rtol, atol)


def _eager_grads(fn: Callable, inputs: Sequence[Any], diff: Sequence[int],
                 seed: int) -> tuple[list, list, Any]:
    """Eager outputs (all), weights for the differentiable ones, and the input grads."""
    e_in = _tensors(inputs, diff)
    outs = _flat(fn(ember, *e_in))
    d_outs = _differentiable(outs)
    ws = [ember.from_numpy(w) for w in _weights(d_outs, seed)]
    grads = ember.autograd.grad(_weighted_sum(d_outs, ws), [e_in[i] for i in diff],
                                allow_unused=True) if d_outs else None
    return outs, ws, grads


def _check_grad(fn: Callable, inputs: Sequence[Any], diff: Sequence[int],
                rtol: float | None, atol: float | None, options: dict | None,
                seed: int) -> None:
    _, ws, e_grads = _eager_grads(fn, inputs, diff, seed)
    if e_grads is None:
        return
    n = len(inputs)

    def grads_of(*xs: Any) -> tuple:
        outs = _differentiable(_flat(fn(ember, *xs[:n])))
        return ember.autograd.grad(_weighted_sum(outs, xs[n:]), [xs[i] for i in diff],
                                   allow_unused=True)

    def grad_args(vals: Sequence[Any]) -> list:
        return _tensors(vals, diff) + [ember.from_numpy(w.numpy().copy()) for w in ws]

    c_grads, compiled = run_compiled(grads_of, grad_args, inputs, options)
    _compare_grads(c_grads, e_grads, diff, f"in-graph grad\n{graphs_text(compiled)}",
                   rtol, atol)


def _check_joint(fn: Callable, inputs: Sequence[Any], diff: Sequence[int],
                 rtol: float | None, atol: float | None, options: dict | None,
                 seed: int) -> None:
    e_outs, ws, e_grads = _eager_grads(fn, inputs, diff, seed)
    calls: list = []

    def joint_args(vals: Sequence[Any]) -> list:
        calls.append(_tensors(vals, diff))
        return calls[-1]
    out, compiled = run_compiled(_call(fn), joint_args, inputs, options)
    c_in = calls[2]
    out = _flat(out)
    text = graphs_text(compiled)
    assert len(out) == len(e_outs), f"joint: {len(out)} outputs, eager {len(e_outs)}"
    for k, (c, e) in enumerate(zip(out, e_outs)):
        assert_same(c, e, f"joint forward output {k}\n{text}", rtol, atol)
        if isinstance(e, ember.Tensor):
            assert c.requires_grad == e.requires_grad, \
                f"joint output {k}: requires_grad {c.requires_grad}, eager {e.requires_grad}"
    if e_grads is None:
        return
    _weighted_sum(_differentiable(out), ws).backward()
    _compare_grads([c_in[i].grad for i in diff], e_grads, diff, f"joint backward\n{text}",
                   rtol, atol)


_CHECKS = {"forward": _check_forward, "grad": _check_grad, "joint": _check_joint}


def _compare_grads(c_grads: Sequence[Any], e_grads: Sequence[Any], diff: Sequence[int],
                   what: str, rtol: float | None, atol: float | None) -> None:
    for i, c, e in zip(diff, c_grads, e_grads):
        if e is None:
            assert c is None or not np.any(c.numpy()), f"{what}: grad of input {i}"
            continue
        assert c is not None, f"{what}: compiled grad of input {i} is None, eager has one"
        assert_same(c, e, f"{what}: grad of input {i}", rtol, atol)
