"""Datasets laid out as one folder per class (torchvision's ``DatasetFolder`` and
``ImageFolder``): ``root/<class>/**/<file>``; classes are the sorted folder names."""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from ember.data.dataset import Dataset
from ember.data.datasets._base import dataset_repr
from ember.data.datasets._optional import require

__all__ = ["IMG_EXTENSIONS", "DatasetFolder", "ImageFolder", "default_loader",
           "find_classes", "has_file_allowed_extension", "make_dataset"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def has_file_allowed_extension(filename: str, extensions: str | tuple[str, ...]) -> bool:
    """Whether ``filename`` ends (case-insensitively) with one of ``extensions``."""
    suffixes = extensions if isinstance(extensions, str) else tuple(extensions)
    return filename.lower().endswith(suffixes)


def find_classes(directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
    """The sorted names of the sub-folders of ``directory`` and ``{name: index}``.

    >>> find_classes("photos")               # doctest: +SKIP
    (['cat', 'dog'], {'cat': 0, 'dog': 1})
    """
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    return classes, {name: i for i, name in enumerate(classes)}


def make_dataset(directory: str | os.PathLike, class_to_idx: dict[str, int] | None = None,
                 extensions: str | tuple[str, ...] | None = None,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> list[tuple[str, int]]:
    """The ``(path, class_index)`` pairs under ``directory/<class>/``, each class's files
    in sorted walk order. Exactly one of ``extensions`` and ``is_valid_file`` selects the
    files. A class without any file raises FileNotFoundError unless ``allow_empty``."""
    directory = os.path.expanduser(os.fspath(directory))
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    elif not class_to_idx:
        raise ValueError("'class_to_idx' must have at least one entry to collect any "
                         "samples.")
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None "
                         "at the same time")
    accept = is_valid_file or (lambda path: has_file_allowed_extension(path, extensions))
    samples, found = [], set()
    for name in sorted(class_to_idx):
        class_dir = os.path.join(directory, name)
        if not os.path.isdir(class_dir):
            continue
        for folder, _, files in sorted(os.walk(class_dir, followlinks=True)):
            for file in sorted(files):
                path = os.path.join(folder, file)
                if accept(path):
                    samples.append((path, class_to_idx[name]))
                    found.add(name)
    empty = sorted(set(class_to_idx) - found)
    if empty and not allow_empty:
        message = f"Found no valid file for the classes {', '.join(empty)}. "
        if extensions is not None:
            kinds = extensions if isinstance(extensions, str) else ", ".join(extensions)
            message += f"Supported extensions are: {kinds}"
        raise FileNotFoundError(message)
    return samples


def default_loader(path: str) -> np.ndarray:
    """The image at ``path`` as an RGB uint8 array (H, W, 3), read with Pillow; an
    unreadable or corrupt file raises OSError naming it."""
    image_module = require("PIL.Image", "ImageFolder's default loader")
    try:
        with image_module.open(path) as image:
            return np.array(image.convert("RGB"))
    except OSError as err:   # PIL's UnidentifiedImageError and truncated data are OSErrors
        raise OSError(f"ImageFolder: cannot read the image {path!r}: {err}") from err


class DatasetFolder(Dataset):
    """Samples stored as ``root/<class>/**/<file>``, read with ``loader(path)``:
    ``ds[i] = (transform(loader(path)), target_transform(class_index))``.

    Attributes (as torchvision's): ``classes``, ``class_to_idx``, ``samples`` (list of
    ``(path, class_index)``), ``targets`` (list of class indices), ``extensions``.

    >>> ds = DatasetFolder("texts", loader=open, extensions=(".txt",))   # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike, loader: Callable[[str], Any],
                 extensions: tuple[str, ...] | None = None,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> None:
        self.root = os.path.expanduser(os.fspath(root))
        self.transform, self.target_transform = transform, target_transform
        self.classes, self.class_to_idx = self.find_classes(self.root)
        self.samples = self.make_dataset(self.root, self.class_to_idx, extensions,
                                         is_valid_file, allow_empty)
        self.loader, self.extensions = loader, extensions
        self.targets = [target for _, target in self.samples]

    @staticmethod
    def make_dataset(directory: str, class_to_idx: dict[str, int],
                     extensions: tuple[str, ...] | None = None,
                     is_valid_file: Callable[[str], bool] | None = None,
                     allow_empty: bool = False) -> list[tuple[str, int]]:
        """Override to change how samples are collected (see :func:`make_dataset`)."""
        if class_to_idx is None:
            raise ValueError("The class_to_idx parameter cannot be None.")
        return make_dataset(directory, class_to_idx, extensions, is_valid_file, allow_empty)

    def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
        """Override to change how classes are found (see :func:`find_classes`)."""
        return find_classes(directory)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __repr__(self) -> str:
        return dataset_repr(self, [])


class ImageFolder(DatasetFolder):
    """Images stored as ``root/<class>/**/<image>`` (files ending in one of
    :data:`IMG_EXTENSIONS` unless ``is_valid_file`` decides). The default loader reads
    each image with Pillow into an RGB uint8 array (H, W, 3); ``imgs`` is ``samples``.

    >>> ds = ImageFolder("photos")     # photos/cat/1.png, photos/dog/a.jpg  # doctest: +SKIP
    >>> image, label = ds[0]           # (H, W, 3) uint8 array, 0            # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None,
                 loader: Callable[[str], Any] | None = None,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> None:
        super().__init__(root, default_loader if loader is None else loader,
                         IMG_EXTENSIONS if is_valid_file is None else None,
                         transform=transform, target_transform=target_transform,
                         is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.imgs = self.samples
