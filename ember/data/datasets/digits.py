"""scikit-learn's bundled 8x8 handwritten digits (the UCI optical digits test set)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ember.data.datasets._base import ArrayImageDataset
from ember.data.datasets._optional import require

__all__ = ["Digits"]


class Digits(ArrayImageDataset):
    """The 1,797 8x8 digit images that scikit-learn ships (``load_digits``), one split.

    ``.data`` is uint8 ``(1797, 8, 8)`` holding the original values 0..16 (16 = full ink,
    NOT 0..255: scale by 255/16 or 1/16 yourself); ``.targets`` int64 0..9. ``ds[i]`` is
    ``(image, target)`` with ``transform`` / ``target_transform`` applied as usual.

    >>> digits = Digits()
    >>> image, label = digits[0]
    >>> len(digits), image.shape, int(image.max()), label
    (1797, (8, 8), 15, 0)
    """

    classes = [str(d) for d in range(10)]

    def __init__(self, transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        super().__init__(None, transform, target_transform)
        sklearn_datasets = require("sklearn.datasets", "Digits")
        bunch = sklearn_datasets.load_digits()
        images = bunch.images
        if images.shape[1:] != (8, 8) or not np.array_equal(images, np.round(images)) \
                or images.min() < 0 or images.max() > 16:
            raise ValueError(f"Digits: scikit-learn's load_digits returned images of shape "
                             f"{images.shape} with values {images.min()}..{images.max()}, "
                             f"expected whole numbers 0..16 in 8x8 images")
        self.data = images.astype(np.uint8)
        self.targets = bunch.target.astype(np.int64)
