"""``typename``: how error messages name the type of a value a user passed."""
from typing import Any


def typename(obj: Any) -> str:
    """``'ember.Tensor'`` for a tensor, ``'int'`` for a builtin, else ``module.Class``
    (as PyTorch's ``torch.typename`` does for its own types)."""
    from ember.tensor import Tensor
    cls = type(obj)
    if cls is Tensor:
        return "ember.Tensor"
    return cls.__qualname__ if cls.__module__ == "builtins" else \
        f"{cls.__module__}.{cls.__qualname__}"
