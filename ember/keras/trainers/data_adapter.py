"""What ``fit``/``evaluate``/``predict`` accept as data, turned into batches.

Two kinds of sources, as in Keras 3:

- arrays: NumPy arrays or Ember tensors, or lists/dicts of them for multi-input and
  multi-output models; Ember slices them into batches (``batch_size``, default 32),
  shuffles them each epoch if asked, splits off ``validation_split`` and turns
  ``class_weight`` into per-sample weights;
- iterables that yield whole batches: an ``ember.data.DataLoader``, an ``ember.data``
  pipeline, a generator, a list of batches, ... Each batch is ``x``, ``(x,)``, ``(x, y)``
  or ``(x, y, sample_weight)``.

An :class:`EpochIterator` hands out one epoch of batches at a time and honours
``steps_per_epoch`` (an epoch then draws that many batches from an iterator that carries
on across epochs, as Keras does).
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Iterator

import numpy as np

from ember import random as ember_random
from ember import Tensor
from ember.keras import _tree

__all__ = ["unpack_x_y_sample_weight", "is_array_data", "ArrayBatches", "IterableBatches",
           "EpochIterator", "make_batches", "as_numpy_batch", "train_validation_split",
           "class_weight_to_sample_weight"]

Batch = tuple  # (x, y, sample_weight); y and sample_weight may be None


def unpack_x_y_sample_weight(data: Any) -> Batch:
    """``(x, y, sample_weight)`` from ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sw)``.

    >>> unpack_x_y_sample_weight((1, 2))
    (1, 2, None)
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple) or hasattr(data, "_fields"):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found a tuple of {len(data)} elements.")


def _is_leaf_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, Tensor))


def _is_number_list(x: Any) -> bool:
    return isinstance(x, list) and len(x) > 0 and all(
        isinstance(v, (int, float, bool, list, np.number)) for v in x)


def is_array_data(x: Any) -> bool:
    """True for arrays/tensors and lists, tuples or dicts holding only arrays/tensors."""
    if x is None:
        return False
    if _is_leaf_array(x) or _is_number_list(x):
        return True
    if isinstance(x, (list, tuple, dict)) and len(x) > 0:
        items = x.values() if isinstance(x, dict) else x
        return all(is_array_data(item) for item in items)
    return False


def _to_numpy(x: Any) -> np.ndarray:
    """One array leaf as NumPy; floating data becomes float32 (Keras's floatx)."""
    if isinstance(x, Tensor):
        x = x.detach().numpy()
    x = np.asarray(x)
    if x.dtype.kind == "f" and x.dtype != np.float32:
        x = x.astype(np.float32)
    if x.ndim == 0:
        raise ValueError(f"Expected arrays with a batch dimension, got a scalar {x!r}")
    return x


def _structure_to_numpy(x: Any) -> Any:
    if x is None:
        return None
    if _is_number_list(x):
        return _to_numpy(x)
    return _tree.map_structure(_to_numpy, x)


def as_numpy_batch(x: Any, y: Any = None, sample_weight: Any = None) -> Batch:
    """One batch given directly (``train_on_batch`` & co.), converted like ``fit``'s
    arrays; Ember tensors pass through."""
    def convert(part: Any) -> Any:
        if part is None or isinstance(part, Tensor):
            return part
        return _structure_to_numpy(part)
    return convert(x), convert(y), convert(sample_weight)


def _check_cardinality(arrays: tuple) -> int:
    """The common number of samples of ``(x, y, sample_weight)``, or Keras's error."""
    sizes = {a.shape[0] for part in arrays if part is not None for a in _tree.flatten(part)}
    if len(sizes) <= 1:
        return sizes.pop() if sizes else 0
    msg = ("Data cardinality is ambiguous. Make sure all arrays contain the same number of "
           "samples. ")
    for label, part in zip(("x", "y", "sample_weight"), arrays):
        if part is not None:
            msg += (f"'{label}' sizes: "
                    f"{', '.join(str(a.shape[0]) for a in _tree.flatten(part))}\n")
    raise ValueError(msg.rstrip("\n"))


def _take(part: Any, index: Any) -> Any:
    if part is None:
        return None
    return _tree.map_structure(lambda a: a[index], part)


def class_weight_to_sample_weight(class_weight: dict, y: Any) -> np.ndarray:
    """Per-sample weights ``class_weight[label]`` for integer labels or one-hot ``y``.

    >>> class_weight_to_sample_weight({0: 1.0, 1: 3.0}, np.array([1, 0, 1]))
    array([3., 1., 3.], dtype=float32)
    """
    if not isinstance(class_weight, dict):
        raise TypeError(f"`class_weight` must be a dict mapping class indices to weights, "
                        f"got {type(class_weight).__name__}")
    if y is None or isinstance(y, (list, tuple, dict)) and not _is_number_list(y):
        raise ValueError("`class_weight` is only supported for Models with a single output.")
    y = np.asarray(y.detach().numpy() if isinstance(y, Tensor) else y)
    if y.ndim == 2 and y.shape[1] > 1:
        labels = np.argmax(y, axis=1)
    elif y.ndim == 2 and y.shape[1] == 1:
        labels = y[:, 0]
    else:
        labels = y
    labels = np.round(labels).astype(np.int64)
    table = {int(k): float(v) for k, v in class_weight.items()}
    missing = sorted(set(np.unique(labels).tolist()) - set(table))
    if missing:
        raise ValueError(f"`class_weight` has no weight for class(es) {missing} found in the "
                         f"labels; it covers classes {sorted(table)}")
    lookup = np.zeros(max(max(table), int(labels.max(initial=0))) + 1, dtype=np.float32)
    for k, v in table.items():
        if k >= 0:
            lookup[k] = v
    return lookup[labels]


class ArrayBatches:
    """Batches sliced from in-memory arrays; reiterable, reshuffled on each pass."""

    one_shot = False

    def __init__(self, x: Any, y: Any = None, sample_weight: Any = None,
                 batch_size: int | None = None, shuffle: Any = False,
                 class_weight: dict | None = None) -> None:
        x, y = _structure_to_numpy(x), _structure_to_numpy(y)
        sample_weight = _structure_to_numpy(sample_weight)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same "
                                 "time.")
            sample_weight = class_weight_to_sample_weight(class_weight, y)
        self.num_samples = _check_cardinality((x, y, sample_weight))
        self.arrays = (x, y, sample_weight)
        if batch_size is None:
            batch_size = 32
        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"`shuffle` must be True, False or 'batch', got {shuffle!r}")
        self.batch_size, self.shuffle = int(batch_size), shuffle
        self.num_batches = math.ceil(self.num_samples / self.batch_size)

    def _batch_indices(self) -> list:
        """Each batch's indices for one epoch, shuffled as asked."""
        n, b = self.num_samples, self.batch_size
        starts = range(0, n, b)
        if not self.shuffle:
            return [slice(i, i + b) for i in starts]
        rng = ember_random.get(None)    # Ember's generator: ember.manual_seed reproduces
        if self.shuffle == "batch":     # batch-sized chunks in a random order, each shuffled
            chunks = [rng.permutation(np.arange(i, min(i + b, n))) for i in starts]
            return [chunks[i] for i in rng.permutation(len(chunks))]
        order = rng.permutation(n)
        return [order[i:i + b] for i in starts]

    def iterate(self) -> Iterator[Batch]:
        for index in self._batch_indices():
            yield tuple(_take(part, index) for part in self.arrays)


class IterableBatches:
    """Batches produced by an iterable (DataLoader, pipeline, generator, list, ...)."""

    def __init__(self, source: Any, class_weight: dict | None = None) -> None:
        self.source = source
        self.one_shot = iter(source) is source if hasattr(source, "__next__") else False
        self.class_weight = class_weight
        try:
            self.num_batches = len(source)
        except TypeError:
            self.num_batches = None

    def iterate(self) -> Iterator[Batch]:
        for data in (self.source if self.one_shot else iter(self.source)):
            x, y, sw = unpack_x_y_sample_weight(data)
            if self.class_weight is not None and y is not None:
                if sw is not None:
                    raise ValueError("You cannot `class_weight` and `sample_weight` at the "
                                     "same time.")
                sw = class_weight_to_sample_weight(self.class_weight, y)
            yield x, y, sw


def make_batches(x: Any, y: Any = None, sample_weight: Any = None,
                 batch_size: int | None = None, shuffle: Any = False,
                 class_weight: dict | None = None, who: str = "fit") -> Any:
    """The batch source for the data given to ``fit``/``evaluate``/``predict``."""
    if x is None:
        raise ValueError(f"{who}: the `x` argument is required (input data), got None")
    if is_array_data(x):
        return ArrayBatches(x, y, sample_weight, batch_size, shuffle, class_weight)
    from ember.data import Dataset, IterableDataset
    if isinstance(x, Dataset) and not isinstance(x, IterableDataset):
        raise TypeError(f"{who}: got a map-style {type(x).__name__}, which yields single "
                        "samples; wrap it in ember.data.DataLoader(dataset, batch_size=...) "
                        "to give batches")
    if not hasattr(x, "__iter__"):
        raise TypeError(f"{who}: unrecognized data type: x={x!r} (of type "
                        f"{type(x).__name__}); expected NumPy arrays, Ember tensors, lists "
                        "or dicts of them, or an iterable of batches (DataLoader, "
                        "ember.data pipeline, generator)")
    for name, value in (("y", y), ("sample_weight", sample_weight)):
        if value is not None:
            raise ValueError(f"{who}: the `{name}` argument is not supported when `x` is a "
                             f"{type(x).__name__} (an iterable of batches): the batches "
                             f"must hold it, as (x, y) or (x, y, sample_weight)")
    if batch_size is not None:
        raise ValueError(f"{who}: the `batch_size` argument must not be specified when `x` "
                         f"is a {type(x).__name__} (an iterable of batches), since it "
                         "generates batches itself")
    return IterableBatches(x, class_weight)


def train_validation_split(x: Any, y: Any, sample_weight: Any,
                           validation_split: float) -> tuple[Batch, Batch]:
    """Split arrays into training data and the LAST ``validation_split`` fraction of
    samples (before any shuffling), as Keras does."""
    if not is_array_data(x):
        raise ValueError("`validation_split` is only supported for Tensors or NumPy arrays, "
                         f"found an input of type {type(x).__name__}; pass "
                         "`validation_data` instead")
    parts = tuple(_structure_to_numpy(p) for p in (x, y, sample_weight))
    n = _check_cardinality(parts)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to "
                         "split it into a validation and training set as specified by "
                         f"`validation_split={validation_split}`. Either provide more data, "
                         "or a different value for the `validation_split` argument.")
    train = tuple(_take(p, slice(0, split_at)) for p in parts)
    val = tuple(_take(p, slice(split_at, None)) for p in parts)
    return train, val


class EpochIterator:
    """One epoch of ``(step, (x, y, sample_weight))`` per ``iter()``.

    Without ``steps`` an epoch is one full pass over the source. With ``steps`` each
    epoch draws that many batches from an iterator kept across epochs; a reiterable
    source starts over when it runs out. ``exhausted`` turns True when a source gave no
    batch at all for an epoch (a spent generator): the caller stops there.
    """

    def __init__(self, batches: Any, steps: int | None = None) -> None:
        if steps is not None and (not isinstance(steps, (int, np.integer)) or steps <= 0):
            raise ValueError(f"`steps_per_epoch`/`steps` must be a positive integer or None, "
                             f"got {steps!r}")
        self.batches, self._steps = batches, steps
        self._iterator: Iterator | None = None
        self.exhausted = False

    @property
    def steps(self) -> int | None:
        """Batches per epoch, or None while unknown (an iterable without a length)."""
        return self._steps if self._steps is not None else self.batches.num_batches

    def __iter__(self) -> Iterator[tuple[int, Batch]]:
        if self._steps is None:
            seen = 0
            for step, batch in enumerate(self.batches.iterate()):
                seen += 1
                yield step, batch
            if seen == 0:
                self._ran_out()
            elif self.batches.num_batches is None and not self.batches.one_shot:
                self.batches.num_batches = seen
            return
        step, restarted = 0, False
        while step < self._steps:
            if self._iterator is None:
                self._iterator = self.batches.iterate()
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                if self.batches.one_shot or restarted:
                    self._ran_out()
                    return
                restarted = True
                continue
            restarted = False
            yield step, batch
            step += 1

    def _ran_out(self) -> None:
        self.exhausted = True
        warnings.warn("Your input ran out of data; interrupting training. Make sure that "
                      "your dataset or generator can generate at least "
                      "`steps_per_epoch * epochs` batches.", UserWarning, stacklevel=3)
