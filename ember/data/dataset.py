"""Datasets, mirroring ``torch.utils.data``: the map-style ``Dataset`` (``ds[i]``, ``len``),
the ``IterableDataset`` (a stream), and ways to combine them: ``TensorDataset``,
``ConcatDataset``, ``ChainDataset``, ``StackDataset``, ``Subset`` and ``random_split``."""
from __future__ import annotations

import bisect
import itertools
import math
import types
import warnings
from typing import Any, Iterable, Iterator, Sequence

from ember.ops.creation import randperm
from ember.random import Generator
from ember.tensor import Tensor

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "ChainDataset",
           "StackDataset", "Subset", "random_split"]


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__`` (and usually ``__len__``).

    ``a + b`` concatenates two datasets into a :class:`ConcatDataset`. A subclass may also
    define ``__getitems__(indices)`` to fetch a whole batch at once; the DataLoader uses it.

    >>> class Squares(Dataset):
    ...     def __len__(self): return 5
    ...     def __getitem__(self, i): return i * i
    >>> Squares()[3]
    9
    """

    # ``Dataset[int]`` in annotations and base classes, as with PyTorch's generic Dataset.
    __class_getitem__ = classmethod(types.GenericAlias)

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream of samples: subclasses define ``__iter__``.

    With DataLoader workers each worker iterates its own copy; use
    :func:`ember.data.get_worker_info` inside ``__iter__`` to give each worker its own
    share. ``a + b`` chains two streams into a :class:`ChainDataset`.

    >>> class Count(IterableDataset):
    ...     def __iter__(self): return iter(range(3))
    >>> list(Count() + Count())
    [0, 1, 2, 0, 1, 2]
    """

    def __iter__(self) -> Iterator:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset) -> "ChainDataset":
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the ``index``-th rows of equally long tensors: ``ds[i] = (t[i] for t)``.

    >>> ds = TensorDataset(ember.zeros(4, 2), ember.arange(4))
    >>> ds[1]
    (tensor([0., 0.]), tensor(1))
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise IndexError("TensorDataset needs at least one tensor")
        for i, t in enumerate(tensors):
            if t.ndim == 0:
                raise IndexError(f"TensorDataset: tensor {i} is 0-d; each tensor needs a "
                                 f"first dimension to take samples along")
        sizes = [t.shape[0] for t in tensors]
        if any(s != sizes[0] for s in sizes):
            raise AssertionError(f"TensorDataset: Size mismatch between tensors: the first "
                                 f"dimensions are {sizes}, expected all equal")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class ConcatDataset(Dataset):
    """The datasets one after another; ``cumulative_sizes[i]`` is where dataset ``i`` ends.

    >>> ds = ConcatDataset([range(3), range(10, 12)])
    >>> len(ds), ds[3], ds[-1], ds.cumulative_sizes
    (5, 10, 11, [3, 5])
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            idx += n
        if idx >= n:
            raise IndexError(f"ConcatDataset index {idx} is out of range for a dataset of "
                             f"length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Iterable datasets chained into one stream (assembled lazily, on each iteration).

    >>> list(ChainDataset([Count(), Count()]))   # Count as in IterableDataset's example
    [0, 1, 2, 0, 1, 2]
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def _checked(self) -> Iterator[IterableDataset]:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError(f"ChainDataset only supports IterableDataset, got "
                                     f"{type(d).__name__}")
            yield d

    def __iter__(self) -> Iterator:
        for d in self._checked():
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self._checked())


class StackDataset(Dataset):
    """Equally long datasets zipped: ``StackDataset(a, b)[i] == (a[i], b[i])`` and
    ``StackDataset(x=a, y=b)[i] == {'x': a[i], 'y': b[i]}``.

    >>> StackDataset(image=range(3), label=range(10, 13))[1]
    {'image': 1, 'label': 11}
    """

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or ``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        self.datasets: tuple | dict = args or kwargs
        lengths = [len(d) for d in (args or kwargs.values())]
        if any(n != lengths[0] for n in lengths):
            raise ValueError(f"Size mismatch between datasets: lengths {lengths}")
        self._length = lengths[0]

    def _parts(self) -> Iterable[tuple]:
        return self.datasets.items() if isinstance(self.datasets, dict) \
            else enumerate(self.datasets)

    def __getitem__(self, index: Any) -> tuple | dict:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list) -> list:
        columns = {key: fetch_many(d, indices) for key, d in self._parts()}
        rows = [{k: col[i] for k, col in columns.items()} for i in range(len(indices))]
        return rows if isinstance(self.datasets, dict) else [tuple(r.values()) for r in rows]

    def __len__(self) -> int:
        return self._length


def fetch_many(dataset: Any, indices: list) -> list:
    """``[dataset[i] for i in indices]``, through ``__getitems__`` when it has one."""
    getitems = getattr(dataset, "__getitems__", None)
    if not callable(getitems):
        return [dataset[i] for i in indices]
    items = getitems(indices)
    if len(items) != len(indices):
        raise ValueError(f"Nested dataset's output size mismatch. Expected {len(indices)}, "
                         f"got {len(items)}")
    return items


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    >>> Subset(range(10, 20), [5, 0])[0]
    15
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        # The DataLoader fetches batches through __getitems__: a subclass that changes
        # __getitem__ alone would be bypassed silently.
        if type(self).__getitem__ is not Subset.__getitem__ \
                and type(self).__getitems__ is Subset.__getitems__:
            raise NotImplementedError(
                f"{type(self).__name__} overrides __getitem__ but not __getitems__; when "
                f"subclassing Subset, override both (e.g. def __getitems__(self, indices): "
                f"return [self[i] for i in indices])")
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list) -> list:
        return fetch_many(self.dataset, [self.indices[i] for i in indices])

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping :class:`Subset` s.

    ``lengths`` are either the sizes (summing to ``len(dataset)``) or fractions summing to
    1; with fractions each split gets ``floor(len * fraction)`` samples and the remainder
    is handed out one by one from the first split on. ``generator`` makes it reproducible
    (the default generator, seeded by ``ember.manual_seed``, otherwise).

    >>> g = ember.Generator().manual_seed(0)
    >>> train, val = random_split(range(10), [0.8, 0.2], generator=g)
    >>> len(train), len(val)
    (8, 2)
    """
    lengths = list(lengths)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        n = len(dataset)
        sizes = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              f"empty dataset.", stacklevel=2)
        lengths = sizes
    if sum(lengths) != len(dataset):
        raise ValueError(f"Sum of input lengths does not equal the length of the input "
                         f"dataset! (lengths {lengths} sum to {sum(lengths)}, the dataset "
                         f"has {len(dataset)} samples)")
    order = randperm(sum(lengths), generator=generator).tolist()
    return [Subset(dataset, order[end - size:end])
            for end, size in zip(itertools.accumulate(lengths), lengths)]
