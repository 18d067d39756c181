"""Tensor creation: from data (``tensor``, ``as_tensor``, ``from_numpy``, ``from_dlpack``),
filled (``zeros``, ``ones``, ``full``, ``empty``, ``eye``, ranges) and random (``rand``,
``randn``, ``randint``, ``normal``, ``randperm``), plus the ``*_like`` variants."""
from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from ember import random as _random
from ember.backend import Device, device as _device, module_for, transfer
from ember.backend.dtypes import (DType, bool_, from_numpy_dtype, get_default_dtype, int64,
                                  promote_types, to_dtype)
from ember.ops.inplace import inplace_method
from ember.ops.registry import Op, register, tensor_method
from ember.tensor import Size, Tensor, _make, _read, trace_observers

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "from_dlpack", "zeros", "ones",
           "full", "empty", "eye", "arange", "linspace", "logspace", "zeros_like",
           "ones_like", "full_like", "empty_like", "rand", "randn", "randint", "normal",
           "randperm", "rand_like", "randn_like", "randint_like", "scalar_tensor", "clone"]


def _scalar_dtype(v: Any) -> DType:
    """The dtype PyTorch gives a Python (or NumPy) scalar: bool, int64 or default float."""
    if isinstance(v, (bool, np.bool_)):
        return bool_
    if isinstance(v, numbers.Integral):
        return int64
    if isinstance(v, numbers.Real):
        return get_default_dtype()
    raise TypeError(f"can't create a tensor from {type(v).__name__} {v!r} (expected "
                    f"numbers, booleans, arrays or tensors)")


_PY_SCALAR_DTYPE = {bool: lambda: bool_, int: lambda: int64, float: get_default_dtype}


def _infer_dtype(data: Any, nested: bool = False) -> DType | None:
    """PyTorch's dtype for nested data: Python scalars give bool/int64/default float,
    NumPy scalars and arrays and tensors keep their dtype, and a sequence promotes over
    its items. None for an empty sequence."""
    if isinstance(data, Tensor):
        if nested and data._data.size != 1:
            raise ValueError(f"tensor(): only one element tensors can be converted to Python "
                             f"scalars (got a tensor of shape {tuple(data.shape)} inside a "
                             f"list)")
        return data.dtype
    if isinstance(data, (np.ndarray, np.generic)):
        return from_numpy_dtype(data.dtype)
    if isinstance(data, (list, tuple)):
        types = set(map(type, data))
        if types and types <= _PY_SCALAR_DTYPE.keys():     # fast path: plain numbers
            kind = float if float in types else int if int in types else bool
            return _PY_SCALAR_DTYPE[kind]()
        dt = None
        for v in data:
            d = _infer_dtype(v, True)
            if d is not None:
                dt = d if dt is None else promote_types(dt, d)
        return dt
    return _scalar_dtype(data)


def _nested_to_array(data: Any, npd: np.dtype) -> np.ndarray:
    if isinstance(data, Tensor):
        _read(data, "ember.tensor() copying a tensor's values")
        return data._data
    if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in data):
        data = [_nested_to_array(v, npd) for v in data]
    try:
        with np.errstate(over="ignore"):       # 1e10 -> float16 is inf, as in PyTorch
            return np.asarray(data, dtype=npd)
    except ValueError as e:
        if "sequence" in str(e) or "inhomogeneous" in str(e):
            raise ValueError(f"tensor(): can't build a tensor from ragged or mixed data: "
                             f"{e}") from None
        raise RuntimeError(f"tensor(): value cannot be converted to {npd}: {e}") from None
    except OverflowError as e:
        raise RuntimeError(f"tensor(): value cannot be converted to {npd} without "
                           f"overflow: {e}") from None


def _finish(arr: Any, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    if device is not None:
        arr = transfer(arr, _device(device))
    t = _make(arr)
    if trace_observers:
        trace_observers[-1].created(t)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays, tensors).

    Python floats become the default dtype (float32), ints int64, bools bool; NumPy
    arrays keep their dtype.

    >>> ember.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    """
    if dtype is not None:
        dt = to_dtype(dtype)
    else:
        dt = _infer_dtype(data) or get_default_dtype()
    arr = np.array(_nested_to_array(data, dt.np), dtype=dt.np, copy=True)
    return _finish(arr, dtype, device, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like :func:`tensor`, but shares memory with a NumPy array or tensor when the dtype
    already matches."""
    if isinstance(data, Tensor):
        return data if dtype is None or to_dtype(dtype) == data.dtype else data.to(dtype)
    if isinstance(data, np.ndarray):
        arr = data if dtype is None else data.astype(to_dtype(dtype).np, copy=False)
        from_numpy_dtype(arr.dtype)
        return _finish(arr, None, device, False)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with the NumPy array ``arr`` (no copy)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(arr).__name__})")
    from_numpy_dtype(arr.dtype)
    t = _make(arr)
    if trace_observers:
        trace_observers[-1].created(t)
    return t


def from_dlpack(ext: Any) -> Tensor:
    """A tensor sharing memory with any DLPack producer (a torch tensor, a NumPy array)."""
    arr = np.from_dlpack(ext)
    from_numpy_dtype(arr.dtype)
    return _make(arr)


def _sizes(sizes: tuple, size: Any) -> tuple:
    """The shape from ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``."""
    if size is None:
        return sizes
    if sizes:
        raise TypeError("got the shape both positionally and as size=")
    return (size,)


def _size(size: Sequence, where: str) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = int(s)
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"{where}(): size must be a sequence of ints, got {s!r}")
        if s < 0:
            raise RuntimeError(f"{where}(): Trying to create tensor with negative dimension "
                               f"{s}: {list(size)}")
        out.append(int(s))
    return tuple(out)


def _dtype_or_default(dtype: Any) -> np.dtype:
    return (get_default_dtype() if dtype is None else to_dtype(dtype)).np


def _xp(device: Any) -> Any:
    return np if device is None else module_for(device)


def _filled(kind: str, size: Sequence, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    shape = _size(size, kind)
    xp = _xp(device)
    arr = getattr(xp, kind)(shape, dtype=_dtype_or_default(dtype))
    return _finish(arr, None, None, requires_grad)


def zeros(*sizes: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          out: Any = None, size: Any = None) -> Tensor:
    """A tensor of zeros: ``ember.zeros(2, 3)`` or ``ember.zeros((2, 3))``."""
    return _filled("zeros", _sizes(sizes, size), dtype, device, requires_grad)


def ones(*sizes: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         out: Any = None, size: Any = None) -> Tensor:
    """A tensor of ones."""
    return _filled("ones", _sizes(sizes, size), dtype, device, requires_grad)


def empty(*sizes: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          memory_format: Any = None, size: Any = None) -> Tensor:
    """An uninitialized tensor."""
    return _filled("empty", _sizes(sizes, size), dtype, device, requires_grad)


def full(size: Sequence, fill_value: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; the dtype follows the value (int -> int64)."""
    if not isinstance(size, (tuple, list, Size)):
        raise TypeError(f"full(): argument 'size' must be tuple of ints, not "
                        f"{type(size).__name__}")
    shape = _size((size,), "full")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dt = to_dtype(dtype) if dtype is not None else _scalar_dtype(fill_value)
    arr = _xp(device).full(shape, fill_value, dtype=dt.np)
    return _finish(arr, None, None, requires_grad)


def scalar_tensor(s: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
    return full((), s, dtype=dtype or get_default_dtype(), device=device,
                requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    """The ``n x m`` identity matrix."""
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"eye(): n and m must be non-negative, got n={n}, m={m}")
    arr = _xp(device).eye(n, n if m is None else m, dtype=_dtype_or_default(dtype))
    return _finish(arr, None, None, requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` up to (not including) ``end`` by ``step``.

    All-integer arguments give int64, otherwise the default float dtype; with an integer
    ``dtype`` the arguments are truncated to integers first, as in PyTorch.

    >>> ember.arange(0, 1, 0.25)     # tensor([0.0000, 0.2500, 0.5000, 0.7500])
    """
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    for v in vals:
        if not isinstance(v, numbers.Real):
            raise TypeError(f"arange(): start, end and step must be numbers, got {v!r}")
    if dtype is None:
        dt = int64 if all(isinstance(v, numbers.Integral) for v in vals) else \
            get_default_dtype()
    else:
        dt = to_dtype(dtype)
    if dt == int64:
        vals = [int(v) for v in vals]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange(): upper bound and lower bound inconsistent with step "
                           f"sign (start={start}, end={end}, step={step})")
    xp = _xp(device)
    n = max(int(math.ceil((end - start) / step)), 0)
    if dt.category == 2:
        arr = (start + step * xp.arange(n, dtype=np.float64)).astype(dt.np)
    else:   # like PyTorch: the length comes from the given values, the values from the
        # truncated start and step (int64 truncates all three first, above)
        arr = (int(start) + int(step) * xp.arange(n, dtype=np.int64)).astype(dt.np)
    return _finish(arr, None, None, requires_grad)


def _steps(start: Any, end: Any, steps: int, where: str) -> tuple:
    if not isinstance(steps, numbers.Integral):
        raise TypeError(f"{where}(): steps must be an int, got {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError(f"{where}(): number of steps must be non-negative, got {steps}")
    vals = [float(v.item()) if isinstance(v, Tensor) else float(v) for v in (start, end)]
    return vals[0], vals[1], int(steps)


def _linspace_array(xp: Any, start: float, end: float, steps: int, npd: np.dtype) -> Any:
    """PyTorch's symmetric linspace: the first half counts up from ``start``, the second
    half down from ``end`` (so both endpoints are exact). The endpoints and the step are
    rounded to the output type first (integers truncate) and each multiply-add is done in
    a wider type, as a fused one would be."""
    if npd.kind != "f":
        start, end = float(int(start)), float(int(end))
        ct = np.dtype(np.float64)
    else:
        ct = npd
    wide = np.longdouble if npd == np.float64 and xp is np else np.float64
    lo, hi = ct.type(start), ct.type(end)
    if steps == 1:
        return xp.full((1,), lo, dtype=wide)
    step = wide((hi - lo) / ct.type(steps - 1))
    lo, hi = wide(lo), wide(hi)
    idx = xp.arange(steps, dtype=wide)
    return xp.where(idx < steps // 2, lo + step * idx, hi - step * (steps - 1 - idx))


def linspace(start: Any, end: Any, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    >>> ember.linspace(0, 1, 5)      # tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    start, end, steps = _steps(start, end, steps, "linspace")
    npd = _dtype_or_default(dtype)
    arr = _linspace_array(_xp(device), start, end, steps, npd).astype(npd)
    return _finish(arr, None, None, requires_grad)


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    start, end, steps = _steps(start, end, steps, "logspace")
    npd = _dtype_or_default(dtype)
    xp = _xp(device)
    with np.errstate(over="ignore"):        # too large for float16 -> inf, as in PyTorch
        arr = (float(base) ** _linspace_array(xp, start, end, steps, np.dtype(np.float64)))
        arr = arr.astype(npd)
    return _finish(arr, None, None, requires_grad)


def _like(t: Tensor, dtype: Any) -> tuple:
    return t.shape, (t.dtype if dtype is None else to_dtype(dtype))


def zeros_like(input: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    shape, dt = _like(input, dtype)
    return zeros(shape, dtype=dt, device=device or input.device, requires_grad=requires_grad)


def ones_like(input: Tensor, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    shape, dt = _like(input, dtype)
    return ones(shape, dtype=dt, device=device or input.device, requires_grad=requires_grad)


def empty_like(input: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    shape, dt = _like(input, dtype)
    return empty(shape, dtype=dt, device=device or input.device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    shape, dt = _like(input, dtype)
    return full(shape, fill_value, dtype=dt, device=device or input.device,
                requires_grad=requires_grad)


# -- random -------------------------------------------------------------------------------

def _random_float(draw: Any, size: Sequence, dtype: Any, requires_grad: bool,
                  where: str) -> Tensor:
    shape = _size(size, where)
    dt = get_default_dtype() if dtype is None else to_dtype(dtype)
    if dt.category != 2:
        raise NotImplementedError(f"{where}(): not implemented for dtype {dt.name}; "
                                  f"expected a floating dtype")
    arr = np.asarray(draw(shape), dtype=np.float64).astype(dt.np)
    return _finish(arr, None, None, requires_grad)


def rand(*sizes: Any, generator: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, size: Any = None) -> Tensor:
    """Uniform samples on [0, 1)."""
    return _random_float(_random.get(generator).random, _sizes(sizes, size), dtype,
                         requires_grad, "rand")


def randn(*sizes: Any, generator: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False, size: Any = None) -> Tensor:
    """Standard normal samples."""
    return _random_float(_random.get(generator).standard_normal, _sizes(sizes, size), dtype,
                         requires_grad,
                         "randn")


def randint(*args: Any, generator: Any = None, dtype: Any = None, device: Any = None,
            requires_grad: bool = False, size: Any = None) -> Tensor:
    """Integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    args = list(args)
    if size is None:
        size = args.pop()
    low, high = (0, args[0]) if len(args) == 1 else tuple(args)
    if high <= low:
        raise RuntimeError(f"randint(): random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    shape = _size((size,), "randint")
    dt = int64 if dtype is None else to_dtype(dtype)
    arr = _random.get(generator).integers(low, high, size=shape).astype(dt.np)
    return _finish(arr, None, None, requires_grad)


def rand_like(input: Tensor, dtype: Any = None, generator: Any = None, **kw: Any) -> Tensor:
    return rand(input.shape, dtype=dtype or input.dtype, generator=generator)


def randn_like(input: Tensor, dtype: Any = None, generator: Any = None, **kw: Any) -> Tensor:
    return randn(input.shape, dtype=dtype or input.dtype, generator=generator)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, dtype: Any = None,
                 **kw: Any) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None,
           dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Normal samples; ``mean`` and ``std`` may be tensors (broadcast together)."""
    rng = _random.get(generator)
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if np.any(np.asarray(s) < 0):
        raise RuntimeError(f"normal expects std >= 0.0, but found std {np.min(s)}")
    if size is not None:
        shape = _size((size,), "normal")
    elif not (isinstance(mean, Tensor) or isinstance(std, Tensor)):
        raise TypeError("normal(): with a float mean and a float std, size is required")
    else:
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    dt = dtype
    if dt is None:
        for v in (mean, std):
            if isinstance(v, Tensor):
                dt = v.dtype
        dt = dt or get_default_dtype()
    arr = (np.asarray(m) + np.asarray(s) * rng.standard_normal(shape)).astype(to_dtype(dt).np)
    return _finish(arr, None, None, requires_grad)


def randperm(n: int, generator: Any = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0..n-1`` (int64)."""
    if n < 0:
        raise RuntimeError(f"randperm(): n must be non-negative, got {n}")
    arr = _random.get(generator).permutation(int(n)).astype(
        (int64 if dtype is None else to_dtype(dtype)).np)
    return _finish(arr, None, None, requires_grad)


class ToDevice(Op):
    """Moves a tensor between devices; the gradient moves back."""

    name = "to_device"
    saves = ()

    def forward(self, xp: Any, x: Any, *, device: Device) -> Any:
        return transfer(x, device)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return to_device(g, device=ctx.inputs[0].device)


to_device = register(ToDevice())


class Clone(Op):
    """A copy with its own memory, keeping the layout (``order='K'``) unless asked for a
    C-contiguous one; the gradient passes through."""

    saves = ()

    def forward(self, xp: Any, x: Any, *, order: str = "K") -> Any:
        return x.copy(order=order)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return g


_clone = register(Clone())


@tensor_method()
def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy of ``input`` that does not share memory; differentiable.

    >>> y = x.clone()      # y.add_(1) leaves x unchanged
    """
    return _clone(input)


@tensor_method()
def contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    """``self`` if it is C-contiguous, otherwise a C-contiguous copy (differentiable)."""
    return self if self.is_contiguous() else _clone(self, order="C")


def _new(self: Tensor, make: Any, size: tuple, dtype: Any, device: Any,
         requires_grad: bool, *args: Any) -> Tensor:
    return make(*((size,) + args), dtype=self.dtype if dtype is None else dtype,
                device=self.device if device is None else device, requires_grad=requires_grad)


@tensor_method()
def new_zeros(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, **kw: Any) -> Tensor:
    """Zeros with this tensor's dtype and device (unless given): ``x.new_zeros(2, 3)``."""
    return _new(self, zeros, _size(size, "new_zeros"), dtype, device, requires_grad)


@tensor_method()
def new_ones(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
             requires_grad: bool = False, **kw: Any) -> Tensor:
    """Ones with this tensor's dtype and device (unless given)."""
    return _new(self, ones, _size(size, "new_ones"), dtype, device, requires_grad)


@tensor_method()
def new_empty(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, **kw: Any) -> Tensor:
    """An uninitialized tensor with this tensor's dtype and device (unless given)."""
    return _new(self, empty, _size(size, "new_empty"), dtype, device, requires_grad)


@tensor_method()
def new_full(self: Tensor, size: Sequence, fill_value: Any, *, dtype: Any = None,
             device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    """``fill_value`` everywhere, with this tensor's dtype (not the value's) and device."""
    return _new(self, full, tuple(_size((size,), "new_full")), dtype, device, requires_grad,
                fill_value)


@tensor_method()
def new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, **kw: Any) -> Tensor:
    """A copy of ``data`` with this tensor's dtype and device (unless given)."""
    return _new(self, tensor, data, dtype, device, requires_grad)


def _floating_only(input: Tensor, op: str) -> None:
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(f"{op}: not implemented for {input.dtype} tensors "
                                  "(floating point only, as in PyTorch)")


def _uniform_like(input: Tensor, a: float = 0.0, b: float = 1.0, *,
                  generator: Any = None) -> Tensor:
    """Samples from U[a, b) shaped and typed like ``input``."""
    _floating_only(input, "uniform_")
    rng = _random.get(generator)
    return _make(rng.uniform(a, b, tuple(input.shape)).astype(input._data.dtype))


def _normal_like(input: Tensor, mean: float = 0.0, std: float = 1.0, *,
                 generator: Any = None) -> Tensor:
    """Samples from N(mean, std^2) shaped and typed like ``input``."""
    _floating_only(input, "normal_")
    if std < 0:
        raise RuntimeError(f"normal_ expects std >= 0.0, but found std {std}")
    rng = _random.get(generator)
    return _make((mean + std * rng.standard_normal(tuple(input.shape))).astype(
        input._data.dtype))


inplace_method(_uniform_like, "uniform_")
inplace_method(_normal_like, "normal_")
