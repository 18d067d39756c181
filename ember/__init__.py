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
from ember.autograd.tape import GradientTape
from ember.autograd import enable_grad, inference_mode, is_grad_enabled, \
    is_inference_mode_enabled, no_grad, set_grad_enabled
from ember.tensor_repr import set_printoptions
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


# Everything beyond tensors, ops and autograd loads on first use (`ember.nn`,
# `import ember.optim`, `ember.save`...), so `import ember` stays fast (issue 6 measures it
# against `import torch`).
_LAZY_SUBMODULES = ("nn", "optim", "io", "models", "data", "keras", "utils", "cli", "func")
_LAZY_NAMES = {
    "load": "ember.io", "save": "ember.io",
    "cdist": "ember.nn.functional._distance",
    "cosine_similarity": "ember.nn.functional._distance",
    "pairwise_distance": "ember.nn.functional._distance",
    "pdist": "ember.nn.functional._distance",
    "compile": "ember.compiler", "function": "ember.compiler", "jit": "ember.compiler",
}


def __getattr__(name: str):
    import importlib
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"ember.{name}")
    where = _LAZY_NAMES.get(name)
    if where is not None:           # ember.function and ember.jit are ember.compile
        value = getattr(importlib.import_module(where),
                        "compile" if where == "ember.compiler" else name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ember' has no attribute '{name}'")


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES) | set(_LAZY_NAMES))
