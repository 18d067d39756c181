"""The fused elementwise kernel: one graph node that evaluates a small expression of
elementwise ops (a chain or a DAG) in one call, writing through ``out=`` buffers.

:class:`Fused` holds the expression as *steps*, each an application of a registry op to
node inputs (``("i", k)``), earlier steps (``("s", j)``), Python scalars or ``None``.
The last step is the result. Nothing is recomputed by hand where it could differ: a step
whose op's ``forward`` is one NumPy ufunc call (or a short fixed sequence of them) runs as
that same call with ``out=`` into a reused array, and only when the ufunc's own result
dtype is the step's dtype, so the bits are those of the unfused op; any other step calls
the op's own ``forward``. Broadcasting is per step, so intermediates keep their shapes.

The kernel is chosen per call signature (input shapes, which input ``out`` is, the array
module) and generated once as straight-line Python: a chain like ``relu(x * w + b)``
becomes three ufunc calls into the output array, with no temporary at all. Kernels are
shape-polymorphic, so one ``Fused`` serves every batch size of a ``dynamic=True`` graph,
and equal expressions share one instance (:func:`fused_op`).

Why NumPy ``out=``: measured in ``benchmarks/fused_kernels.py`` (see
``docs/compile_kernels.md``): numexpr was 2-4x slower than NumPy on these shapes; numba
loops were 4-11x faster per call but cost 0.1-0.2 s of compiling per generated kernel
(0.65 s for the first), which would break the compile-time target for graphs with tens
of fused nodes. numba runs the fixed-code optimizer updates instead
(``ember/optim/_kernels.py``, cached on disk).
"""
from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from ember.ops.registry import Op

__all__ = ["Fused", "fused_op"]

# op name -> the NumPy ufunc its forward is exactly (same arguments, same order)
_UFUNC = {
    "add": "add", "sub": "subtract", "mul": "multiply", "div": "true_divide",
    "neg": "negative", "eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal",
    "gt": "greater", "ge": "greater_equal", "bitwise_and": "bitwise_and",
    "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor", "bitwise_not": "invert",
    "bitwise_left_shift": "left_shift", "bitwise_right_shift": "right_shift",
    "exp": "exp", "exp2": "exp2", "expm1": "expm1", "log": "log", "log2": "log2",
    "log10": "log10", "log1p": "log1p", "sqrt": "sqrt", "reciprocal": "reciprocal",
    "sin": "sin", "cos": "cos", "tan": "tan", "asin": "arcsin", "acos": "arccos",
    "atan": "arctan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "asinh": "arcsinh",
    "acosh": "arccosh", "atanh": "arctanh", "abs": "absolute", "maximum": "maximum",
    "minimum": "minimum", "fmax": "fmax", "fmin": "fmin", "atan2": "arctan2",
    "hypot": "hypot", "logaddexp": "logaddexp", "logaddexp2": "logaddexp2",
}
# ufuncs the op applies only to floating inputs (integers take another path in forward)
_FLOAT_ONLY = {"floor": "floor", "ceil": "ceil", "trunc": "trunc", "isnan": "isnan",
               "isinf": "isinf", "isfinite": "isfinite"}
_LOGICAL = {"logical_and", "logical_or", "logical_xor", "logical_not"}


class _Emit:
    """Collects a kernel's source lines and the objects they name."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp
        self.env: dict[str, Any] = {}
        self.lines: list[str] = []

    def fn(self, name: str) -> str:
        """The local name of ``xp.<name>``."""
        key = f"u_{name}"
        self.env[key] = getattr(self.xp, name)
        return key

    def const(self, value: Any) -> str:
        key = f"k{len(self.env)}"
        self.env[key] = value
        return key


def _natural(ufunc: str, dtypes: Sequence) -> np.dtype | None:
    """The dtype ``np.<ufunc>(*args)`` returns for arguments of ``dtypes`` (dtypes, or
    Python scalar types), or None when NumPy cannot say."""
    try:
        return np.dtype(getattr(np, ufunc).resolve_dtypes(tuple(dtypes) + (None,))[-1])
    except (TypeError, ValueError, AttributeError):
        return None


def _kernel(op: Any, attrs: dict, dts: list, dtype: np.dtype) -> tuple | None:
    """How to run one step with ``out=``: ``(emit(e, args, dst) -> None, alias_ok)``,
    where ``alias_ok`` are the argument positions that may share ``dst``'s memory; or
    None when the step must call the op's own forward."""
    name = op.name
    arrays = [d for d in dts if d is not None]

    def ufunc(u: str) -> tuple | None:
        if _natural(u, arrays) != dtype:
            return None
        return (lambda e, a, d: e.lines.append(f"{e.fn(u)}({', '.join(a)}, out={d})"),
                tuple(range(len(dts))))

    if name in _UFUNC and None not in dts:
        if name in ("add", "sub") and attrs.get("alpha", 1) != 1:
            return None
        return ufunc(_UFUNC[name]) if not attrs or name in ("add", "sub") else None
    if name in _FLOAT_ONLY and dts[0] is not None and getattr(dts[0], "kind", "") == "f":
        return ufunc(_FLOAT_ONLY[name])
    if name in _LOGICAL and all(getattr(d, "kind", "") == "b" for d in dts):
        return ufunc(name)
    if name == "round" and attrs.get("decimals", 0) == 0 and dts[0] == dtype and \
            dtype.kind == "f":
        return (lambda e, a, d: e.lines.append(f"{e.fn('round')}({a[0]}, 0, out={d})"), (0,))
    if name == "cast" and isinstance(dts[0], np.dtype):
        return (lambda e, a, d: e.lines.append(
            f"{e.fn('copyto')}({d}, {a[0]}, casting='unsafe')"), (0,))
    if name == "where" and getattr(dts[0], "kind", "") == "b" and dts[1] == dtype and \
            dts[2] == dtype:
        return (lambda e, a, d: e.lines.extend([
            f"{e.fn('copyto')}({d}, {a[2]})",
            f"{e.fn('copyto')}({d}, {a[1]}, where={a[0]})"]), (2,))
    if not all(isinstance(d, np.dtype) and d == dtype for d in arrays):
        return None                          # the rest compute in the input dtype
    try:
        return _same_dtype_kernel(name, attrs, dts, dtype)
    except (OverflowError, ValueError):      # a bound the dtype cannot hold: the op decides
        return None


def _same_dtype_kernel(name: str, attrs: dict, dts: list, dtype: np.dtype) -> tuple | None:
    """:func:`_kernel` for ops whose inputs all have the result's dtype."""
    if name in ("relu", "threshold") and attrs["threshold"] == attrs["value"]:
        t = dtype.type(attrs["threshold"])
        return (lambda e, a, d: e.lines.append(
            f"{e.fn('maximum')}({a[0]}, {e.const(t)}, out={d})"), (0,))
    if name == "hardtanh":
        lo, hi = dtype.type(attrs["min_val"]), dtype.type(attrs["max_val"])
        return (lambda e, a, d: e.lines.extend([
            f"{e.fn('maximum')}({a[0]}, {e.const(lo)}, out={d})",
            f"{e.fn('minimum')}({d}, {e.const(hi)}, out={d})"]), (0,))
    if name == "clamp" and (dts[1] is not None or dts[2] is not None):
        def clamp(e: _Emit, a: list, d: str) -> None:
            src = a[0]
            if dts[1] is not None:
                e.lines.append(f"{e.fn('maximum')}({src}, {a[1]}, out={d})")
                src = d
            if dts[2] is not None:
                e.lines.append(f"{e.fn('minimum')}({src}, {a[2]}, out={d})")
        return clamp, (0, 1) if dts[1] is not None and dts[2] is not None else (0, 1, 2)
    if name in ("sigmoid", "silu", "rsqrt") and dtype.kind in "fV":
        def emit(e: _Emit, a: list, d: str) -> None:
            if name == "rsqrt":
                e.lines.append(f"{e.fn('sqrt')}({a[0]}, out={d})")
            else:       # 1 / (1 + exp(-x)), as the op computes it
                e.lines += [f"{e.fn('negative')}({a[0]}, out={d})",
                            f"{e.fn('exp')}({d}, out={d})",
                            f"{e.fn('add')}(1, {d}, out={d})"]
            e.lines.append(f"{e.fn('true_divide')}(1, {d}, out={d})")
            if name == "silu":
                e.lines.append(f"{e.fn('multiply')}({a[0]}, {d}, out={d})")
        return emit, () if name == "silu" else (0,)
    return None


class _Plan:
    """Register allocation for one call signature: which array each step writes."""

    def __init__(self, fused: "Fused", shapes: list, dts: list, alias: tuple | None,
                 xp: Any) -> None:
        steps, n = fused.steps, len(fused.steps)
        shape_of = {("i", k): s for k, s in enumerate(shapes)}
        dtype_of = {("i", k): d for k, d in enumerate(dts)}
        for j, (op, args, _) in enumerate(steps):
            try:
                shape_of["s", j] = np.broadcast_shapes(*(_shape(a, shape_of) for a in args
                                                         if a is not None))
            except ValueError:
                raise RuntimeError(f"fused: inputs of shapes {shapes} do not broadcast in "
                                   f"step {j} ({op.name})") from None
            dtype_of["s", j] = fused.dtypes[j]
        self.shape = shape_of["s", n - 1]
        self.dtype = fused.dtypes[-1]
        last: dict = {}
        for j, (_, args, _) in enumerate(steps):
            for a in args:
                if isinstance(a, tuple):
                    last[a] = j
        e = _Emit(xp)
        names = {("i", k): f"a{k}" for k in range(len(shapes))}
        # slot -> [shape, dtype, values it holds]; slot "out" starts holding the inputs
        # that are the output buffer itself (in-place execution)
        slots: dict[str, list] = {"out": [self.shape, self.dtype,
                                          [("i", k) for k, hit in enumerate(alias or ())
                                           if hit]]}
        self.temps: list[tuple] = []     # (shape, dtype) of the scratch arrays
        uses_out = False
        kerns = [_kernel(op, attrs, [None if a is None else dtype_of[a] if isinstance(a, tuple)
                                     else type(a) for a in args], fused.dtypes[j])
                 for j, (op, args, attrs) in enumerate(steps)]
        # values the last step reads where its output may not be: keep them out of "out"
        final_reads = {a for p, a in enumerate(steps[-1][1]) if isinstance(a, tuple) and
                       kerns[-1] is not None and p not in kerns[-1][1]}
        for j, (op, args, attrs) in enumerate(steps):
            kern = kerns[j]
            argnames = [_arg(a, names, e) for a in args]
            final = j == n - 1
            if kern is None:
                call = f"F{j}"
                e.env[call] = op.forward
                kw = f", **A{j}" if attrs else ""
                e.env[f"A{j}"] = attrs
                line = f"{call}(xp, {', '.join(argnames)}{kw})"
                if final and alias is not None:
                    e.lines.append(f"{e.fn('copyto')}(out, {line})")
                    uses_out = True
                else:
                    e.lines.append(f"s{j} = {line}")
                    names["s", j] = f"s{j}"
            else:
                emit, alias_ok = kern
                ok = {a for p, a in enumerate(args) if p in alias_ok and isinstance(a, tuple)}
                bad = {a for p, a in enumerate(args) if p not in alias_ok and
                       isinstance(a, tuple)}
                want = (shape_of["s", j], fused.dtypes[j])
                dst = None
                for s, (shp, dt, held) in slots.items():
                    if (shp, dt) == want and (s != "out" or final or ("s", j) not in final_reads)\
                            and all(last.get(v, -1) < j or (last[v] == j and v in ok and
                                                             v not in bad) for v in held):
                        dst = s
                        break
                if final and dst != "out":
                    dst = None                  # out is still read here: via a temporary
                if dst is None:
                    dst = f"t{len(self.temps)}"
                    self.temps.append(want)
                    slots[dst] = [want[0], want[1], []]
                uses_out |= dst == "out"
                slots[dst][2] = [("s", j)]
                names["s", j] = dst
                emit(e, argnames, dst)
                if final and dst != "out":
                    e.lines.append(f"{e.fn('copyto')}(out, {dst})")
                    uses_out = True
                    names["s", j] = "out"
        result = names.get(("s", n - 1), "out")
        params = ", ".join([f"a{k}" for k in range(len(shapes))] +
                           [f"t{k}" for k in range(len(self.temps))])
        head = [f"def kernel(xp, out, {params}):" if alias is not None else
                f"def kernel(xp, {params}):"]
        if alias is None and uses_out:
            head.append(f"    out = {e.fn('empty')}({self.shape!r}, {e.const(self.dtype)})")
        body = ["    " + ln for ln in e.lines]
        src = "\n".join(head + body + [f"    return {'out' if alias is not None else result}"])
        ns: dict[str, Any] = {}
        exec(compile(src + "\n", "<ember fused kernel>", "exec"), e.env, ns)
        self.source = src
        self.run: Callable = ns["kernel"] if not self.temps else _with_scratch(
            ns["kernel"], self.temps, xp)


def _with_scratch(kernel: Callable, temps: list, xp: Any) -> Callable:
    """``kernel`` given its scratch arrays: allocated once per thread (a call signature
    keeps them, so a large intermediate is not paged in anew on every call)."""
    local = threading.local()

    def run(*args: Any) -> Any:
        scratch = getattr(local, "arrays", None)
        if scratch is None:
            scratch = local.arrays = [xp.empty(s, d) for s, d in temps]
        return kernel(*args, *scratch)
    return run


def _shape(a: Any, shape_of: dict) -> tuple:
    return shape_of[a] if isinstance(a, tuple) else np.shape(a)


def _arg(a: Any, names: dict, e: _Emit) -> str:
    if isinstance(a, tuple):
        return names[a]
    if a is None or isinstance(a, (bool, int)):
        return repr(a)
    return e.const(a)               # floats too: repr(inf) is not Python


class Fused(Op):
    """An elementwise expression evaluated as one op; see the module docstring.

    ``steps`` are ``(op, args, attrs)`` with args ``("i", k)`` (node input ``k``),
    ``("s", j)`` (step ``j``'s result), ``None`` or a Python scalar; ``dtypes`` the dtype
    of each step's result. ``forward(xp, *arrays)`` returns a new array;
    ``forward_out(xp, out, *arrays)`` writes into ``out``, which may be one of ``arrays``
    (the same object) but must not otherwise overlap them.

    >>> from ember.ops.registry import REGISTRY
    >>> f = fused_op([(REGISTRY["mul"], (("i", 0), ("i", 1)), {}),
    ...               (REGISTRY["relu"], (("s", 0),), {"threshold": 0, "value": 0})],
    ...              [np.float32, np.float32])
    >>> f.forward(np, np.float32([-1, 2]), np.float32(3)).tolist()
    [0.0, 6.0]
    """

    name = "fused"      # each instance: "fused[<expression>]"
    differentiable = False
    #: ``forward_out`` may be given one of its inputs as ``out`` (memory planning)
    inplace_ok = True

    def __init__(self, steps: Sequence[tuple], dtypes: Sequence[Any]) -> None:
        super().__init__()
        if not steps or len(steps) != len(dtypes):
            raise ValueError(f"Fused: expected one dtype per step, got {len(steps)} steps "
                             f"and {len(dtypes)} dtypes")
        self.steps = [(op, tuple(args), dict(attrs)) for op, args, attrs in steps]
        self.dtypes = [np.dtype(d) for d in dtypes]
        self.name = f"fused[{self.describe(attrs=False)}]"     # graphs print the expression
        self.n_inputs = 1 + max((a[1] for _, args, _ in self.steps for a in args
                                 if isinstance(a, tuple) and a[0] == "i"), default=-1)
        self._plans: dict = {}

    def _plan(self, xp: Any, arrays: tuple, out: Any = None) -> Callable:
        alias = None if out is None else tuple([a is out for a in arrays])
        key = (xp, alias, *[(a.shape, a.dtype) for a in arrays])
        run = self._plans.get(key)
        if run is None:
            if len(arrays) != self.n_inputs:
                raise TypeError(f"fused: expected {self.n_inputs} inputs, got {len(arrays)}")
            plan = _Plan(self, [a.shape for a in arrays], [a.dtype for a in arrays], alias, xp)
            if out is not None and (out.shape, out.dtype) != (plan.shape, plan.dtype):
                raise ValueError(f"fused: out has shape {out.shape} and dtype {out.dtype}, "
                                 f"the result has shape {plan.shape} and dtype {plan.dtype}")
            run = self._plans[key] = plan.run
        return run

    def forward(self, xp: Any, *arrays: Any) -> Any:
        return self._plan(xp, arrays)(xp, *arrays)

    def forward_out(self, xp: Any, out: Any, *arrays: Any) -> Any:
        """Write the result into ``out`` (of the result's shape and dtype) and return it."""
        return self._plan(xp, arrays, out)(xp, out, *arrays)

    def specialize(self, xp: Any, shapes: Sequence[tuple], dtypes: Sequence[Any],
                   alias: Sequence[bool] | None = None) -> "Fused":
        """A copy of this op whose ``forward`` (and, given ``alias``, ``forward_out``)
        is the kernel for inputs of exactly these shapes and dtypes, with no per-call
        dispatch; ``alias[k]`` says input ``k`` will be the ``out`` buffer itself. For
        graphs whose shapes never change (memory planning specializes them)."""
        op = Fused(self.steps, self.dtypes)
        shapes, dts = [tuple(s) for s in shapes], [np.dtype(d) for d in dtypes]
        op.forward = _Plan(self, shapes, dts, None, xp).run
        if alias is not None:
            op.forward_out = _Plan(self, shapes, dts, tuple(alias), xp).run
        return op

    def plan_source(self, xp: Any, *arrays: Any, out: Any = None) -> str:
        """The generated kernel for these arguments (for debugging and tests)."""
        alias = None if out is None else tuple(a is out for a in arrays)
        return _Plan(self, [a.shape for a in arrays], [a.dtype for a in arrays], alias,
                     xp).source

    def describe(self, attrs: bool = True) -> str:
        """The expression, e.g. ``relu(add(mul(a0, a1), a2))`` (``a<k>``: input ``k``)."""
        text: list[str] = []
        for op, args, kw in self.steps:
            parts = [text[a[1]] if isinstance(a, tuple) and a[0] == "s" else
                     f"a{a[1]}" if isinstance(a, tuple) else repr(a) for a in args]
            if attrs:
                parts += [f"{k}={v!r}" for k, v in kw.items()]
            text.append(f"{op.name}({', '.join(parts)})")
        return text[-1]

    def __repr__(self) -> str:
        return f"<op {self.name}>"


_INTERNED: "weakref.WeakValueDictionary[Any, Fused]" = weakref.WeakValueDictionary()


def fused_op(steps: Sequence[tuple], dtypes: Sequence[Any]) -> Fused:
    """A :class:`Fused` for ``steps``, shared with any earlier equal expression (so that
    graphs traced at two batch sizes hold the very same op and can be generalized)."""
    try:
        key = tuple((id(op), tuple((type(a), a) if not isinstance(a, tuple) else a
                                   for a in args),
                     tuple(sorted(attrs.items()))) for op, args, attrs in steps)
        key += tuple(np.dtype(d).str + np.dtype(d).name for d in dtypes)
        hash(key)
    except TypeError:                # unhashable attributes: no sharing
        return Fused(steps, dtypes)
    op = _INTERNED.get(key)
    if op is None:
        op = _INTERNED[key] = Fused(steps, dtypes)
    return op
