"""``ember.Tensor``: an array (NumPy now, CuPy later) plus what autograd needs.

A tensor holds ``data`` (the array), ``requires_grad``, ``grad``, ``grad_fn`` (the
:class:`~ember.autograd.node.Node` that produced it), and a version counter shared with
its views so that backward can tell when a saved value was modified in place. Math
methods and Python operators are attached by the op modules in ``ember.ops`` (each op is
defined once there); this file holds only what is about the tensor itself.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ember.backend import Device, array_module, device_of
from ember.backend.dtypes import DType, bool_, float32, from_numpy_dtype, get_default_dtype, \
    int64, to_dtype

__all__ = ["Tensor", "Size", "is_tensor"]

#: graph-mode tracers (``ember.compiler``) listening to what the traced code does outside
#: ops: reading a tensor's value into Python, creating, copying or overwriting tensors
trace_observers: list = []


#: ``ember.autograd.functional.backward``, once ``Tensor.backward`` has first run
_autograd: list = []


def _read(t: "Tensor", what: str) -> None:
    if trace_observers:
        trace_observers[-1].value_read(t, what)


class Size(tuple):
    """A tensor's shape: a tuple that prints as ``ember.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"ember.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i: Any) -> Any:
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r


def _make(data: Any, requires_grad: bool = False) -> "Tensor":
    """Wrap an array as a tensor without copying or checking (internal fast path)."""
    t = object.__new__(Tensor)
    t._data = data
    t._rg = requires_grad
    t.grad = None
    t.grad_fn = None
    t._nr = 0
    t._vc = [0, 0]
    t._base = None
    t._hooks = None
    return t


class Tensor:
    """A multi-dimensional array with autograd, mirroring ``torch.Tensor``.

    ``ember.Tensor([1, 2])`` makes a float tensor from data and ``ember.Tensor(2, 3)`` an
    uninitialized 2x3 float tensor, as in PyTorch; prefer :func:`ember.tensor`.
    """

    __slots__ = ("_data", "_rg", "grad", "grad_fn", "_nr", "_vc", "_base", "_gv", "_hooks",
                 "__weakref__", "__dict__")
    __array_priority__ = 1000

    def __init__(self, *args: Any) -> None:
        if args and all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            data = np.empty(args, dtype=get_default_dtype().np)
        elif len(args) == 1:
            data = np.asarray(_unwrap_nested(args[0]), dtype=get_default_dtype().np)
        elif not args:
            data = np.empty((0,), dtype=get_default_dtype().np)
        else:
            raise TypeError(f"Tensor(): expected sizes (ints) or one data argument, got {args!r}")
        self._data = data
        self._rg = False
        self.grad = None
        self.grad_fn = None
        self._nr = 0
        self._vc = [0, 0]         # [data version, history version]; shared by views
        self._base = None
        self._hooks = None

    # -- basic attributes ---------------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """This tensor's values as a new leaf that shares memory, outside autograd."""
        return self.detach()

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        if trace_observers:
            trace_observers[-1].written(self, value)
        self._data = value._data

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Any:
        """The shape, or the length of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_dim(dim, self._data.ndim, "size")]

    @property
    def dtype(self) -> DType:
        return from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> Device:
        return device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind in "fV"

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim: int | None = None) -> Any:
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_dim(dim, self._data.ndim, "stride")]

    def data_ptr(self) -> int:
        return int(self._data.__array_interface__["data"][0]) if isinstance(
            self._data, np.ndarray) else int(self._data._data.ptr)

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set whether autograd records operations on this leaf tensor (in place)."""
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want "
                    "to use a computed variable in a subgraph that doesn't require "
                    "differentiation use var_no_grad = var.detach().")
            return self
        if requires_grad and self._data.dtype.kind not in "fV":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients; "
                               f"got {self.dtype}")
        self._rg = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        return self._vc[0]

    @property
    def T(self) -> "Tensor":
        return self.permute(*range(self._data.ndim - 1, -1, -1))

    @property
    def mT(self) -> "Tensor":
        if self._data.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of "
                               f"matrices. Got {self._data.ndim}-D tensor.")
        return self.transpose(-2, -1)

    @property
    def H(self) -> "Tensor":
        return self.T

    @property
    def mH(self) -> "Tensor":
        return self.mT

    # -- conversion ---------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a NumPy array, sharing memory (``force`` detaches/copies first)."""
        _read(self, "numpy()")
        if self._rg and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if not isinstance(self._data, np.ndarray):
            return array_module(self._data).asnumpy(self._data)
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        _read(self, "conversion to a NumPy array")
        a = self._data if isinstance(self._data, np.ndarray) else self.numpy(force=True)
        if dtype is not None:
            a = a.astype(dtype, copy=False)
        return a.copy() if copy else a

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        if self._rg:
            raise RuntimeError("Can't export a tensor that requires grad through DLPack; "
                               "use tensor.detach()")
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> tuple:
        return self._data.__dlpack_device__()

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        _read(self, "item()")
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               f"to Scalar")
        return self._data.reshape(()).item() if self._data.dtype.kind != "V" else \
            float(self._data.reshape(()).astype(np.float32))

    def tolist(self) -> Any:
        """The data as nested Python lists of numbers."""
        _read(self, "tolist()")
        if self._data.dtype.kind == "V":
            return self._data.astype(np.float32).tolist()
        return self._data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __bool__(self) -> bool:
        _read(self, "bool() (an `if`/`while` on a tensor's value)")
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements is "
                               f"ambiguous")
        return bool(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    __hash__ = object.__hash__

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("ember tensors are not pickled; save them with ember.save "
                        "(safetensors)")

    def __deepcopy__(self, memo: dict) -> "Tensor":
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment")
        t = _make(self._data.copy(), self._rg)
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    # -- graph ----------------------------------------------------------------------------
    def detach(self) -> "Tensor":
        """A tensor sharing this one's data (and version counter) but cut from the graph."""
        t = _make(self._data)
        t._vc = self._vc          # shares memory: in-place changes count for both
        return t

    def detach_(self) -> "Tensor":
        if self._base is not None and self._base._rg:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._rg = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self.__dict__.get("_retains"):
            return
        import weakref
        ref = weakref.ref(self)

        def keep(g: "Tensor") -> None:
            t = ref()
            if t is not None:
                g = g.detach()
                t.grad = _make(g._data.copy()) if t.grad is None else t.grad + g
        self.__dict__["_retains"] = True
        self.grad_fn.add_output_hook(self._nr, keep, last=True)

    @property
    def retains_grad(self) -> bool:
        return bool(self.__dict__.get("_retains"))

    def register_hook(self, hook: Any) -> Any:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a
        replacement. Returns a handle with ``remove()``."""
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if self.grad_fn is not None:
            return self.grad_fn.add_output_hook(self._nr, hook)
        from ember.autograd.node import RemovableHandle
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return RemovableHandle(self._hooks, hook)

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad``; see ``autograd.backward``."""
        if not _autograd:           # imported on first use: autograd imports this module
            from ember.autograd import functional
            _autograd.append(functional.backward)
        _autograd[0](self, gradient, retain_graph, create_graph, inputs=inputs)

    # -- dtype / device moves --------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other)``; returns
        ``self`` when nothing changes (``copy=True`` forces a copy)."""
        copy = kwargs.pop("copy", False)
        dtype, dev = parse_to_args(args, kwargs)
        out = self
        if dev is not None:
            d = dev if isinstance(dev, Device) else Device(dev)
            if d != self.device:
                from ember.ops.creation import to_device
                out = to_device(out, device=d)
        if dtype is not None:
            dtype = to_dtype(dtype)
            if dtype.np != out._data.dtype:
                from ember.ops.elementwise import cast
                out = cast(out, dtype=dtype)
        if copy and out is self:
            out = self.clone()
        return out

    def type(self, dtype: Any = None) -> Any:
        """The legacy type name (``'ember.FloatTensor'``), or a cast when given a dtype or
        such a name."""
        if dtype is None:
            return f"ember.{_LEGACY_TYPE_NAMES[self.dtype.name]}"
        if isinstance(dtype, str) and dtype.split(".")[-1] in _LEGACY_DTYPES:
            dtype = _LEGACY_DTYPES[dtype.split(".")[-1]]
        return self.to(dtype)

    def float(self) -> "Tensor":
        return self.to(float32)

    def double(self) -> "Tensor":
        return self.to("float64")

    def half(self) -> "Tensor":
        return self.to("float16")

    def bfloat16(self) -> "Tensor":
        return self.to("bfloat16")

    def long(self) -> "Tensor":
        return self.to(int64)

    def int(self) -> "Tensor":
        return self.to("int32")

    def short(self) -> "Tensor":
        return self.to("int16")

    def char(self) -> "Tensor":
        return self.to("int8")

    def byte(self) -> "Tensor":
        return self.to("uint8")

    def bool(self) -> "Tensor":
        return self.to(bool_)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device: Any = None) -> "Tensor":
        return self.to("cuda" if device is None else f"cuda:{device}")

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    # -- printing ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        from ember.tensor_repr import tensor_repr
        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)


_LEGACY_TYPE_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
    "bfloat16": "BFloat16Tensor", "int8": "CharTensor", "uint8": "ByteTensor",
    "int16": "ShortTensor", "int32": "IntTensor", "int64": "LongTensor", "bool": "BoolTensor"}
_LEGACY_DTYPES = {v: k for k, v in _LEGACY_TYPE_NAMES.items()}


def parse_to_args(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """``(dtype, device)`` from ``to()``'s arguments (``Tensor.to`` and ``Module.to``):
    a dtype, a device, both, or a tensor to match; ``non_blocking`` is accepted."""
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, Device) or (isinstance(a, str) and not _is_dtype_name(a)):
            device = a
        elif a is not None:
            dtype = a
    return dtype, device


def _is_dtype_name(s: str) -> bool:
    try:
        to_dtype(s)
        return True
    except TypeError:
        return False


def _dim(d: int, ndim: int, op: str) -> int:
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {d})")
    return d % n


def _unwrap_nested(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (list, tuple)):
        return [_unwrap_nested(v) for v in x]
    return x


def is_tensor(obj: Any) -> bool:
    """True for ember tensors (and parameters)."""
    return isinstance(obj, Tensor)
