"""``keras.Input`` and ``keras.layers.InputLayer``: where a functional model starts."""
from __future__ import annotations

from typing import Any

from ember.keras.keras_tensor import KerasTensor, Node, dtype_name
from ember.keras.layers.layer import Layer


class InputLayer(Layer):
    """The entry point of a model: holds the shape (batch axis first) and dtype of an input.

    Give ``shape`` without the batch axis (``batch_size`` optional) or ``batch_shape``
    with it; ``input_shape`` (Keras 2's name for ``shape``) is accepted too.
    """

    def __init__(self, shape: tuple | None = None, batch_size: int | None = None,
                 dtype: Any = None, sparse: bool | None = None,
                 batch_shape: tuple | None = None, input_tensor: Any = None,
                 optional: bool = False, name: str | None = None, **kwargs: Any) -> None:
        legacy = kwargs.pop("input_shape", None)
        legacy_batch = kwargs.pop("batch_input_shape", None)
        super().__init__(name=name, dtype=dtype, **kwargs)
        shape = legacy if shape is None else shape
        batch_shape = legacy_batch if batch_shape is None else batch_shape
        if sparse:
            raise ValueError(f'InputLayer "{self.name}": sparse inputs are not supported '
                             "by Ember")
        if shape is not None and batch_shape is not None:
            raise ValueError(f'InputLayer "{self.name}": you cannot pass both `shape` and '
                             "`batch_shape` at the same time.")
        if input_tensor is not None:
            if not isinstance(input_tensor, KerasTensor):
                raise ValueError(f'InputLayer "{self.name}": argument `input_tensor` must be '
                                 f"a KerasTensor, got {input_tensor!r}")
            batch_shape = input_tensor.shape
        if batch_shape is None:
            if shape is None:
                raise ValueError(f'InputLayer "{self.name}": you must pass a `shape` argument.')
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        self._batch_input_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self._dtype = dtype_name(dtype) if dtype is not None else "float32"
        self.sparse, self.optional = False, optional
        self.built = True
        output = KerasTensor(self._batch_input_shape, self._dtype, name=self.name,
                             history=(self, 0, 0))
        self._inbound_nodes.append(Node(self, (), {}, output))

    @property
    def batch_shape(self) -> tuple:
        return self._batch_input_shape

    def call(self, inputs: Any) -> Any:
        return inputs

    def get_config(self) -> dict:
        return {"batch_shape": list(self._batch_input_shape), "dtype": self._dtype,
                "sparse": False, "name": self.name}


def Input(shape: tuple | None = None, batch_size: int | None = None, dtype: Any = None,
          sparse: bool | None = None, batch_shape: tuple | None = None,
          name: str | None = None, tensor: Any = None, optional: bool = False) -> KerasTensor:
    """A symbolic input for the functional API.

    >>> from ember import keras
    >>> keras.Input(shape=(784,)).shape
    (None, 784)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, input_tensor=tensor, optional=optional,
                       name=name)
    return layer.output
