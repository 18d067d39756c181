"""The arguments every kernel-plus-bias layer (Dense, Conv*) shares, resolved and
serialized in one place."""
from __future__ import annotations

from typing import Any

from ember.keras import activations, constraints, initializers, regularizers


def set_kernel_bias_args(layer: Any, activation: Any, use_bias: bool,
                         kernel_initializer: Any, bias_initializer: Any,
                         kernel_regularizer: Any, bias_regularizer: Any,
                         kernel_constraint: Any, bias_constraint: Any) -> None:
    """Resolve the identifiers (strings, configs, objects) onto ``layer``'s attributes."""
    layer.activation = activations.get(activation)
    layer.use_bias = bool(use_bias)
    layer.kernel_initializer = initializers.get(kernel_initializer)
    layer.bias_initializer = initializers.get(bias_initializer)
    layer.kernel_regularizer = regularizers.get(kernel_regularizer)
    layer.bias_regularizer = regularizers.get(bias_regularizer)
    layer.kernel_constraint = constraints.get(kernel_constraint)
    layer.bias_constraint = constraints.get(bias_constraint)


def kernel_bias_config(layer: Any) -> dict:
    """The shared part of such a layer's ``get_config()``."""
    return {"activation": activations.serialize(layer.activation),
            "use_bias": layer.use_bias,
            "kernel_initializer": initializers.serialize(layer.kernel_initializer),
            "bias_initializer": initializers.serialize(layer.bias_initializer),
            "kernel_regularizer": regularizers.serialize(layer.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(layer.bias_regularizer),
            "activity_regularizer": regularizers.serialize(layer.activity_regularizer),
            "kernel_constraint": constraints.serialize(layer.kernel_constraint),
            "bias_constraint": constraints.serialize(layer.bias_constraint)}
