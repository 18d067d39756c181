"""DataLoader throughput workloads: ``ember.data.DataLoader`` next to PyTorch's.

One step is one epoch over the first :data:`N_IMAGES` real Fashion-MNIST training images,
``batch_size=64, shuffle=True``, with augmentation (random crop with 2-pixel padding,
horizontal flip, scaling to float and normalisation). The augmentation is one NumPy class,
:class:`AugmentedImages`, handed to both loaders, so the rows compare the loader machinery
(sampling, fetching, collating into framework tensors, workers). The ``_transforms`` rows
swap the Ember side's dataset for :class:`TransformedImages` running
``ember.data.transforms`` (the PyTorch side keeps the NumPy class: torchvision is not a
dependency). Workers are not persistent, so their start-up is paid every epoch as a user
with the default ``persistent_workers=False`` pays it, except in ``data_w2_persistent``.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from benchmarks.harness import Sides, Unavailable, Workload
from ember.cli import PIXEL_MEAN, PIXEL_STD

__all__ = ["DATA", "N_IMAGES", "AugmentedImages", "TransformedImages", "data_workloads",
           "fashion_mnist"]

N_IMAGES = 4096
BATCH_SIZE = 64
PADDING = 2


@functools.lru_cache(maxsize=1)
def _fashion_mnist_train() -> tuple[np.ndarray, np.ndarray]:
    try:
        from ember.data.datasets import FashionMNIST
    except ImportError as e:
        raise Unavailable(f"ember.data.datasets.FashionMNIST is not available yet ({e})")
    try:
        train = FashionMNIST(train=True)
    except FileNotFoundError as e:
        raise Unavailable(f"Fashion-MNIST is not installed: {str(e).splitlines()[0]}")
    return np.asarray(train.data, np.uint8), np.asarray(train.targets, np.int64)


def fashion_mnist(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` Fashion-MNIST training images (``uint8[n, 28, 28]``) and labels
    (``int64[n]``), read once per process; :class:`Unavailable` when they cannot be read."""
    images, labels = _fashion_mnist_train()
    if n > len(labels):
        raise ValueError(f"fashion_mnist: asked for {n} images, the training set has "
                         f"{len(labels)}")
    return images[:n], labels[:n]


class AugmentedImages:
    """Map-style dataset of ``uint8[N, H, W]`` images, augmented in NumPy per sample.

    ``ds[i]`` is ``(float32[1, H, W], label)``: a random ``H x W`` crop of the image padded
    by 2 zero pixels, flipped left-right with probability 1/2, scaled to [0, 1] and
    normalised with Fashion-MNIST's mean and standard deviation. Randomness comes from
    NumPy's global generator, which both frameworks re-seed in worker processes.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.padded = np.pad(images, ((0, 0), (PADDING, PADDING), (PADDING, PADDING)))
        self.labels = labels
        self.height, self.width = images.shape[1:]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        top, left = np.random.randint(0, 2 * PADDING + 1, size=2)
        image = self.padded[i, top:top + self.height, left:left + self.width]
        if np.random.random() < 0.5:
            image = image[:, ::-1]
        x = (image.astype(np.float32) * np.float32(1 / 255) - np.float32(PIXEL_MEAN)) \
            / np.float32(PIXEL_STD)
        return x[None], int(self.labels[i])


class TransformedImages:
    """Map-style dataset: ``ds[i]`` is ``(transform(images[i]), label)``."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Callable) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        return self.transform(self.images[i]), int(self.labels[i])


def _ember_transforms() -> Callable:
    from ember.data import transforms as T
    return T.Compose([T.ToTensor(), T.RandomCrop(28, padding=PADDING),
                      T.RandomHorizontalFlip(), T.Normalize((PIXEL_MEAN,), (PIXEL_STD,))])


def _epoch(loader: Any) -> Callable[[], tuple[int, int]]:
    """A step: one pass over ``loader``; returns (images seen, sum of their labels)."""
    def step() -> tuple[int, int]:
        seen = label_sum = 0
        for x, y in loader:
            seen += x.shape[0]
            label_sum += int(y.sum().item())
        return seen, label_sum
    return step


def _loaders(n: int, workers: int, ember_context: str | None = None,
             ember_transforms: bool = False, persistent: bool = False) -> Callable:
    def build(em: Any, th: Any) -> Sides:
        images, labels = fashion_mnist(n)
        numpy_ds = AugmentedImages(images, labels)
        ember_ds = TransformedImages(images, labels, _ember_transforms()) \
            if ember_transforms else numpy_ds
        common = {"batch_size": BATCH_SIZE, "shuffle": True, "num_workers": workers,
                  "persistent_workers": persistent}
        extra = {"multiprocessing_context": ember_context} if ember_context else {}
        em_loader = em.data.DataLoader(ember_ds, **common, **extra)
        th_loader = th.utils.data.DataLoader(numpy_ds, **common)
        variant = {"ember dataset": "ember.data.transforms Compose" if ember_transforms
                   else "NumPy AugmentedImages", "torch dataset": "NumPy AugmentedImages"}
        if workers:
            variant["ember workers"] = ember_context or "default (threads)"
            variant["torch workers"] = "default start method (fork), processes"
            variant["persistent_workers"] = str(persistent)
        return Sides(_epoch(em_loader), _epoch(th_loader), variant)
    return build


def data_workloads(n: int = N_IMAGES) -> list[Workload]:
    """The ``data`` group for ``n`` images per epoch (the tests use a small ``n``)."""
    what = (f"epoch of {n} Fashion-MNIST images, batch {BATCH_SIZE}, shuffle, "
            "crop+flip+normalize")
    np_aug = "NumPy augmentation on both sides"
    tf_aug = "Ember: ember.data.transforms, PyTorch: NumPy augmentation"
    return [
        Workload("data_w0", "data", f"{what}; {np_aug}; num_workers=0", _loaders(n, 0)),
        Workload("data_w2", "data",
                 f"{what}; {np_aug}; 2 workers, each side's default (Ember threads, "
                 "PyTorch fork)", _loaders(n, 2)),
        Workload("data_w2_persistent", "data",
                 f"{what}; {np_aug}; 2 workers, each side's default, persistent_workers=True",
                 _loaders(n, 2, persistent=True)),
        Workload("data_w2_fork", "data",
                 f"{what}; {np_aug}; 2 fork worker processes on both sides",
                 _loaders(n, 2, ember_context="fork")),
        Workload("data_transforms_w0", "data", f"{what}; {tf_aug}; num_workers=0",
                 _loaders(n, 0, ember_transforms=True)),
        Workload("data_transforms_w2", "data",
                 f"{what}; {tf_aug}; 2 workers, each side's default",
                 _loaders(n, 2, ember_transforms=True)),
    ]


DATA: list[Workload] = data_workloads()
