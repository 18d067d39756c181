"""Samplers: the order in which a DataLoader visits a map-style dataset, mirroring
``torch.utils.data``. Random ones draw from an :class:`ember.Generator` when given one, else
from the default generator, so ``ember.manual_seed`` makes them reproducible."""
from __future__ import annotations

import itertools
import types
from typing import Any, Iterable, Iterator, Sequence, Sized

import numpy as np

from ember import random as _random
from ember.ops.creation import as_tensor
from ember.random import Generator

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]

_CHUNK = 32     # indices drawn at a time when sampling with replacement (keeps it lazy)


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


class Sampler:
    """Base class: a sampler is an iterable of indices (or of lists of indices, for a
    batch sampler); defining ``__len__`` lets ``len(DataLoader)`` work.

    >>> class Backwards(Sampler):
    ...     def __init__(self, n): self.n = n
    ...     def __iter__(self): return iter(range(self.n - 1, -1, -1))
    ...     def __len__(self): return self.n
    >>> list(Backwards(3))
    [2, 1, 0]
    """

    # ``Sampler[int]`` in annotations and base classes, as with PyTorch's generic Sampler.
    __class_getitem__ = classmethod(types.GenericAlias)

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``.

    >>> list(SequentialSampler(range(3)))
    [0, 1, 2]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices of ``data_source`` in random order.

    Without replacement each epoch is a permutation (``num_samples`` larger than the
    dataset strings several permutations together); with replacement indices are drawn
    uniformly. Without a ``generator`` each iteration draws a fresh seed from the default
    generator.

    >>> sorted(RandomSampler(range(4)))
    [0, 1, 2, 3]
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator: Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        if not _is_int(self.num_samples) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        # The dataset may change size after the sampler is made.
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        if self.generator is None:
            seed = int(_random.get(None).integers(0, 2 ** 63))
            rng = Generator().manual_seed(seed).numpy
        else:
            rng = _random.get(self.generator)
        total = self.num_samples
        if self.replacement:
            for start in range(0, total, _CHUNK):
                yield from rng.integers(0, n, size=min(_CHUNK, total - start)).tolist()
            return
        if n == 0:
            raise ValueError(f"RandomSampler: cannot draw num_samples={total} samples "
                             f"without replacement from an empty data_source")
        for _ in range(total // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[:total % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in random order (a new permutation each iteration).

    >>> sorted(SubsetRandomSampler([7, 3, 5]))
    [3, 5, 7]
    """

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in _random.get(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices ``0..len(weights)-1`` drawn with probability proportional
    to ``weights`` (which need not sum to 1), with or without replacement.

    >>> list(WeightedRandomSampler([0.0, 1.0, 0.0], 3))
    [1, 1, 1]
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Generator | None = None) -> None:
        if not _is_int(num_samples) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        self.weights = as_tensor(w)     # float64, as in PyTorch
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        w = self.weights.numpy()
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise RuntimeError("WeightedRandomSampler: weights contain inf, nan or an "
                               "element < 0")
        if w.sum() <= 0:
            raise RuntimeError("WeightedRandomSampler: invalid multinomial distribution "
                               "(sum of weights <= 0)")
        rng = _random.get(self.generator)
        if self.replacement:
            return iter(rng.choice(len(w), size=self.num_samples, p=w / w.sum()).tolist())
        if self.num_samples > len(w):
            raise RuntimeError(f"WeightedRandomSampler: cannot draw num_samples="
                               f"{self.num_samples} without replacement from {len(w)} weights")
        # Sampling without replacement as a race: index i finishes at time Exp(1) / w[i];
        # the first num_samples to finish are the sample. Zero weights never finish and come
        # last, in random order (as PyTorch's multinomial returns them).
        with np.errstate(divide="ignore"):
            finish = rng.standard_exponential(len(w)) / w
        order = np.lexsort((rng.random(len(w)), finish))
        return iter(order[:self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; the last, shorter
    list is dropped when ``drop_last``.

    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int,
                 drop_last: bool) -> None:
        if not _is_int(batch_size) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list]:
        it = iter(self.sampler)
        while batch := list(itertools.islice(it, self.batch_size)):
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class _InfiniteConstantSampler(Sampler):
    """``None`` forever: the 'indices' of an IterableDataset, which ignores them."""

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)
