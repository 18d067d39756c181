"""The two stages of a pipeline that use threads: a parallel ``map`` and ``prefetch``.

Both are generators that own their threads: the threads start on the first ``next`` and
are stopped and joined when the generator finishes, fails or is closed (which CPython
does as soon as an abandoned iterator is dropped), so no thread outlives its iterator.
An error raised in a worker reaches the caller as the same exception object, carrying
the worker's traceback. NumPy releases the GIL in its heavy calls, which is what lets
threads overlap real work.
"""
from __future__ import annotations

import collections
import concurrent.futures as futures
import threading
from typing import Any, Callable, Iterable, Iterator

__all__ = ["parallel_map", "prefetch", "PREFETCH_AUTOTUNE_MAX"]

# The most elements an AUTOTUNE prefetch buffer grows to.
PREFETCH_AUTOTUNE_MAX = 16


def parallel_map(source: Iterable, fn: Callable[[Any], Any], workers: int,
                 deterministic: bool) -> Iterator:
    """``fn`` over ``source`` on ``workers`` threads, with ``workers`` calls in flight.

    The source is read in the calling thread; only ``fn`` runs on the pool. With
    ``deterministic`` the results come in input order, otherwise as they finish.
    """
    pool = futures.ThreadPoolExecutor(workers, thread_name_prefix="ember-pipeline-map")
    pending: collections.deque = collections.deque()
    try:
        for element in source:
            pending.append(pool.submit(fn, element))
            if len(pending) >= workers:
                yield from _finished(pending, deterministic)
        while pending:
            yield from _finished(pending, deterministic)
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True)


def _finished(pending: collections.deque, deterministic: bool) -> Iterator:
    """Pop and yield the next result (in order), or every result already done (unordered)."""
    if deterministic:
        yield pending.popleft().result()
        return
    done, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
    for f in [f for f in pending if f in done]:
        pending.remove(f)
        yield f.result()


class _Buffer:
    """A bounded FIFO between one producer and one consumer that can be closed.

    With ``autotune`` the capacity starts at 1 and grows by one (up to
    :data:`PREFETCH_AUTOTUNE_MAX`) each time the consumer finds it empty, i.e. each time
    the producer could not keep ahead.
    """

    def __init__(self, capacity: int, autotune: bool) -> None:
        self._items: collections.deque = collections.deque()
        self._capacity = 1 if autotune else capacity
        self._autotune = autotune
        self._closed = False
        self._cond = threading.Condition()

    def put(self, item: Any) -> bool:
        """Append ``item`` once there is room; False (dropping it) if the buffer is closed."""
        with self._cond:
            while len(self._items) >= self._capacity and not self._closed:
                self._cond.wait()
            if self._closed:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self) -> Any:
        with self._cond:
            if not self._items and self._autotune and \
                    self._capacity < PREFETCH_AUTOTUNE_MAX:
                self._capacity += 1
                self._cond.notify_all()
            while not self._items:
                self._cond.wait()
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()


_ITEM, _END, _ERROR = range(3)


def _produce(source: Iterable, buffer: _Buffer) -> None:
    it = iter(source)
    try:
        for element in it:
            if not buffer.put((_ITEM, element)):
                return
        buffer.put((_END, None))
    except BaseException as e:     # handed to the consumer, which re-raises it
        buffer.put((_ERROR, e))
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()


def prefetch(source: Iterable, buffer_size: int, autotune: bool) -> Iterator:
    """The elements of ``source``, produced up to ``buffer_size`` ahead by a thread."""
    buffer = _Buffer(buffer_size, autotune)
    thread = threading.Thread(target=_produce, args=(source, buffer),
                              name="ember-pipeline-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = buffer.get()
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            yield value
    finally:
        buffer.close()
        thread.join()
