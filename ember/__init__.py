"""Ember: a deep learning framework in Python on NumPy, with PyTorch's names.

>>> import ember
>>> x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
"""
from ember.backend import Device, device
from ember.backend.dtypes import (DType, bfloat16, bool_, double, float, float16, float32,
                                  float64, get_default_dtype, half, int, int8, int16, int32,
                                  int64, long, promote_types, result_type as _result_type,
                                  set_default_dtype, short, uint8)
from ember.tensor import Size, Tensor, is_tensor
from ember import ops
from ember.ops import *  # noqa: F401,F403
from ember import autograd
from ember import nn
from ember import optim
from ember import io
from ember.io import load, save
from ember import models
from ember.autograd.tape import GradientTape
from ember.autograd import enable_grad, inference_mode, is_grad_enabled, \
    is_inference_mode_enabled, no_grad, set_grad_enabled
from ember.tensor_repr import set_printoptions
from ember.nn.functional._distance import cdist, cosine_similarity, pairwise_distance, pdist
from ember.random import Generator, initial_seed, manual_seed, seed, get_rng_state, \
    set_rng_state

bool = bool_  # noqa: A001  (ember.bool, like torch.bool)
__version__ = "0.1.0"


def result_type(tensor1, tensor2):
    """The dtype PyTorch's promotion gives for an op on these tensors or numbers."""
    return _result_type(tensor1, tensor2)


def is_floating_point(input: Tensor) -> "builtins.bool":
    return input.is_floating_point()


def numel(input: Tensor) -> int:
    return input.numel()


# Larger parts load on first use, so `import ember` stays fast for code that needs neither.
_LAZY_SUBMODULES = ("data", "keras", "utils", "cli", "func")


_GRAPH_MODE = ("compile", "function", "jit")


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        import importlib
        return importlib.import_module(f"ember.{name}")
    if name in _GRAPH_MODE:         # ember.compile / ember.function / ember.jit
        from ember.compiler import compile
        return compile
    raise AttributeError(f"module 'ember' has no attribute '{name}'")
