"""Chaining transforms: Compose and Lambda (plain callables, as in torchvision)."""
from __future__ import annotations

from typing import Any, Callable, Sequence


class Compose:
    """Apply ``transforms`` in order.

    >>> import numpy as np
    >>> t = Compose([RandomHorizontalFlip(), ToTensor()])
    >>> t(np.zeros((28, 28), np.uint8)).shape
    ember.Size([1, 28, 28])
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(f"Compose: transform {i} is not callable: {t!r}")

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class Lambda:
    """Use a user function as a transform: ``Lambda(lambda x: x * 2)``."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {repr(type(lambd).__name__)}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
