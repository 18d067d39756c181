"""The shared shape of Ember's in-memory image datasets: ``.data`` (uint8, N x H x W [x C])
and ``.targets`` (int64, N) held in memory, ``ds[i] -> (image, target)`` with the
optional ``transform`` / ``target_transform`` applied like torchvision does."""
from __future__ import annotations

import operator
import os
from typing import Any, Callable

import numpy as np

from ember.data.dataset import Dataset


def dataset_repr(dataset: Any, extra_lines: list[str]) -> str:
    """torchvision's dataset repr: the class, sample count, root, ``extra_lines`` and the
    transforms, one per indented line."""
    lines = [f"Number of datapoints: {len(dataset)}"]
    if dataset.root is not None:
        lines.append(f"Root location: {dataset.root}")
    lines += [line for line in extra_lines if line]
    for name in ("transform", "target_transform"):
        if getattr(dataset, name) is not None:
            lines.append(f"{name.replace('_', ' ').capitalize()}: {getattr(dataset, name)!r}")
    return "\n".join([f"Dataset {type(dataset).__name__}"] + ["    " + l for l in lines])


class ArrayImageDataset(Dataset):
    """Base of the datasets whose images all sit in one array (MNIST, CIFAR10, Digits).

    Subclasses set ``classes`` and fill ``self.data`` / ``self.targets`` in ``__init__``.
    """

    classes: list[str] = []
    data: np.ndarray
    targets: np.ndarray

    def __init__(self, root: str | os.PathLike | None, transform: Callable | None,
                 target_transform: Callable | None) -> None:
        # like torchvision, "~" in a root means the home folder
        self.root = None if root is None else os.path.expanduser(os.fspath(root))
        self.transform = transform
        self.target_transform = target_transform

    @property
    def class_to_idx(self) -> dict[str, int]:
        """``{class name: index}``, as torchvision's datasets have it."""
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        index = operator.index(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for "
                             f"{len(self)} samples")
        # a copy, as torchvision hands out a fresh PIL image each time
        image, target = self.data[index].copy(), int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def extra_repr(self) -> str:
        """Lines added to the repr after the sample count and root (e.g. the split)."""
        return ""

    def __repr__(self) -> str:
        return dataset_repr(self, self.extra_repr().splitlines())
