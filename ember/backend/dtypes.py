"""Ember's dtype table and PyTorch's type-promotion rules.

A :class:`DType` names an element type once; the backend maps it to the array module's
own dtype (NumPy, or ml_dtypes for bfloat16). Promotion follows PyTorch: categories
bool < integer < floating; dimensioned tensors outrank 0-d tensors, which outrank Python
scalars, and a lower rank only matters when it brings a higher category.
"""
from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np

__all__ = [
    "DType", "bool_", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
    "float32", "float64", "half", "float", "double", "short", "int", "long",
    "get_default_dtype", "set_default_dtype", "promote_types", "result_type", "to_dtype",
    "is_floating_point",
]

_BOOL, _INT, _FLOAT = 0, 1, 2


class DType:
    """An element type: ``ember.float32`` and friends. Compare with ``==``; hashable."""

    __slots__ = ("name", "np", "category", "itemsize", "is_signed")

    def __init__(self, name: str, np_dtype: Any, category: int, is_signed: bool):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category
        self.itemsize = self.np.itemsize
        self.is_signed = is_signed

    @property
    def is_floating_point(self) -> bool:
        return self.category == _FLOAT

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return (to_dtype, (self.name,))


bool_ = DType("bool", np.bool_, _BOOL, False)
uint8 = DType("uint8", np.uint8, _INT, False)
int8 = DType("int8", np.int8, _INT, True)
int16 = DType("int16", np.int16, _INT, True)
int32 = DType("int32", np.int32, _INT, True)
int64 = DType("int64", np.int64, _INT, True)
float16 = DType("float16", np.float16, _FLOAT, True)
bfloat16 = DType("bfloat16", ml_dtypes.bfloat16, _FLOAT, True)
float32 = DType("float32", np.float32, _FLOAT, True)
float64 = DType("float64", np.float64, _FLOAT, True)
half, float, double, short, int, long = float16, float32, float64, int16, int32, int64

_ALL = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
_BY_NP = {d.np: d for d in _ALL}
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32,
                long=int64)

_default_float_ref = [float32]     # a list so the dispatcher reads the live value


def get_default_dtype() -> DType:
    """The dtype of floating tensors created from Python floats (``float32`` unless set)."""
    return _default_float_ref[0]


def set_default_dtype(d: Any) -> None:
    """Set the default floating dtype; like PyTorch, only float32 and float64 are allowed."""
    d = to_dtype(d)
    if d not in (float32, float64, float16, bfloat16):
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the "
                        f"default type, got {d}")
    _default_float_ref[0] = d


def to_dtype(d: Any) -> DType:
    """Turn an ember dtype, NumPy dtype, name string or Python type into a :class:`DType`."""
    if d.__class__ is DType:
        return d
    if d is builtins_float:
        return _default_float_ref[0]
    if d is builtins_int:
        return int64
    if d is builtins_bool:
        return bool_
    if isinstance(d, str):
        got = _BY_NAME.get(d.replace("torch.", "").replace("ember.", ""))
        if got is not None:
            return got
    else:
        if type(d).__module__ == "torch":          # torch.float32 etc. (tests, interop)
            return to_dtype(str(d))
        try:
            got = _BY_NP.get(np.dtype(d))
        except TypeError:
            got = None
        if got is not None:
            return got
    raise TypeError(f"unsupported dtype {d!r}; expected one of "
                    f"{', '.join(x.name for x in _ALL)}")


import builtins as _b  # noqa: E402  (names shadowed above by the dtype aliases)

builtins_float, builtins_int, builtins_bool = _b.float, _b.int, _b.bool


def from_numpy_dtype(npd: np.dtype) -> DType:
    """The DType for a NumPy dtype, or a TypeError naming it."""
    got = _BY_NP.get(npd)
    if got is None:
        raise TypeError(f"can't convert an array of dtype {npd} to an ember tensor; "
                        f"supported: {', '.join(x.name for x in _ALL)}")
    return got


def is_floating_point(d: DType) -> bool:
    return d.category == _FLOAT


def _promote_pair(a: DType, b: DType) -> DType:
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == _FLOAT:
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.itemsize > b.itemsize else b
    # integers: only uint8 is unsigned
    if a is uint8 or b is uint8:
        other = b if a is uint8 else a
        return int16 if other is int8 else other
    return a if a.itemsize > b.itemsize else b


_PROMOTE = {(a, b): _promote_pair(a, b) for a in _ALL for b in _ALL}


def promote_types(a: Any, b: Any) -> DType:
    """The smallest dtype both ``a`` and ``b`` convert to without losing category."""
    return _PROMOTE[to_dtype(a), to_dtype(b)]


def _scalar_dtype(s: Any) -> DType:
    if isinstance(s, _b.bool):
        return bool_
    if isinstance(s, _b.int):
        return int64
    if isinstance(s, _b.float):
        return _default_float_ref[0]
    raise TypeError(f"unsupported scalar {s!r} of type {type(s).__name__}")


def _combine(higher: DType | None, lower: DType | None) -> DType | None:
    if higher is None:
        return lower
    if lower is None or higher.category == _FLOAT:
        return higher
    if higher is bool_ or lower.category == _FLOAT:
        return _PROMOTE[higher, lower]
    return higher


def result_type(*operands: Any) -> DType:
    """PyTorch's ``result_type`` over tensors and Python scalars."""
    dim = zero = wrapped = None
    for o in operands:
        d = getattr(o, "dtype", None)
        if d is None:
            sd = _scalar_dtype(o)
            wrapped = sd if wrapped is None else _PROMOTE[wrapped, sd]
        elif o.ndim == 0:
            zero = d if zero is None else _PROMOTE[zero, d]
        else:
            dim = d if dim is None else _PROMOTE[dim, d]
    return _combine(dim, _combine(zero, wrapped))
