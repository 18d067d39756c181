"""The op registry: every op is defined once, as an :class:`Op`, and applied here.

An op carries its forward math (written against the array module ``xp``), its backward
(a vector-Jacobian product written with Ember ops, so it is itself recorded when
``create_graph=True``), and its checks. :func:`apply` is the one dispatcher: it promotes
dtypes the PyTorch way, runs the forward, wraps the results as tensors and, when a
gradient is needed, records a :class:`~ember.autograd.node.Node`. A tracer (graph mode)
intercepts :func:`apply` through :data:`dispatch_hooks`; it never copies an op's math.

Defining an op::

    class Exp(Op):
        promote = "float"
        saves_output = True
        def forward(self, xp, x):
            return xp.exp(x)
        def backward(self, ctx, g):
            return g * ctx.out

    exp = register(Exp())
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np

from ember.autograd import anomaly
from ember.autograd.grad_mode import state as grad_state
from ember.autograd.node import Node
from ember.backend import array_module
from ember.backend.dtypes import (_BY_NP, DType, _combine, _default_float_ref, _PROMOTE,
                                  _scalar_dtype, from_numpy_dtype)
from ember.tensor import Tensor, _make

__all__ = ["Op", "register", "apply", "REGISTRY", "tensor_method", "operator_method",
           "dispatch_hooks", "dispatch_below"]

REGISTRY: dict[str, "Op"] = {}

#: functions called instead of eager dispatch when non-empty (graph-mode tracers)
dispatch_hooks: list[Callable] = []

_FLOAT = 2


class Op:
    """Base class of all ops; see the module docstring for how to define one.

    Class attributes an op may set:

    * ``name``: the public name (``"add"``); ``grad_name`` is derived (``AddBackward0``);
    * ``promote``: ``None`` (inputs pass as they are), ``"same"`` (tensor and scalar
      inputs from ``promote_from`` on are promoted to their PyTorch result type) or
      ``"float"`` (the same, then integer/bool results become the default float dtype);
    * ``view``: the first output is a view of input 0 (shares memory and version);
    * ``differentiable``: False for ops whose outputs never carry gradients;
    * ``hidden``: how many trailing forward outputs are kept for backward (``ctx.saved``)
      instead of being returned;
    * ``saves``: indices of inputs whose values backward reads (checked against in-place
      modification); ``saves_output``: whether backward reads ``ctx.out``;
    * ``dynamic_shape``: True (or a function of the attrs returning True) when an output's
      shape depends on the input *values* (``nonzero``, ``x[mask]``): a graph cannot fix
      it, so graph mode stops there.
    """

    name = ""
    promote: str | None = None
    promote_from = 0
    view = False
    differentiable = True
    hidden = 0
    saves: tuple | None = None      # None: all inputs
    saves_output = False
    dynamic_shape: Any = False

    def __init__(self) -> None:
        if not self.name:
            self.name = _snake(type(self).__name__)
        self.grad_name = "".join(p.capitalize() for p in self.name.split("_")) + "Backward0"
        self._has_check = type(self).check is not Op.check

    def forward(self, xp: Any, *arrays: Any, **attrs: Any) -> Any:
        raise NotImplementedError

    def backward(self, ctx: Node, *grads: Any) -> Any:
        raise RuntimeError(f"{self.name}: the derivative is not implemented")

    def check(self, *args: Any, **attrs: Any) -> None:
        """Validate inputs before the forward runs; raise a clear error if they are bad."""

    def __call__(self, *args: Any, **attrs: Any) -> Any:
        return apply(self, args, attrs)

    def __repr__(self) -> str:
        return f"<op {self.name}>"


def _snake(name: str) -> str:
    out = []
    for i, c in enumerate(name):
        if c.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(c.lower())
    return "".join(out)


def register(op: Op) -> Op:
    """Add ``op`` to the registry under its name and return it (callable)."""
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} is registered twice")
    REGISTRY[op.name] = op
    return op


def tensor_method(*names: str) -> Callable:
    """Decorator: also expose a function as ``Tensor.<name>`` for each name given."""
    def deco(fn: Callable) -> Callable:
        if isinstance(fn, Op):          # an Op instance is not a descriptor: bind it
            def bound(self: Tensor, *args: Any, **attrs: Any) -> Any:
                return apply(fn, (self,) + args, attrs)
            bound.__name__ = fn.name
        else:
            bound = fn
        for n in names or (bound.__name__,):
            setattr(Tensor, n, bound)
        return fn
    return deco


def operator_method(op: Op, reflected: bool = False) -> Callable:
    """A Python operator method applying ``op`` straight away (``Tensor.__add__``):
    ``op(self, other)``, or ``op(other, self)`` when ``reflected`` (``__radd__``)."""
    if reflected:
        def method(self: Tensor, other: Any) -> Any:
            return apply(op, (other, self), {})
    else:
        def method(self: Tensor, other: Any) -> Any:
            return apply(op, (self, other), {})
    method.__name__ = op.name
    return method


def _promoted_dtype(op: Op, args: tuple) -> DType:
    dim = zero = wrapped = None
    for a in args[op.promote_from:]:
        if a.__class__ is Tensor or isinstance(a, Tensor):
            d = from_numpy_dtype(a._data.dtype)
            if a._data.ndim:
                dim = d if dim is None else _PROMOTE[dim, d]
            else:
                zero = d if zero is None else _PROMOTE[zero, d]
        elif a is not None:
            sd = _scalar_dtype(a) if not isinstance(a, DType) else None
            if sd is not None:
                wrapped = sd if wrapped is None else _PROMOTE[wrapped, sd]
    dt = _combine(dim, _combine(zero, wrapped))
    if op.promote == "float" and dt.category != _FLOAT:
        dt = _default_float_ref[0]
    return dt


def _error(op: Op, args: tuple, e: Exception) -> Exception:
    if str(e).startswith(f"{op.name}:") and not isinstance(e, ValueError):
        return e                    # the op's own value check: already names the op
    shapes = ", ".join(str(tuple(a.shape)) if isinstance(a, Tensor) else repr(a)
                       for a in args)
    kind = RuntimeError if isinstance(e, (ValueError, FloatingPointError)) else type(e)
    return kind(f"{op.name}: invalid input(s) {shapes}: {e}")


def _promote_arrays(op: Op, args: tuple, arrays: list, xp: Any) -> Any:
    """Cast ``arrays`` (the data of ``args``) in place to the op's promoted dtype."""
    first = op.promote_from
    npd = None
    plain = True        # fast path: tensors of one dtype, Python floats / ints and None
    scalars = False
    for i in range(first, len(args)):
        a = args[i]
        if isinstance(a, Tensor):
            d = a._data.dtype
            if npd is None:
                npd = d
            elif d != npd:
                plain = False
                break
        elif a.__class__ is float or a.__class__ is int:
            scalars = True
        elif a is not None:
            plain = False
            break
    if plain and npd is not None:
        if not scalars:
            if op.promote == "same" or npd.kind in "fV":
                return
        elif npd.kind == "f":       # a float tensor's dtype wins over Python numbers
            for i in range(first, len(args)):
                a = args[i]
                if a.__class__ is float or a.__class__ is int:
                    arrays[i] = xp.asarray(a, dtype=npd)
            return
    npd = _promoted_dtype(op, args).np
    for i in range(first, len(args)):
        a = arrays[i]
        if isinstance(args[i], Tensor):
            if a.dtype != npd:
                arrays[i] = a.astype(npd)
        elif a is not None:
            arrays[i] = xp.asarray(a, dtype=npd)


def dispatch_below(op: Op, args: tuple, attrs: dict) -> Any:
    """Run ``op`` at the level under the innermost dispatch hook (which is calling this):
    the next hook down the stack, or eager dispatch. Hooks (tracer, vmap) compose this
    way: ``compile(vmap(f))`` traces the ops vmap's rules emit."""
    hook = dispatch_hooks.pop()
    try:
        return apply(op, args, attrs)
    finally:
        dispatch_hooks.append(hook)


def apply(op: Op, args: tuple, attrs: dict) -> Any:
    """Run ``op`` eagerly on ``args`` (tensors, scalars, None) and record it for autograd."""
    if dispatch_hooks:
        return dispatch_hooks[-1](op, args, attrs)
    if op._has_check:
        op.check(*args, **attrs)
    arrays = []
    rg = False
    xp = np
    dt = None
    same = True         # every input a tensor of one dtype: nothing to promote
    for a in args:
        if isinstance(a, Tensor):
            d = a._data
            arrays.append(d)
            if a._rg:
                rg = True
            if d.__class__ is not np.ndarray:
                xp = array_module(d)
            if dt is None:
                dt = d.dtype
            elif d.dtype is not dt:
                same = False
        else:
            arrays.append(a)
            same = False
    promote = op.promote
    if promote is not None and not (same and dt is not None and
                                    (promote == "same" or dt.kind in "fV")):
        _promote_arrays(op, args, arrays, xp)
    try:
        # a call with a fixed number of arguments is ~0.2 us faster than one with `*`/`**`
        if attrs:
            out = op.forward(xp, *arrays, **attrs)
        elif len(arrays) == 2:
            out = op.forward(xp, arrays[0], arrays[1])
        elif len(arrays) == 1:
            out = op.forward(xp, arrays[0])
        else:
            out = op.forward(xp, *arrays)
    except (ValueError, IndexError, TypeError, FloatingPointError) as e:
        raise _error(op, args, e) from None

    if out.__class__ is not tuple:
        if rg and op.differentiable and grad_state.enabled:
            return _record(op, args, arrays, attrs, out, (out,),
                           args[0] if op.view else None, xp, True)
        if out.__class__ is np.ndarray and not op.view:
            t = _new(Tensor)            # _make, inlined: this is the hottest path
            t._data = out
            t._rg = False
            t.grad = t.grad_fn = t._base = t._hooks = None
            t._nr = 0
            t._vc = [0, 0]
            return t
        return _wrap(out, args[0] if op.view else None)
    hidden = op.hidden
    visible = out[:len(out) - hidden] if hidden else out
    single = hidden and len(visible) == 1
    base = args[0] if op.view else None
    if not (rg and grad_state.enabled and op.differentiable):
        if single:
            return _wrap(visible[0], base)
        return tuple(_wrap(o, base) for o in visible)
    return _record(op, args, arrays, attrs, out, visible, base, xp, single)


def _record(op: Op, args: tuple, arrays: list, attrs: dict, out: Any, visible: tuple,
            base: Any, xp: Any, single: bool) -> Any:
    """Wrap the outputs and attach a backward node to them."""
    inputs, edges, versions = [], [], []
    saves = op.saves
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            saved = saves is None or i in saves
            # only inputs backward reads are kept, so activations can be freed early
            inputs.append(a if saved else None)
            if a._base is not None and a._gv != a._vc[1]:
                _stale_view(op, a)
            if a._rg:
                fn = a.grad_fn
                d = a._data
                edges.append((fn, a._nr, a if fn is None else None, d.shape, _BY_NP[d.dtype]))
            else:
                edges.append(None)
            if saved:
                versions.append((a, a._vc[0]))
        else:
            arr = arrays[i]
            inputs.append(None if arr is None or a is None else
                          _make(np.asarray(arr) if xp is np else arr))
            edges.append(None)
    hidden = op.hidden
    node = Node(op, tuple(inputs), attrs, out[len(out) - hidden:] if hidden else (),
                tuple(edges))
    node.versions = versions
    if anomaly._enabled:
        node.trace = anomaly.record_trace()
    if single:                      # the common case, without the lists below
        o = visible[0]
        t = _make(o) if base is None and o.__class__ is np.ndarray else _wrap(o, base)
        if o.dtype.kind in "fV":
            t._rg = True
            t.grad_fn = node
        node.outs = (_weak(t),)
        if op.saves_output:
            node.out_saved = ([t._data, t._vc, t._vc[0]],)
        return t
    res = []
    for i, o in enumerate(visible):
        t = _make(o) if base is None and o.__class__ is np.ndarray else _wrap(o, base)
        if o.dtype.kind in "fV":
            t._rg = True
            t.grad_fn = node
            t._nr = i
        res.append(t)
    node.outs = tuple(_weak(t) for t in res)
    node.out_meta = tuple((o.shape, o.dtype, xp) for o in visible)
    if op.saves_output:
        node.out_saved = tuple([r._data, r._vc, r._vc[0]] for r in res)
    return tuple(res)


def _stale_view(op: Op, a: Tensor) -> None:
    raise RuntimeError(
        f"{op.name}: an input is a view of a tensor whose history was changed by an in-place "
        f"operation after the view was taken (shape {list(a.shape)}); its gradient would "
        f"be wrong. Take the view again after the in-place operation, or clone() first.")


def _wrap(arr: Any, base: Any) -> Tensor:
    if arr.__class__ is not np.ndarray and (not hasattr(arr, "dtype") or
                                            arr.__class__.__module__ == "numpy"):
        arr = np.asarray(arr)      # NumPy scalar results become 0-d arrays
    t = _make(arr)
    if base is not None and arr.base is not None:
        t._vc = base._vc
        t._gv = base._vc[1]
        t._base = base if base._base is None else base._base
    return t


_weak = weakref.ref
_new = object.__new__
