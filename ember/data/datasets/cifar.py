"""CIFAR-10 from its BINARY distribution (``cifar-10-binary.tar.gz`` unpacked into
``cifar-10-batches-bin/``). The "python version" is a set of pickles, and Ember never
unpickles a file (unpickling runs code), so that archive is refused."""
from __future__ import annotations

import os
from typing import Callable

import numpy as np

from ember.data.datasets._base import ArrayImageDataset

__all__ = ["CIFAR10"]

BINARY_FOLDER, PICKLE_FOLDER = "cifar-10-batches-bin", "cifar-10-batches-py"
BINARY_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILES = ["test_batch.bin"]
IMAGE_SHAPE = (3, 32, 32)            # each record stores the red, green, blue planes
RECORD_BYTES = 1 + 3 * 32 * 32       # one label byte, then the pixels
_GET_IT = (f"Download the binary version, {BINARY_URL}, and unpack it "
           f"(tar xzf cifar-10-binary.tar.gz) into root")


def _binary_folder(root: str, download: bool) -> str:
    """``root/cifar-10-batches-bin`` or root itself when it is that folder; a clear
    error for the pickled python version or a missing folder."""
    for folder in (os.path.join(root, BINARY_FOLDER), root):
        if os.path.isfile(os.path.join(folder, "batches.meta.txt")):
            return folder
    if os.path.basename(os.path.normpath(root)) == PICKLE_FOLDER \
            or os.path.isdir(os.path.join(root, PICKLE_FOLDER)):
        raise ValueError(f"CIFAR10: {root!r} holds the python version of CIFAR-10 "
                         f"({PICKLE_FOLDER}), whose batches are pickles; Ember never "
                         f"unpickles files, since unpickling can run arbitrary code. "
                         f"{_GET_IT}")
    note = "CIFAR10(download=True) cannot download: Ember never uses the network. " \
        if download else ""
    raise FileNotFoundError(f"CIFAR10: no {BINARY_FOLDER}/batches.meta.txt in {root!r} "
                            f"(nor is root that folder itself). {note}{_GET_IT}")


def _read_classes(folder: str) -> list[str]:
    path = os.path.join(folder, "batches.meta.txt")
    try:
        with open(path, encoding="ascii") as f:
            names = [line.strip() for line in f if line.strip()]
    except UnicodeDecodeError as err:
        raise ValueError(f"CIFAR10: {path!r} is not the ASCII list of class names it "
                         f"should be ({err})") from None
    if len(names) != 10:
        raise ValueError(f"CIFAR10: {path!r} lists {len(names)} class names, expected 10")
    return names


def _read_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(images N x 32 x 32 x 3 uint8, labels N int64) of one binary batch file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"CIFAR10: batch file {path!r} is missing. {_GET_IT}")
    raw = np.fromfile(path, np.uint8)
    if raw.size == 0 or raw.size % RECORD_BYTES:
        raise ValueError(f"CIFAR10: {path!r} has {raw.size} bytes, not a positive "
                         f"multiple of the {RECORD_BYTES}-byte record (1 label byte + "
                         f"3072 pixel bytes); the file is truncated or not a CIFAR-10 "
                         f"binary batch")
    records = raw.reshape(-1, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise ValueError(f"CIFAR10: {path!r} record {int(bad[0])} has label "
                         f"{int(labels[bad[0]])}, expected 0..9 (is this a CIFAR-100 "
                         f"file? its records have 2 label bytes)")
    images = records[:, 1:].reshape(-1, *IMAGE_SHAPE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


class CIFAR10(ArrayImageDataset):
    """CIFAR-10 (50,000 train / 10,000 test 32x32 colour images, 10 classes) read from the
    binary distribution: ``root/cifar-10-batches-bin/`` (or that folder as root) holding
    ``data_batch_1.bin`` .. ``data_batch_5.bin``, ``test_batch.bin`` and
    ``batches.meta.txt`` (the class names). ``.data`` is uint8 ``(N, 32, 32, 3)`` (HWC,
    like torchvision's), ``ds[i]`` is ``(image, target)``.

    ``download=True`` cannot fetch anything (Ember never uses the network); it only
    changes the missing-files message.

    >>> train = CIFAR10("~/data")                      # doctest: +SKIP
    >>> train.data.shape, train.classes[train[0][1]]   # doctest: +SKIP
    ((50000, 32, 32, 3), 'frog')
    """

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform, target_transform)
        self.train = train
        folder = _binary_folder(self.root, download)
        self.classes = _read_classes(folder)
        batches = [_read_batch(os.path.join(folder, name))
                   for name in (TRAIN_FILES if train else TEST_FILES)]
        self.data = np.concatenate([images for images, _ in batches])
        self.targets = np.concatenate([labels for _, labels in batches])

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"
