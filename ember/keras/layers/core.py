"""Keras 3's core layers: Dense, Activation, Dropout, Flatten, Reshape, Permute, Lambda,
Identity, RepeatVector, Rescaling.

Weights use Keras's layout (a Dense kernel is ``(input_dim, units)``), so ``get_weights``
matches Keras; the math goes through Ember ops, so gradients flow as for ``ember.nn``.

>>> import ember
>>> from ember.keras.layers.core import Dense
>>> Dense(4, activation="relu")(ember.ones(2, 3)).shape
ember.Size([2, 4])
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Callable

import numpy as np

import ember
import ember.nn.functional as F
from ember import Tensor
from ember.keras import activations
from ember.keras.keras_tensor import KerasTensor
from ember.keras.layers._kernel_bias import kernel_bias_config, set_kernel_bias_args
from ember.keras.layers.input_spec import InputSpec
from ember.keras.layers.layer import Layer
from ember.keras.saving.object_registration import get_registered_name, \
    get_registered_object

__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "Permute", "Lambda",
           "Identity", "RepeatVector", "Rescaling"]


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis; ``kernel`` is
    ``(input_dim, units)``. Inputs of any rank >= 2 are accepted.

    >>> import ember
    >>> layer = Dense(3, use_bias=False)
    >>> layer(ember.ones(5, 2)).shape, [w.shape for w in layer.get_weights()]
    (ember.Size([5, 3]), [(2, 3)])
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units!r}")
        self.units = int(units)
        set_kernel_bias_args(self, activation, use_bias, kernel_initializer,
                             bias_initializer, kernel_regularizer, bias_regularizer,
                             kernel_constraint, bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape: tuple) -> None:
        input_dim = input_shape[-1] if len(input_shape) else None
        if input_dim is None:
            raise ValueError(f'Layer "{self.name}" (Dense): the last dimension of the inputs '
                             f"should be defined. Found None. Full input shape received: "
                             f"{tuple(input_shape)}")
        self.kernel = self.add_weight(shape=(input_dim, self.units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        # x @ kernel keeps the kernel's gradient contiguous (F.linear would need kernel.T)
        out = inputs @ self.kernel
        return self.activation(out if self.bias is None else out + self.bias)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)[:-1] + (self.units,)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units,
                **kernel_bias_config(self)}


class Activation(Layer):
    """Apply an activation function (a name from ``keras.activations`` or a callable).

    >>> import ember
    >>> Activation("relu")(ember.tensor([[-1.0, 2.0]])).tolist()
    [[0.0, 2.0]]
    """

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs: Tensor) -> Tensor:
        return self.activation(inputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """In training, zero each entry with probability ``rate`` and scale the rest by
    ``1 / (1 - rate)``; the identity at inference. ``noise_shape`` (``None`` entries take
    the input's size) shares one mask along the axes where it is 1; an integer ``seed``
    makes the sequence of masks reproducible, otherwise ``ember.manual_seed`` does.

    >>> import ember
    >>> Dropout(0.5)(ember.ones(2, 3)).tolist()     # not training: unchanged
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, rate: float, noise_shape: tuple | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float "
                             f"value between 0 and 1. Received: rate={rate!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def _mask_shape(self, shape: tuple) -> tuple:
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(f'Layer "{self.name}" (Dropout): `noise_shape` {self.noise_shape} '
                             f"must have the rank of the inputs, got inputs of shape {shape}")
        mask = tuple(s if n is None else int(n) for n, s in zip(self.noise_shape, shape))
        for n, s in zip(mask, shape):
            if n not in (1, s):
                raise ValueError(f'Layer "{self.name}" (Dropout): `noise_shape` '
                                 f"{self.noise_shape} does not broadcast to the input shape "
                                 f"{shape}")
        return mask

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            return inputs * 0.0
        shape = self._mask_shape(tuple(inputs.shape))
        if self._rng is None:
            uniform = ember.rand(shape, dtype=inputs.dtype)
        else:
            uniform = ember.tensor(self._rng.random(shape, dtype=np.float32)).to(inputs.dtype)
        keep = (uniform >= self.rate).to(inputs.dtype) / (1.0 - self.rate)
        return inputs * keep

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise,
                "seed": self.seed}


def _check_data_format(layer: str, data_format: str | None) -> str:
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: the `data_format` argument must be one of "
                         f"'channels_first', 'channels_last'. Received: {data_format!r}")
    return data_format


class Flatten(Layer):
    """Flatten every axis but the batch axis: ``(batch, d1, d2, ...) -> (batch, d1*d2*...)``.
    With ``data_format="channels_first"`` the channel axis is moved last first, so the
    order matches a channels-last model.

    >>> import ember
    >>> Flatten()(ember.ones(2, 3, 4)).shape
    ember.Size([2, 12])
    """

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _check_data_format("Flatten", data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs: Tensor) -> Tensor:
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = inputs.movedim(1, -1)
        return inputs.reshape(inputs.shape[0], -1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        rest = tuple(input_shape)[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshape every sample to ``target_shape`` (batch axis excluded; one entry may be -1).

    >>> import ember
    >>> Reshape((3, -1))(ember.ones(2, 12)).shape
    ember.Size([2, 3, 4])
    """

    def __init__(self, target_shape: tuple, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        target = (target_shape,) if isinstance(target_shape, int) else tuple(target_shape)
        if sum(1 for d in target if d == -1) > 1 or any(d is None or (d < 1 and d != -1)
                                                       for d in target):
            raise ValueError(f"Reshape: `target_shape` must hold positive sizes and at most "
                             f"one -1. Received: target_shape={target_shape}")
        self.target_shape = tuple(int(d) for d in target)

    def _resolve(self, input_shape: tuple) -> tuple:
        rest = tuple(input_shape)[1:]
        if -1 not in self.target_shape:
            if None not in rest and math.prod(rest) != math.prod(self.target_shape):
                raise self._size_error(input_shape)
            return self.target_shape
        if None in rest:
            return tuple(None if d == -1 else d for d in self.target_shape)
        known = -math.prod(self.target_shape)
        if math.prod(rest) % known:
            raise self._size_error(input_shape)
        return tuple(math.prod(rest) // known if d == -1 else d for d in self.target_shape)

    def _size_error(self, input_shape: tuple) -> ValueError:
        return ValueError(f'Layer "{self.name}" (Reshape): the total size of the tensor must be '
                          f"unchanged. Received: input_shape={tuple(input_shape)}, "
                          f"target_shape={self.target_shape}")

    def call(self, inputs: Tensor) -> Tensor:
        return inputs.reshape((inputs.shape[0],) + self._resolve(tuple(inputs.shape)))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0],) + self._resolve(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Permute the non-batch axes; ``dims`` numbers them from 1 (``(2, 1)`` swaps the two).

    >>> import ember
    >>> Permute((2, 1))(ember.ones(5, 3, 4)).shape
    ember.Size([5, 4, 3])
    """

    def __init__(self, dims: tuple, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Invalid permutation argument `dims` for Permute Layer. The set "
                             f"of indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={dims}")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs: Tensor) -> Tensor:
        return inputs.permute(0, *self.dims)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": list(self.dims)}


def _serialize_function(layer: str, fn: Callable) -> dict:
    name = get_registered_name(fn)
    if get_registered_object(name) is not fn:
        try:
            return {"class_name": "function", "config": activations.serialize(fn)}
        except ValueError:
            raise ValueError(f'Layer "{layer}" (Lambda): cannot serialize the function '
                             f"{getattr(fn, '__qualname__', fn)!r}; Ember never saves code. "
                             "Register it with @keras.saving.register_keras_serializable() "
                             "(or write a Layer subclass) to save this model.") from None
    return {"class_name": "function", "config": name}


def _deserialize_function(config: Any) -> Callable:
    if not (isinstance(config, dict) and config.get("class_name") == "function"
            and isinstance(config.get("config"), str)):
        raise ValueError(f"Lambda: cannot deserialize function {config!r}; expected "
                         "{'class_name': 'function', 'config': <registered name>}")
    fn = get_registered_object(config["config"])
    if fn is None:
        try:
            fn = activations.get(config["config"])
        except ValueError:
            raise ValueError(f"Lambda: unknown function {config['config']!r}. Register it "
                             "with keras.saving.register_keras_serializable() or pass it in "
                             "`custom_objects`.") from None
    return fn


class Lambda(Layer):
    """Wrap a function of tensors as a layer: ``function(inputs, **arguments)``.

    ``output_shape`` (without the batch axis, or a function of the input shape) spares
    a trial run to learn the output shape. A Lambda layer saves only a *registered*
    function, by name (``keras.saving.register_keras_serializable``); code is never saved.

    >>> import ember
    >>> Lambda(lambda x: x * 2)(ember.ones(1, 2)).tolist()
    [[2.0, 2.0]]
    """

    def __init__(self, function: Callable, output_shape: Any = None, mask: Any = None,
                 arguments: dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: `function` must be callable, got {function!r}")
        if mask is not None:
            raise ValueError("Lambda: `mask` is not supported (Ember has no Keras masking)")
        self.function = function
        self.output_shape = output_shape
        self.arguments = dict(arguments or {})
        params = inspect.signature(function).parameters
        self._passes_training = "training" in params

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        kwargs = dict(self.arguments)
        if self._passes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        if self.output_shape is None:
            return super().compute_output_spec(*args, **kwargs)
        first = args[0]
        if callable(self.output_shape):
            shape = self.output_shape(first.shape)
        else:
            shape = (first.shape[0],) + tuple(self.output_shape)
        return KerasTensor(tuple(shape), first.dtype)

    def get_config(self) -> dict:
        shape = self.output_shape
        if callable(shape):
            shape = _serialize_function(self.name, shape)
        elif shape is not None:
            shape = list(shape)
        return {**super().get_config(),
                "function": _serialize_function(self.name, self.function),
                "output_shape": shape, "arguments": self.arguments}

    @classmethod
    def from_config(cls, config: dict) -> "Lambda":
        config = dict(config)
        config["function"] = _deserialize_function(config["function"])
        if isinstance(config.get("output_shape"), dict):
            config["output_shape"] = _deserialize_function(config["output_shape"])
        return cls(**config)


class Identity(Layer):
    """Return the inputs unchanged (a placeholder where a layer is expected)."""

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


class RepeatVector(Layer):
    """Repeat each sample ``n`` times: ``(batch, features) -> (batch, n, features)``.

    >>> import ember
    >>> RepeatVector(3)(ember.ones(2, 4)).shape
    ember.Size([2, 3, 4])
    """

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"Expected an integer value for `n`, got {type(n).__name__}.")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs: Tensor) -> Tensor:
        return inputs.unsqueeze(1).repeat(1, self.n, 1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}


class Rescaling(Layer):
    """``inputs * scale + offset``, computed in the layer's float dtype (so uint8 images
    become floats); ``scale`` and ``offset`` may be per-channel lists.

    >>> import ember
    >>> Rescaling(1 / 255)(ember.tensor([[0, 255]], dtype=ember.uint8)).tolist()
    [[0.0, 1.0]]
    """

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = scale.tolist() if isinstance(scale, np.ndarray) else scale
        self.offset = offset.tolist() if isinstance(offset, np.ndarray) else offset

    def call(self, inputs: Tensor) -> Tensor:
        x = inputs.to(self.dtype)
        scale = ember.tensor(np.asarray(self.scale, dtype=np.float64)).to(self.dtype)
        offset = ember.tensor(np.asarray(self.offset, dtype=np.float64)).to(self.dtype)
        return x * scale + offset

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        return KerasTensor(args[0].shape, self.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
