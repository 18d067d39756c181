"""Keras 3's merging layers: combine a list of tensors into one.

Elementwise merges (Add, Subtract, Multiply, Average, Maximum, Minimum) broadcast axes of
size 1; an input of lower rank is expanded at axis 1 until the ranks agree, as in Keras.
Concatenate joins along ``axis``; Dot takes per-sample dot products (``batch_dot``).

>>> import ember
>>> from ember.keras.layers.merging import Add, Concatenate
>>> a, b = ember.ones(2, 3), ember.ones(2, 3)
>>> Add()([a, b]).tolist()[0], Concatenate()([a, b]).shape
([2.0, 2.0, 2.0], ember.Size([2, 6]))
"""
from __future__ import annotations

from functools import reduce
from typing import Any

import ember
from ember import Tensor
from ember.keras.backend import epsilon
from ember.keras.layers.layer import Layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
           "Dot"]


def _shape_list(layer: Layer, input_shape: Any) -> list[tuple]:
    if not isinstance(input_shape, (list, tuple)) or not input_shape or \
            not all(isinstance(s, (list, tuple)) for s in input_shape):
        raise ValueError(f"A merge layer should be called on a list of inputs. Received: "
                         f"input_shape={input_shape} (not a list of shapes) in layer "
                         f'"{layer.name}"')
    return [tuple(s) for s in input_shape]


def _check_batch(shapes: list[tuple]) -> None:
    batch_sizes = {s[0] for s in shapes if s} - {None}
    if len(batch_sizes) > 1:
        raise ValueError(f"Cannot merge tensors with different batch sizes. Received tensors "
                         f"with shapes {shapes}")


class _Merge(Layer):
    """Elementwise merge of a list of tensors; subclasses define ``_merge``."""

    min_inputs = 1

    def _check_count(self, shapes: list[tuple]) -> None:
        if len(shapes) < self.min_inputs:
            raise ValueError(f"A merge layer should be called on a list of at least "
                             f"{self.min_inputs} input{'s' if self.min_inputs > 1 else ''}. "
                             f"Got {len(shapes)} inputs.")

    def _merged_shape(self, shapes: list[tuple]) -> tuple:
        rank = max(len(s) for s in shapes)
        expanded = [s[:1] + (1,) * (rank - len(s)) + s[1:] if len(s) < rank else s
                    for s in shapes]
        out = list(expanded[0])
        for shape in expanded[1:]:
            for i, (a, b) in enumerate(zip(out, shape)):
                if a is None or b is None:
                    out[i] = None
                elif a == 1 or b == 1 or a == b:
                    out[i] = b if a == 1 else a
                else:
                    raise ValueError(f'Layer "{self.name}" ({type(self).__name__}): inputs '
                                     f"have incompatible shapes. Received shapes "
                                     f"{[tuple(s) for s in shapes]}")
        return tuple(out)

    def build(self, input_shape: Any) -> None:
        shapes = _shape_list(self, input_shape)
        self._check_count(shapes)
        _check_batch(shapes)
        self._merged_shape(shapes)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = _shape_list(self, input_shape)
        self._check_count(shapes)
        return self._merged_shape(shapes)

    def call(self, inputs: list) -> Tensor:
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}) should be called on '
                             f"a list of inputs. Received: {type(inputs).__name__}")
        shapes = [tuple(x.shape) for x in inputs]
        self._check_count(shapes)
        _check_batch(shapes)
        self._merged_shape(shapes)
        rank = max(x.ndim for x in inputs)
        expanded = []
        for x in inputs:
            while x.ndim < rank:
                x = x.unsqueeze(1)
            expanded.append(x)
        return self._merge(expanded)

    def _merge(self, inputs: list[Tensor]) -> Tensor:
        raise NotImplementedError


class Add(_Merge):
    """Sum of the inputs."""

    def _merge(self, inputs: list[Tensor]) -> Tensor:
        return reduce(lambda a, b: a + b, inputs)


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    min_inputs = 2

    def _check_count(self, shapes: list[tuple]) -> None:
        if len(shapes) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: input_shape={shapes}")

    def _merge(self, inputs: list[Tensor]) -> Tensor:
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """Elementwise product of the inputs."""

    def _merge(self, inputs: list[Tensor]) -> Tensor:
        return reduce(lambda a, b: a * b, inputs)


class Average(_Merge):
    """Elementwise mean of the inputs."""

    def _merge(self, inputs: list[Tensor]) -> Tensor:
        return reduce(lambda a, b: a + b, inputs) / len(inputs)


class Maximum(_Merge):
    """Elementwise maximum of the inputs."""

    def _merge(self, inputs: list[Tensor]) -> Tensor:
        return reduce(ember.maximum, inputs)


class Minimum(_Merge):
    """Elementwise minimum of the inputs."""

    def _merge(self, inputs: list[Tensor]) -> Tensor:
        return reduce(ember.minimum, inputs)


class Concatenate(Layer):
    """Join the inputs along ``axis``; all other axes must match.

    >>> import ember
    >>> Concatenate(axis=1)([ember.ones(2, 3), ember.ones(2, 1)]).shape
    ember.Size([2, 4])
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _output_shape(self, shapes: list[tuple]) -> tuple:
        if len(shapes) < 1:
            raise ValueError(f"A `Concatenate` layer should be called on a list of at least "
                             f"1 input. Received: input_shape={shapes}")
        ranks = {len(s) for s in shapes}
        rank = len(shapes[0])
        axis = self.axis + rank if self.axis < 0 else self.axis
        if len(ranks) != 1 or not 0 <= axis < rank:
            raise ValueError(f"A `Concatenate` layer requires inputs with matching shapes "
                             f"except for the concatenation axis. Received: "
                             f"input_shape={shapes}")
        out = list(shapes[0])
        for shape in shapes[1:]:
            for i, (a, b) in enumerate(zip(out, shape)):
                if i == axis:
                    out[i] = None if a is None or b is None else a + b
                elif a is not None and b is not None and a != b:
                    raise ValueError(f"A `Concatenate` layer requires inputs with matching "
                                     f"shapes except for the concatenation axis. Received: "
                                     f"input_shape={shapes}")
                elif a is None:
                    out[i] = b
        return tuple(out)

    def build(self, input_shape: Any) -> None:
        self._output_shape(_shape_list(self, input_shape))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return self._output_shape(_shape_list(self, input_shape))

    def call(self, inputs: list) -> Tensor:
        self._output_shape([tuple(x.shape) for x in inputs])
        return ember.cat(list(inputs), dim=self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class Dot(Layer):
    """Per-sample dot products of two tensors along ``axes`` (an int, or one axis per
    input); with ``normalize=True`` the inputs are L2-normalised first (cosine similarity).

    ``(batch, n)`` and ``(batch, n)`` give ``(batch, 1)``; in general the output has the
    remaining axes of the first input, then those of the second.

    >>> import ember
    >>> Dot(axes=1)([ember.ones(2, 3), ember.ones(2, 3)]).tolist()
    [[3.0], [3.0]]
    """

    def __init__(self, axes: int | tuple, normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)) or len(axes) != 2 or \
                    not all(isinstance(a, int) for a in axes):
                raise ValueError(f"Invalid format for argument `axes`: expected a list/tuple "
                                 f"of 2 integers or an integer. Received: axes={axes}")
            axes = list(axes)
        self.axes = axes
        self.normalize = bool(normalize)

    def _resolved_axes(self, shapes: list[tuple]) -> list[int]:
        if len(shapes) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. "
                             f"Received: input_shape={shapes}")
        axes = [self.axes, self.axes] if isinstance(self.axes, int) else list(self.axes)
        axes = [a % len(s) if len(s) else a for a, s in zip(axes, shapes)]
        if 0 in axes or any(len(s) < 2 for s in shapes):
            raise ValueError(f'Layer "{self.name}" (Dot): cannot take dot products over the '
                             f"batch axis (0); inputs need rank >= 2. Received: "
                             f"input_shape={shapes}, axes={self.axes}")
        a, b = shapes[0][axes[0]], shapes[1][axes[1]]
        if a is not None and b is not None and a != b:
            raise ValueError(f"Incompatible input shapes: axis values {a} (at axis {axes[0]}) "
                             f"!= {b} (at axis {axes[1]}). Full input shapes: {shapes[0]}, "
                             f"{shapes[1]}")
        _check_batch(shapes)
        return axes

    def build(self, input_shape: Any) -> None:
        self._resolved_axes(_shape_list(self, input_shape))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = _shape_list(self, input_shape)
        ax = self._resolved_axes(shapes)
        rest = [d for i, d in enumerate(shapes[0]) if i not in (0, ax[0])] + \
            [d for i, d in enumerate(shapes[1]) if i not in (0, ax[1])]
        return (shapes[0][0],) + tuple(rest or [1])

    def call(self, inputs: list) -> Tensor:
        x, y = inputs
        ax = self._resolved_axes([tuple(x.shape), tuple(y.shape)])
        if self.normalize:
            x = x / ember.clamp((x * x).sum(dim=ax[0], keepdim=True).sqrt(), min=epsilon())
            y = y / ember.clamp((y * y).sum(dim=ax[1], keepdim=True).sqrt(), min=epsilon())
        x = x.movedim(ax[0], -1)                       # (batch, *rest_x, k)
        y = y.movedim(ax[1], 1)                        # (batch, k, *rest_y)
        batch, rest_x, rest_y = x.shape[0], tuple(x.shape[1:-1]), tuple(y.shape[2:])
        k = x.shape[-1]
        out = ember.bmm(x.reshape(batch, -1, k), y.reshape(batch, k, -1))
        return out.reshape((batch,) + (rest_x + rest_y or (1,)))

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}
