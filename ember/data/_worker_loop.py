"""What runs inside a DataLoader worker (a thread or a process): ``get_worker_info``, the
per-worker seeding, the wrapper that carries a worker's exception back to the caller, and
the loop that turns tasks into batches."""
from __future__ import annotations

import dataclasses
import importlib
import queue
import random
import sys
import threading
import traceback
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable

import numpy as np

from ember import random as _random
from ember.data._worker_fetch import make_fetcher
from ember.ops.creation import from_numpy
from ember.tensor import Tensor

# How often an idle worker checks that the main process still wants it (seconds).
POLL_INTERVAL = 0.2


class WorkerInfo:
    """What a DataLoader worker knows about itself: ``id``, ``num_workers``, ``seed`` and
    its own copy of the ``dataset``. Read-only."""

    id: int
    num_workers: int
    seed: int
    dataset: Any

    def __init__(self, **kwargs: Any) -> None:
        for k, v in kwargs.items():
            object.__setattr__(self, k, v)

    def __setattr__(self, key: str, value: Any) -> None:
        raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


_thread_info = threading.local()        # set in thread workers
_process_info: WorkerInfo | None = None  # set in process workers


def get_worker_info() -> WorkerInfo | None:
    """Inside a DataLoader worker, its :class:`WorkerInfo`; ``None`` in the main process.

    An IterableDataset uses it to give each worker its own share of the stream:

    >>> info = get_worker_info()
    >>> shard = range(100) if info is None else range(info.id, 100, info.num_workers)
    """
    return getattr(_thread_info, "info", None) or _process_info


class _KeyErrorMessage(str):
    """A KeyError message that prints as written (KeyError shows its argument's repr)."""

    def __repr__(self) -> str:
        return str(self)


class ExceptionWrapper:
    """An exception caught in a worker, to be raised again in the main process with the
    worker's traceback in its message. Crossing to another process, its type travels by
    name and is looked up again there (RuntimeError if that fails)."""

    def __init__(self, where: str, exc_type: type | None = None, text: str | None = None):
        if exc_type is None:
            exc_type, exc, tb = sys.exc_info()
            text = "".join(traceback.format_exception(exc_type, exc, tb))
        self.exc_type = exc_type
        self.text = text
        self.where = where

    def __reduce__(self) -> tuple:
        return (_rebuild_exception_wrapper,
                (self.exc_type.__module__, self.exc_type.__qualname__, self.text, self.where))

    def reraise(self) -> None:
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.text}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        try:
            raise exc
        finally:
            exc = None  # no exception <-> frame cycle keeping the loader's iterator alive


def _rebuild_exception_wrapper(module: str, qualname: str, text: str,
                               where: str) -> ExceptionWrapper:
    try:
        exc_type: Any = importlib.import_module(module)
        for part in qualname.split("."):
            exc_type = getattr(exc_type, part)
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
            raise TypeError(qualname)
    except Exception:
        exc_type = RuntimeError
    return ExceptionWrapper(where, exc_type, text)


def _reduce_tensor(t: Tensor) -> tuple:
    if t.grad_fn is not None:
        raise RuntimeError("a DataLoader worker cannot send a tensor that is part of an "
                           "autograd graph (a non-leaf tensor requiring grad) to the main "
                           "process; return tensor.detach() from the dataset instead")
    return (_rebuild_tensor, (t.detach().numpy(), t.requires_grad))


def _rebuild_tensor(array: np.ndarray, requires_grad: bool) -> Tensor:
    return from_numpy(array).requires_grad_(requires_grad)


# Tensors refuse ordinary pickling (they are saved with ember.save). Between DataLoader
# processes they travel as their NumPy array, over the pipes of multiprocessing (batches,
# and with 'spawn' or 'forkserver' the dataset handed to a new worker).
ForkingPickler.register(Tensor, _reduce_tensor)


class WorkerExhausted:
    """A worker's answer once its copy of an IterableDataset has no more batches."""


@dataclasses.dataclass
class WorkerSetup:
    """Everything a worker needs to make batches; the same for every worker."""
    dataset: Any
    iterable: bool
    auto_collation: bool
    collate_fn: Callable
    drop_last: bool
    worker_init_fn: Callable | None
    num_workers: int


def seed_worker(base_seed: int, worker_id: int) -> int:
    """Seed this process's global RNGs (Ember's, NumPy's legacy one, ``random``) for
    worker ``worker_id``, as PyTorch does; returns the worker's seed."""
    seed = (base_seed + worker_id) % 2 ** 64
    random.seed(seed)
    _random.manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def worker_loop(end: Any, setup: WorkerSetup, worker_id: int, base_seed: int,
                done: Any, in_process: bool) -> None:
    """Serve tasks from ``end`` until told to stop, the main process is gone, or ``done``.

    ``end`` is the worker's side of its channel: ``attach()`` (called first),
    ``get(timeout)`` (raises queue.Empty), ``put(message)`` and ``parent_alive()``. A task
    is ``('task', epoch, idx, index)``, ``('resume', epoch)`` starts a new epoch
    (persistent workers) and ``None`` stops. Each
    task is answered with ``(worker_id, epoch, idx, batch | ExceptionWrapper |
    WorkerExhausted)``; tasks of an older epoch are skipped.
    """
    global _process_info
    end.attach()
    where = f"in DataLoader worker process {worker_id}"
    if in_process:
        seed = seed_worker(base_seed, worker_id)
    else:   # threads share the process's global RNGs: they are not re-seeded
        seed = (base_seed + worker_id) % 2 ** 64
    info = WorkerInfo(id=worker_id, num_workers=setup.num_workers, seed=seed,
                      dataset=setup.dataset)
    if in_process:
        _process_info = info
    else:
        _thread_info.info = info

    def new_fetcher() -> Any:
        try:
            return make_fetcher(setup.iterable, setup.dataset, setup.auto_collation,
                                setup.collate_fn, setup.drop_last)
        except Exception:
            return ExceptionWrapper(where)

    try:
        if setup.worker_init_fn is not None:
            setup.worker_init_fn(worker_id)
        fetcher = new_fetcher()
    except Exception:
        fetcher = ExceptionWrapper(where)
    epoch = 0
    try:
        while not done.is_set():
            try:
                task = end.get(POLL_INTERVAL)
            except queue.Empty:
                if not end.parent_alive():
                    return
                continue
            if task is None:
                return
            if task[0] == "resume":
                epoch = task[1]
                if setup.iterable and not isinstance(fetcher, ExceptionWrapper):
                    fetcher = new_fetcher()
                continue
            _, task_epoch, idx, index = task
            if task_epoch != epoch or done.is_set():
                continue
            if isinstance(fetcher, ExceptionWrapper):
                result = fetcher
            else:
                try:
                    result = fetcher.fetch(index)
                except StopIteration:   # the end of the stream; from a map dataset, a bug
                    result = WorkerExhausted() if setup.iterable else ExceptionWrapper(where)
                except Exception:
                    result = ExceptionWrapper(where)
            end.put((worker_id, epoch, idx, result))
    except (EOFError, OSError):
        pass    # the main process closed the channel: nobody is waiting for batches
    except KeyboardInterrupt:
        pass    # Ctrl-C reaches the whole process group; the main process reports it
    finally:
        if not in_process:
            _thread_info.info = None
