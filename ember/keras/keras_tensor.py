"""Symbolic tensors of the functional API and the nodes that connect layers.

``keras.Input(shape=(784,))`` returns a ``KerasTensor``: a shape (``None`` for the batch
and any other unknown size) and a dtype, nothing else. Calling a layer on KerasTensors
records a ``Node`` (the layer, its arguments, its symbolic outputs); a functional
``Model(inputs, outputs)`` walks those nodes back from its outputs.
"""
from __future__ import annotations

from typing import Any

import ember
from ember.keras import _tree


class KerasTensor:
    """A placeholder with a shape and dtype, produced by ``keras.Input`` or a layer call."""

    def __init__(self, shape: tuple, dtype: str = "float32", name: str | None = None,
                 history: tuple | None = None) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = str(dtype)
        self.name = name
        self._keras_history = history       # (layer, node_index, tensor_index)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return (f"<KerasTensor shape={self.shape}, dtype={self.dtype}, "
                f"name={self.name}>")

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("A KerasTensor is a symbolic placeholder of the functional API: "
                        "combine it with layers (keras.layers.Add, Multiply, Lambda, ...), "
                        "not with Python operators or Ember functions")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __neg__ = _refuse
    __getitem__ = __array__ = __bool__ = __len__ = _refuse
    __iter__ = None


class Node:
    """One call of ``layer`` on symbolic arguments, producing symbolic ``outputs``."""

    def __init__(self, layer: Any, args: tuple, kwargs: dict, outputs: Any) -> None:
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs

    @property
    def input_tensors(self) -> list[KerasTensor]:
        return [t for t in _tree.flatten((self.args, self.kwargs))
                if isinstance(t, KerasTensor)]

    @property
    def output_tensors(self) -> list[KerasTensor]:
        return [t for t in _tree.flatten(self.outputs) if isinstance(t, KerasTensor)]


def any_symbolic(structure: Any) -> bool:
    return any(isinstance(t, KerasTensor) for t in _tree.flatten(structure))


# A stand-in size for unknown dimensions when a layer is run on zeros to learn its output
# shape. Two runs with different stand-ins tell which output sizes follow the unknown ones.
_STAND_INS = (13, 17)


def _zeros_like_spec(spec: KerasTensor, stand_in: int) -> ember.Tensor:
    shape = tuple(stand_in if d is None else d for d in spec.shape)
    if spec.shape and spec.shape[0] is None:
        shape = (1,) + shape[1:]
    return ember.zeros(shape, dtype=spec.dtype)


def infer_output_spec(run: Any, args: tuple, kwargs: dict) -> Any:
    """The symbolic result of ``run(*args, **kwargs)`` on KerasTensors, found by running it
    on zeros: the batch axis stays ``None`` and sizes that change with the stand-in used
    for an unknown input size become ``None``."""
    specs = [t for t in _tree.flatten((args, kwargs)) if isinstance(t, KerasTensor)]
    unknown_inner = any(d is None for t in specs for d in t.shape[1:])
    batch_unknown = any(t.shape and t.shape[0] is None for t in specs)
    results = []
    for stand_in in (_STAND_INS if unknown_inner else _STAND_INS[:1]):
        def concrete(x: Any, stand_in: int = stand_in) -> Any:
            return _zeros_like_spec(x, stand_in) if isinstance(x, KerasTensor) else x
        with ember.no_grad():
            out = run(*_tree.map_structure(concrete, args),
                      **_tree.map_structure(concrete, kwargs))
        results.append(out)

    flat_first = _tree.flatten(results[0])
    flat_other = _tree.flatten(results[1]) if len(results) > 1 else None
    position = {id(t): i for i, t in enumerate(flat_first)}

    def spec(t: Any) -> KerasTensor:
        if not isinstance(t, ember.Tensor):
            raise TypeError(f"a layer in the functional API returned {type(t).__name__}; "
                            "layers must return tensors")
        shape = list(t.shape)
        if batch_unknown and shape:
            shape[0] = None
        if flat_other is not None:
            other = flat_other[position[id(t)]].shape
            if len(other) == len(shape):
                shape = [None if d is None or d != o else d for d, o in zip(shape, other)]
        return KerasTensor(tuple(shape), dtype=dtype_name(t.dtype))

    return _tree.map_structure(spec, results[0])


def dtype_name(dtype: Any) -> str:
    """``ember.float32`` -> ``"float32"``, as Keras names dtypes."""
    return str(dtype).rsplit(".", 1)[-1]
