"""``Parameter`` and ``Buffer``: tensors that a Module registers when they are assigned to it."""
from __future__ import annotations

from typing import Any

from ember.tensor import Tensor


def _adopt(target: Tensor, source: Tensor, requires_grad: bool) -> None:
    """Make ``target`` share ``source``'s array and version counter as a fresh leaf."""
    target._data = source._data
    target._rg = requires_grad
    target.grad = None
    target.grad_fn = None
    target._nr = 0
    target._vc = source._vc
    target._base = None
    target._hooks = None


def _as_tensor(data: Any, who: str) -> Tensor:
    if data is None:
        from ember.ops.creation import empty
        return empty(0)
    if not isinstance(data, Tensor):
        raise TypeError(f"{who}: data must be a Tensor, got {type(data).__name__}")
    return data


class Parameter(Tensor):
    """A tensor that is a learnable weight of a Module; it shares memory with ``data``.

    >>> w = ember.nn.Parameter(ember.zeros(3))
    >>> w.requires_grad, w.is_leaf
    (True, True)
    """

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        _adopt(self, _as_tensor(data, "Parameter"), requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> "Parameter":
        if id(self) in memo:
            return memo[id(self)]
        copy = Parameter(Tensor.__deepcopy__(self, {}), self._rg)
        if self.grad is not None:
            copy.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = copy
        return copy


class Buffer(Tensor):
    """A tensor that is Module state but not a weight (running statistics, masks).

    Assigning ``module.name = Buffer(t, persistent=False)`` registers it like
    ``register_buffer``; the module stores the plain tensor.
    """

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True) -> None:
        source = _as_tensor(data, "Buffer")
        _adopt(self, source, source._rg)
        self.persistent = persistent

    def __deepcopy__(self, memo: dict) -> "Buffer":
        copy = Buffer(Tensor.__deepcopy__(self, memo), persistent=self.persistent)
        memo[id(self)] = copy
        return copy


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (``LazyLinear`` before its first call).

    ``materialize(shape)`` gives it storage; until then any use of its values raises.
    """

    def __init__(self, requires_grad: bool = True, dtype: Any = None) -> None:
        super().__init__(None, requires_grad)
        self._lazy_dtype = dtype

    def materialize(self, shape: tuple, dtype: Any = None) -> None:
        """Give the parameter uninitialized storage of ``shape``; it becomes a plain Parameter."""
        from ember.ops.creation import empty
        _adopt(self, empty(*shape, dtype=dtype or self._lazy_dtype), self._rg)
        self.__class__ = Parameter

    def __repr__(self) -> str:
        return "<UninitializedParameter>"


def is_lazy(param: Any) -> bool:
    """True for a parameter that has not been materialized yet."""
    return isinstance(param, UninitializedParameter)
