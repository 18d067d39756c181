"""``keras.InputSpec``: what a built layer accepts, checked on every call.

A Dense layer built on 784 features sets ``InputSpec(min_ndim=2, axes={-1: 784})``;
calling it on ``(32, 100)`` then fails at the layer, with Keras's message, instead of
deep inside a matrix product.
"""
from __future__ import annotations

from typing import Any


class InputSpec:
    """Rank and size constraints on one input of a layer (``None`` means unconstrained)."""

    def __init__(self, dtype: Any = None, shape: tuple | None = None, ndim: int | None = None,
                 max_ndim: int | None = None, min_ndim: int | None = None,
                 axes: dict | None = None, allow_last_axis_squeeze: bool = False,
                 name: str | None = None) -> None:
        self.dtype = dtype
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.name = name

    def __repr__(self) -> str:
        fields = {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                  "max_ndim": self.max_ndim, "min_ndim": self.min_ndim,
                  "axes": self.axes or None}
        return "InputSpec(" + ", ".join(f"{k}={v}" for k, v in fields.items()
                                        if v is not None) + ")"

    def get_config(self) -> dict:
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes}

    def check(self, layer_name: str, index: int, shape: tuple) -> None:
        """Raise ValueError naming the layer and both shapes when ``shape`` violates this."""
        shape = tuple(shape)
        rank = len(shape)
        where = f'Input {index} of layer "{layer_name}" is incompatible with the layer: '
        if self.ndim is not None and rank != self.ndim:
            raise ValueError(f"{where}expected ndim={self.ndim}, found ndim={rank}. "
                             f"Full shape received: {shape}")
        if self.max_ndim is not None and rank > self.max_ndim:
            raise ValueError(f"{where}expected max_ndim={self.max_ndim}, found "
                             f"ndim={rank}. Full shape received: {shape}")
        if self.min_ndim is not None and rank < self.min_ndim:
            raise ValueError(f"{where}expected min_ndim={self.min_ndim}, found "
                             f"ndim={rank}. Full shape received: {shape}")
        for axis, size in self.axes.items():
            if size is None:
                continue
            if not -rank <= axis < rank:
                raise ValueError(f"{where}expected axis {axis} to exist, found "
                                 f"ndim={rank}. Full shape received: {shape}")
            if shape[axis] is not None and shape[axis] != size:
                raise ValueError(f"{where}expected axis {axis} of input shape to have value "
                                 f"{size}, but received input with shape {shape}")
        if self.shape is not None:
            for expected, got in zip(self.shape, shape):
                if expected is not None and got is not None and expected != got:
                    raise ValueError(f"{where}expected shape={self.shape}, found "
                                     f"shape={shape}")
