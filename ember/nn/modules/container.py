"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict."""
from __future__ import annotations

import operator
from collections import OrderedDict
from typing import Any, Iterable, Iterator, Mapping

from ember.nn.modules.module import Module, _indent
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _index(idx: Any, size: int, who: str) -> int:
    i = operator.index(idx)
    if not -size <= i < size:
        raise IndexError(f"{who}: index {i} is out of range")
    return i % size


class _IndexedModules(Module):
    """Shared code of Sequential and ModuleList: children keyed "0", "1", ..."""

    def _key(self, idx: int) -> str:
        return list(self._modules)[_index(idx, len(self._modules), self._get_name())]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, self._key(idx), module)

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._modules)
        for key in (keys[idx] if isinstance(idx, slice) else [self._key(idx)]):
            delattr(self, key)
        self._renumber()

    def _renumber(self) -> None:
        modules = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m

    def append(self, module: Module) -> "_IndexedModules":
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> "_IndexedModules":
        """Append each of ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put ``module`` before position ``index``."""
        n = len(self._modules)
        index = max(0, min(n, index + n if index < 0 else index))
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def pop(self, idx: int = -1) -> Module:
        """Remove and return the module at ``idx`` (the rest are renumbered)."""
        module = self[idx]
        del self[idx]
        return module

    def __iadd__(self, other: Iterable[Module]) -> "_IndexedModules":
        return self.extend(other)

    def __add__(self, other: "_IndexedModules") -> "_IndexedModules":
        out = type(self)()
        for m in list(self) + list(other):
            out.append(m)
        return out

    def __dir__(self) -> list:
        return [k for k in super().__dir__() if not k.isdigit()]


class Sequential(_IndexedModules):
    """Modules applied one after the other; ``forward`` feeds each output to the next.

    Built from modules (``Sequential(Linear(4, 8), ReLU())``, named "0", "1", ...) or from
    an OrderedDict of names to modules. Indexing gives a module, slicing a Sequential.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._key(idx)]

    def forward(self, input: Any) -> Any:
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(_IndexedModules):
    """A list of modules that registers them (their parameters are the owner's)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[self._key(idx)]

    def __repr__(self) -> str:
        blocks: list[list] = []         # [first index, last index, repr] of equal runs
        for i, m in enumerate(self._modules.values()):
            r = repr(m)
            if blocks and blocks[-1][2] == r:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, r])
        if not blocks:
            return f"{self._get_name()}()"
        lines = [_indent(f"({a}): {r}" if a == b else f"({a}-{b}): {b - a + 1} x {r}", 2)
                 for a, b, r in blocks]
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules that registers them, keeping insertion order."""

    def __init__(self, modules: Mapping[str, Module] | Iterable | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def clear(self) -> None:
        """Remove every entry."""
        self._modules.clear()

    def pop(self, key: str) -> Module:
        """Remove and return the module under ``key``."""
        return self._modules.pop(key)

    def update(self, modules: Mapping[str, Module] | Iterable) -> None:
        """Add entries from a mapping or from (name, module) pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for j, pair in enumerate(pairs):
            if isinstance(pair, (str, bytes)) or len(pair) != 2:
                raise ValueError(f"ModuleDict update sequence element #{j} has length "
                                 f"{len(pair)}; 2 is required")
            self[pair[0]] = pair[1]


def _param_line(key: Any, value: Any, legacy_type: bool) -> str:
    if isinstance(value, Tensor):
        size = "x".join(str(s) for s in value.shape)
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        device = f" ({value.device})" if value.device.type != "cpu" else ""
        type_name = value.type() if legacy_type else value.dtype
        return f"  ({key}): {kind} containing: [{type_name} of size {size}{device}]"
    return f"  ({key}): Object of type: {type(value).__name__}"


def _as_parameter(value: Any) -> Any:
    """Plain tensors stored in a parameter container become Parameters, as in PyTorch."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


class _ParameterContainer(Module):
    """Shared code of ParameterList and ParameterDict: values are attributes named by key."""

    _legacy_type_in_repr = False     # PyTorch's ParameterDict prints 'FloatTensor'

    def _put(self, key: str, value: Any) -> None:
        setattr(self, key, _as_parameter(value))

    def _get(self, key: str) -> Any:
        return getattr(self, key)

    def extra_repr(self) -> str:
        return "\n".join(_param_line(k, self._get(k), self._legacy_type_in_repr)
                         for k in self._keys())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{self._get_name()} should not be called.")


class ParameterList(_ParameterContainer):
    """A list of parameters that registers them; plain tensors are made Parameters."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self.extend(values)

    def _keys(self) -> list[str]:
        return [str(i) for i in range(self._size)]

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return type(self)([self[i] for i in range(self._size)[idx]])
        return self._get(str(_index(idx, self._size, "ParameterList")))

    def __setitem__(self, idx: int, value: Any) -> None:
        self._put(str(_index(idx, self._size, "ParameterList")), value)

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(self._size))

    def __iadd__(self, values: Iterable[Any]) -> "ParameterList":
        return self.extend(values)

    def append(self, value: Any) -> "ParameterList":
        """Add ``value`` at the end (a plain tensor becomes a Parameter); returns self."""
        object.__setattr__(self, "_size", self._size + 1)
        self._put(str(self._size - 1), value)
        return self

    def extend(self, values: Iterable[Any]) -> "ParameterList":
        """Append each of ``values``; returns self."""
        for v in values:
            self.append(v)
        return self


class ParameterDict(_ParameterContainer):
    """A dict of parameters that registers them; plain tensors are made Parameters."""

    _legacy_type_in_repr = True

    def __init__(self, parameters: Mapping[str, Any] | Iterable | None = None) -> None:
        super().__init__()
        object.__setattr__(self, "_order", [])
        if parameters is not None:
            self.update(parameters)

    def _keys(self) -> list[str]:
        return list(self._order)

    def __getitem__(self, key: str) -> Any:
        if key not in self._order:
            raise KeyError(key)
        return self._get(key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._order:
            self._order.append(key)
        self._put(key, value)

    def __delitem__(self, key: str) -> None:
        self._order.remove(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __contains__(self, key: str) -> bool:
        return key in self._order

    def keys(self) -> list[str]:
        return list(self._order)

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self[k]) for k in self._order]

    def values(self) -> list[Any]:
        return [self[k] for k in self._order]

    def get(self, key: str, default: Any = None) -> Any:
        """The parameter under ``key``, or ``default``."""
        return self[key] if key in self else default

    def pop(self, key: str) -> Any:
        """Remove and return the parameter under ``key``."""
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        """Remove every parameter."""
        for k in list(self._order):
            del self[k]

    def update(self, parameters: Mapping[str, Any] | Iterable) -> None:
        """Add entries from a mapping or from (name, value) pairs."""
        pairs = parameters.items() if isinstance(parameters, Mapping) else parameters
        for key, value in pairs:
            self[key] = value
