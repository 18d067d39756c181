"""Fetchers: turn one entry of the index sampler into one batch, the same way in the main
process and in DataLoader workers."""
from __future__ import annotations

from typing import Any, Callable

from ember.data.dataset import fetch_many


class MapFetcher:
    """Batches from a map-style dataset: ``collate_fn([dataset[i] for i in indices])``,
    through the dataset's ``__getitems__`` when it has one."""

    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn

    def fetch(self, index: Any) -> Any:
        if self.auto_collation:
            return self.collate_fn(fetch_many(self.dataset, index))
        return self.collate_fn(self.dataset[index])


class IterableFetcher:
    """Batches from an iterable dataset: the next ``len(index)`` samples of one iterator
    over it (the entries of ``index`` are ignored). Raises ``StopIteration`` once the
    stream is exhausted, or when only a short last batch is left and ``drop_last``."""

    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool) -> None:
        self.iterator = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index: Any) -> Any:
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        data = []
        for _ in index:
            try:
                data.append(next(self.iterator))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


def make_fetcher(iterable: bool, dataset: Any, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool) -> MapFetcher | IterableFetcher:
    """The fetcher for ``dataset`` (an IterableDataset when ``iterable``)."""
    cls = IterableFetcher if iterable else MapFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)
