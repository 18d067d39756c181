"""Custom differentiable functions: ``ember.autograd.Function``, as in PyTorch.

Subclass :class:`Function`, write ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` as
static methods and call ``MyFn.apply(*args)``. The forward runs under ``no_grad``; its
outputs get one backward node whose backward calls yours. Because the engine runs
backward with grad recording on when ``create_graph=True``, a backward written with Ember
ops is differentiable again (second-order gradients).

>>> class Square(ember.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x
...     @staticmethod
...     def backward(ctx, g):
...         (x,) = ctx.saved_tensors
...         return 2 * x * g
>>> y = Square.apply(ember.tensor([3.0], requires_grad=True))
"""
from __future__ import annotations

import functools
import weakref
from typing import Any, Callable

from ember.autograd import anomaly
from ember.autograd.grad_mode import no_grad, state as grad_state
from ember.autograd.node import Node

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` passed to a custom function's forward and backward. Any attribute may
    be set on it to pass non-tensor values from forward to backward."""

    def __init__(self) -> None:
        self.needs_input_grad: tuple = ()
        self.materialize_grads = True
        self._saved: tuple | None = ()
        self._versions: tuple = ()
        self._non_diff: set = set()
        self._name = "Function"

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors (or None) for backward; read them back with ``saved_tensors``.
        Modifying one in place before backward makes ``saved_tensors`` raise."""
        from ember.tensor import Tensor
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save tensors (or None), but "
                                f"argument {i} is a {type(t).__name__}")
        self._saved = tensors
        self._versions = tuple(None if t is None else t._vc[0] for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``."""
        if self._saved is None:
            raise RuntimeError(
                f"Trying to backward through the graph a second time (or directly access "
                f"saved tensors after they have already been freed) in {self._name}. "
                f"Saved intermediate values of the graph are freed when you call .backward() "
                f"or autograd.grad(). Specify retain_graph=True if you need to backward "
                f"through the graph a second time or if you need to access saved tensors "
                f"after calling backward.")
        for i, (t, v) in enumerate(zip(self._saved, self._versions)):
            if t is not None and t._vc[0] != v:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{t.dtype.name} tensor of shape "
                    f"{list(t.shape)}], saved tensor {i} of {self._name}, is at version "
                    f"{t._vc[0]}; expected version {v} instead. Hint: clone() the tensor "
                    f"before modifying it in place.")
        return self._saved

    saved_variables = saved_tensors

    def mark_non_differentiable(self, *outputs: Any) -> None:
        """Declare outputs that never carry gradients (indices, masks); their incoming
        gradient in backward is zeros (or None without materialization)."""
        self._non_diff.update(id(t) for t in outputs)

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None (not zeros) for outputs with no gradient."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors: Any) -> None:
        raise NotImplementedError("ctx.mark_dirty (in-place custom functions) is not "
                                  "supported by ember.autograd.Function; return a new tensor")

    def _release(self) -> None:
        self._saved = None


class _FunctionOp:
    """Adapter between a :class:`Function` subclass and the engine, which calls
    ``node.op.backward(node, *grads)`` and reads ``node.op.grad_name``."""

    def __init__(self, cls: type):
        self.cls = cls
        self.name = cls.__name__
        self.grad_name = cls.__name__ + "Backward"

    def backward(self, node: Node, *grads: Any) -> tuple:
        ctx = node.fctx
        if ctx.materialize_grads:
            grads = tuple(_zeros(m) if g is None and m is not None else g
                          for g, m in zip(grads, node.out_meta))
        res = self.cls.backward(ctx, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        n = len(node.edges)
        if len(res) > n and all(r is None for r in res[n:]):
            res = res[:n]
        if len(res) != n:
            raise RuntimeError(f"function {self.grad_name} returned an incorrect number of "
                               f"gradients (expected {n}, got {len(res)})")
        return res

    def __repr__(self) -> str:
        return f"<custom function {self.name}>"


def _zeros(meta: tuple) -> Any:
    from ember.tensor import _make
    shape, npdtype, xp, _ = meta
    return _make(xp.zeros(shape, npdtype))


def _dead() -> None:
    return None


class Function:
    """Base class for custom autograd functions; see the module docstring.

    ``forward(ctx, *args, **kwargs)`` returns a tensor or a tuple; ``backward(ctx, *grads)``
    gets one gradient per forward output and returns one per forward positional argument
    (None for non-tensors and inputs that need no gradient). Alternatively write
    ``forward(*args)`` plus ``setup_context(ctx, inputs, output)``.
    """

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
        """Optional: fill ``ctx`` here instead of in ``forward(ctx, ...)``."""

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward "
                                  "mode AD.")

    @staticmethod
    def vjp(ctx: Any, *grads: Any) -> Any:
        raise NotImplementedError

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "vjp" in cls.__dict__ and "backward" not in cls.__dict__:
            cls.backward = cls.__dict__["vjp"]
        cls._op = _FunctionOp(cls)

    def __call__(self, *args: Any) -> Any:
        raise RuntimeError("Custom autograd.Function is called through its class: use "
                           f"{type(self).__name__}.apply(...)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` and, when an input requires grad, record the backward node."""
        from ember.tensor import Tensor
        if cls is Function:
            raise RuntimeError("apply() must be called on a subclass of Function")
        ctx = FunctionCtx()
        ctx._name = cls._op.grad_name
        rg = [isinstance(a, Tensor) and a._rg for a in args]
        ctx.needs_input_grad = tuple(rg)
        separate = cls.setup_context is not Function.setup_context
        with no_grad():
            out = cls.forward(*args, **kwargs) if separate else cls.forward(ctx, *args,
                                                                            **kwargs)
            if separate:
                cls.setup_context(ctx, args, out)
        if not (grad_state.enabled and any(rg)):
            return out
        return _record(cls._op, ctx, args, out)


def _record(op: _FunctionOp, ctx: FunctionCtx, args: tuple, out: Any) -> Any:
    from ember.backend import array_module
    from ember.backend.dtypes import from_numpy_dtype
    from ember.tensor import Tensor
    edges = tuple((a.grad_fn, a._nr, a if a.grad_fn is None else None, a._data.shape,
                   from_numpy_dtype(a._data.dtype))
                  if isinstance(a, Tensor) and a._rg else None for a in args)
    node = Node(op, (), {}, (), edges)
    node.fctx = ctx
    single = not isinstance(out, tuple)
    outs = [out] if single else list(out)
    ids = {id(a) for a in args if isinstance(a, Tensor)}
    metas, refs = [], []
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            metas.append(None)
            refs.append(_dead)
            continue
        non_diff = id(o) in ctx._non_diff
        if id(o) in ids:              # an input returned as is: give it its own identity
            o = outs[i] = o.detach()
        metas.append((o._data.shape, o._data.dtype, array_module(o._data), non_diff))
        refs.append(weakref.ref(o))
        if not non_diff and o._data.dtype.kind in "fV":
            o._rg, o.grad_fn, o._nr = True, node, i
    node.outs = tuple(refs)
    node.out_meta = tuple(metas)
    if anomaly._enabled:
        node.trace = anomaly.record_trace()
    return outs[0] if single else tuple(outs)


def once_differentiable(backward: Callable) -> Callable:
    """Decorate a custom backward that is not itself differentiable: it runs without
    recording, and double backward through it raises."""
    @functools.wraps(backward)
    def wrapper(ctx: Any, *grads: Any) -> Any:
        from ember.tensor import Tensor
        with no_grad():
            res = backward(ctx, *grads)
        tracked = [g for g in grads if isinstance(g, Tensor) and g._rg]
        if not (grad_state.enabled and tracked):
            return res
        single = not isinstance(res, tuple)
        res = tuple(_Unreachable.apply(r, tracked[0]) if isinstance(r, Tensor) else r
                    for r in ((res,) if single else res))
        return res[0] if single else res
    return wrapper


class _Unreachable(Function):
    """Marks gradients computed by a ``once_differentiable`` backward."""

    @staticmethod
    def forward(ctx: Any, r: Any, g: Any) -> Any:
        return r.detach()

    @staticmethod
    def backward(ctx: Any, gg: Any) -> Any:
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")
