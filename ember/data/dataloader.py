"""``DataLoader``: batches from a dataset, mirroring ``torch.utils.data.DataLoader``.

With ``num_workers > 0`` batches are made in parallel by worker threads (the default; see
docs/data.md for the measurements behind that choice) or worker processes
(``multiprocessing_context='fork' | 'spawn' | 'forkserver'`` or a context object).
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.context
import warnings
from typing import Any, Callable, Iterator

from ember.data._collate import default_collate, default_convert
from ember.data._worker_fetch import make_fetcher
from ember.data._worker_pool import MultiWorkerIter
from ember.data.dataset import Dataset, IterableDataset
from ember.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, \
    _InfiniteConstantSampler
from ember.random import Generator

__all__ = ["DataLoader"]

# What multiprocessing_context=None means: see "Threads or processes" in docs/data.md.
DEFAULT_WORKER_CONTEXT = "thread"

# Fixed once the loader is made (they decide its sampling), as in PyTorch.
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
           "persistent_workers")


class DataLoader:
    """Iterate over ``dataset`` in batches, optionally shuffled and in parallel.

    The arguments and their rules are PyTorch's: ``shuffle`` / ``sampler`` /
    ``batch_sampler`` choose the order (mutually exclusive as in PyTorch),
    ``batch_size=None`` turns off automatic batching (samples pass through
    ``default_convert``), ``collate_fn`` merges samples into a batch (``default_collate``),
    ``drop_last`` drops a short last batch. An IterableDataset is read as a stream (no
    sampler); each worker iterates its own copy, sharding with :func:`get_worker_info`.

    ``num_workers`` workers prepare up to ``prefetch_factor`` (default 2) batches each
    ahead; batches arrive in order (``in_order=True``). ``persistent_workers`` keeps the
    workers between epochs. Each worker gets ``worker_init_fn(worker_id)`` and a seed
    ``base_seed + worker_id`` (``base_seed`` drawn from ``generator``); worker processes
    seed Ember's, NumPy's and ``random``'s global generators with it. ``timeout`` (seconds)
    bounds the wait for one batch from the workers. ``pin_memory`` has no effect on the CPU.

    >>> ds = TensorDataset(ember.arange(10.0))
    >>> [b[0].tolist() for b in DataLoader(ds, batch_size=4)]
    [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0]]
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | None = None,
                 batch_sampler: Sampler | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Generator | None = None,
                 *, prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 "
                             "to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            for name, value, unset in (("shuffle", shuffle, shuffle in (None, False)),
                                       ("sampler", sampler, sampler is None),
                                       ("batch_sampler", batch_sampler,
                                        batch_sampler is None)):
                if not unset:
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.in_order = in_order
        self.persistent_workers = persistent_workers
        self.multiprocessing_context = multiprocessing_context
        self.collate_fn = collate_fn if collate_fn is not None else \
            default_collate if self._auto_collation else default_convert
        if pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is "
                          "found, then device pinned memory won't be used.", stacklevel=2)
        self._iterator: MultiWorkerIter | None = None
        self.__initialized = True

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FROZEN and self.__dict__.get("_DataLoader__initialized"):
            raise ValueError(f"{name} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def multiprocessing_context(self) -> Any:
        """How workers run: ``'thread'``, a start method name or a multiprocessing context
        (``None``: the default, threads)."""
        return self._multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx: Any) -> None:
        if ctx is not None:
            if self.num_workers == 0:
                raise ValueError(f"multiprocessing_context can only be used with multi-process "
                                 f"loading (num_workers > 0), but got "
                                 f"num_workers={self.num_workers}")
            if isinstance(ctx, str):
                valid = ["thread", *multiprocessing.get_all_start_methods()]
                if ctx not in valid:
                    raise ValueError(f"multiprocessing_context option should specify a valid "
                                     f"start method in {valid!r}, but got "
                                     f"multiprocessing_context={ctx!r}")
            elif not isinstance(ctx, multiprocessing.context.BaseContext):
                raise TypeError(f"multiprocessing_context option should be a valid context "
                                f"object or a string specifying the start method, but got "
                                f"multiprocessing_context={ctx}")
        self._multiprocessing_context = ctx

    @property
    def _worker_context(self) -> Any:
        """``'thread'`` or the multiprocessing context the workers are started from."""
        ctx = self._multiprocessing_context or DEFAULT_WORKER_CONTEXT
        if ctx == "thread":
            return ctx
        return multiprocessing.get_context(ctx) if isinstance(ctx, str) else ctx

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> Iterator:
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if not self.persistent_workers:
            return MultiWorkerIter(self)
        if self._iterator is None or self._iterator._closed:   # closed: a worker died
            self._iterator = MultiWorkerIter(self)
        else:
            self._iterator._reset(self)
        return self._iterator

    def __len__(self) -> int:
        if not self._iterable:
            return len(self._index_sampler)
        n = len(self.dataset)   # TypeError when the stream has no length, as in PyTorch
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class _SingleProcessIter:
    """Iterates a DataLoader with ``num_workers=0``: batches are made on demand here."""

    def __init__(self, loader: DataLoader) -> None:
        self._index_sampler = loader._index_sampler
        self._sampler_iter = iter(self._index_sampler)
        self._fetcher = make_fetcher(loader._iterable, loader.dataset, loader._auto_collation,
                                     loader.collate_fn, loader.drop_last)

    def __iter__(self) -> "_SingleProcessIter":
        return self

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __next__(self) -> Any:
        return self._fetcher.fetch(next(self._sampler_iter))
