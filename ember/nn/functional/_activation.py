"""Activation functions of ``ember.nn.functional``, re-exported from the op library
(``ember.ops.activations``, ``ember.ops.math`` and ``ember.ops.softmax``)."""
from ember.ops.activations import (celu, celu_, elu, elu_, gelu, hardshrink, hardsigmoid,
                                   hardswish, hardtanh, hardtanh_, leaky_relu, leaky_relu_,
                                   logsigmoid, mish, prelu, relu, relu6, relu_, selu, selu_,
                                   silu, softplus, softshrink, softsign, tanhshrink,
                                   threshold, threshold_)
from ember.ops.math import sigmoid, tanh
from ember.ops.softmax import log_softmax, softmax

__all__ = ["celu", "celu_", "elu", "elu_", "gelu", "hardshrink", "hardsigmoid", "hardswish",
           "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "logsigmoid", "mish", "prelu",
           "relu", "relu6", "relu_", "selu", "selu_", "silu", "softplus", "softshrink",
           "softsign", "tanhshrink", "threshold", "threshold_", "sigmoid", "tanh",
           "log_softmax", "softmax"]
