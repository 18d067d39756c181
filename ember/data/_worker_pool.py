"""The DataLoader's parallel side: worker threads or processes, the channels to them, and
the iterator that hands them tasks and yields their batches (in order by default)."""
from __future__ import annotations

import multiprocessing.connection
import os
import queue
import threading
import time
from typing import Any

from ember import random as _random
from ember.data._worker_loop import ExceptionWrapper, WorkerExhausted, WorkerSetup, \
    POLL_INTERVAL, worker_loop

# How long shutdown waits for workers to finish their current task before terminating
# worker processes (threads cannot be killed: they exit when their task ends).
JOIN_TIMEOUT = 5.0


class _ThreadEnd:
    """A thread worker's side of its channel."""

    def __init__(self, tasks: queue.Queue, results: queue.Queue) -> None:
        self.tasks, self.results = tasks, results

    def attach(self) -> None:
        pass

    def get(self, timeout: float) -> Any:
        return self.tasks.get(timeout=timeout)

    def put(self, message: Any) -> None:
        self.results.put(message)

    def parent_alive(self) -> bool:
        return True     # the threads die with their process


class _ProcessEnd:
    """A worker process's side of its pipe to the main process."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.parent_pid: int | None = None

    def attach(self) -> None:
        # The parent is the main process ('fork', 'spawn') or the forkserver, which exits
        # when the main process does: either way, it changes when the main process dies.
        self.parent_pid = os.getppid()

    def get(self, timeout: float) -> Any:
        if not self.conn.poll(timeout):
            raise queue.Empty
        return self.conn.recv()

    def put(self, message: Any) -> None:
        try:
            self.conn.send(message)
        except (EOFError, OSError):
            raise
        except Exception:   # the batch cannot be pickled: report that instead
            worker_id, epoch, idx, _ = message
            self.conn.send((worker_id, epoch, idx, ExceptionWrapper(
                f"in DataLoader worker process {worker_id}")))

    def parent_alive(self) -> bool:
        return os.getppid() == self.parent_pid


class _ThreadWorkers:
    """Workers as threads of this process: no copies, no pickling; NumPy releases the
    GIL in its heavy calls, so they run in parallel there."""

    def __init__(self, setup: WorkerSetup, base_seed: int) -> None:
        self.done = threading.Event()
        self.results: queue.Queue = queue.Queue()
        self.tasks = [queue.Queue() for _ in range(setup.num_workers)]
        self.workers = [
            threading.Thread(target=worker_loop, daemon=True,
                             name=f"ember DataLoader worker {i}",
                             args=(_ThreadEnd(q, self.results), setup, i, base_seed,
                                   self.done, False))
            for i, q in enumerate(self.tasks)]
        for t in self.workers:
            t.start()

    def send(self, worker_id: int, message: Any) -> None:
        self.tasks[worker_id].put(message)

    def recv(self, timeout: float) -> Any:
        try:
            return self.results.get(timeout=timeout)
        except queue.Empty:
            return None

    def raise_if_dead(self) -> None:
        dead = [t.name for t in self.workers if not t.is_alive()]
        if dead:    # only a BaseException such as SystemExit escapes worker_loop
            raise RuntimeError(f"DataLoader worker thread(s) {', '.join(dead)} exited "
                               f"unexpectedly")

    def shutdown(self) -> None:
        self.done.set()
        for q in self.tasks:
            q.put(None)
        deadline = time.monotonic() + JOIN_TIMEOUT
        for t in self.workers:
            if t is not threading.current_thread():  # the GC may run __del__ in a worker
                t.join(max(0.0, deadline - time.monotonic()))


class _ProcessWorkers:
    """Workers as processes of a multiprocessing context, one duplex pipe each."""

    def __init__(self, setup: WorkerSetup, base_seed: int, ctx: Any) -> None:
        self.done = ctx.Event()
        self.conns, self.workers = [], []
        try:
            for i in range(setup.num_workers):
                mine, theirs = ctx.Pipe(duplex=True)
                p = ctx.Process(target=worker_loop, daemon=True,
                                name=f"ember DataLoader worker {i}",
                                args=(_ProcessEnd(theirs), setup, i, base_seed,
                                      self.done, True))
                self.conns.append(mine)
                try:
                    p.start()   # with 'spawn', fails here if the dataset cannot be pickled
                finally:
                    theirs.close()
                self.workers.append(p)
        except BaseException:
            self.shutdown()
            raise

    def send(self, worker_id: int, message: Any) -> None:
        self.conns[worker_id].send(message)

    def recv(self, timeout: float) -> Any:
        sentinels = [p.sentinel for p in self.workers]
        ready = multiprocessing.connection.wait(self.conns + sentinels, timeout)
        for conn in (r for r in ready if r in self.conns):
            worker_id = self.conns.index(conn)
            try:
                return conn.recv()
            except (EOFError, OSError):
                pass    # it died: reported below
            except Exception as e:
                raise RuntimeError(f"DataLoader worker {worker_id} sent a batch the main "
                                   f"process could not read: {e}") from e
        if ready:
            self.raise_if_dead()
        return None

    def raise_if_dead(self) -> None:
        dead = [str(p.pid) for p in self.workers if not p.is_alive()]
        if dead:
            raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(dead)}) exited "
                               f"unexpectedly")

    def shutdown(self) -> None:
        self.done.set()
        for conn in self.conns:
            try:
                conn.send(None)
            except OSError:
                pass
        # Keep reading, so that a worker blocked sending a large batch can finish.
        deadline = time.monotonic() + JOIN_TIMEOUT
        while time.monotonic() < deadline:
            alive = [(c, p) for c, p in zip(self.conns, self.workers) if p.is_alive()]
            if not alive:
                break
            waitables = [c for c, _ in alive if not c.closed] + [p.sentinel for _, p in alive]
            for conn in multiprocessing.connection.wait(waitables, 0.05):
                if conn in self.conns:
                    try:
                        conn.recv()
                    except Exception:
                        conn.close()
        for p in self.workers:
            if p.is_alive():
                p.terminate()
            p.join()
        for conn in self.conns:
            conn.close()


class MultiWorkerIter:
    """Iterates a DataLoader with ``num_workers > 0`` workers.

    Tasks (entries of the index sampler) go to the workers round-robin, at most
    ``prefetch_factor`` per worker ahead of the consumer. Batches come back tagged with
    their task number and are yielded in that order (or as they arrive when
    ``in_order=False``). With an IterableDataset a worker that runs dry stops getting tasks;
    iteration ends when every worker has.
    """

    def __init__(self, loader: Any) -> None:
        self._index_sampler = loader._index_sampler
        self._prefetch = loader.prefetch_factor * loader.num_workers
        self._timeout = loader.timeout
        self._in_order = loader.in_order
        self._persistent = loader.persistent_workers
        self._num_workers = loader.num_workers
        setup = WorkerSetup(loader.dataset, loader._iterable, loader._auto_collation,
                            loader.collate_fn, loader.drop_last, loader.worker_init_fn,
                            loader.num_workers)
        base_seed = int(_random.get(loader.generator).integers(0, 2 ** 63))
        ctx = loader._worker_context
        self._workers = _ThreadWorkers(setup, base_seed) if ctx == "thread" \
            else _ProcessWorkers(setup, base_seed, ctx)
        self._closed = False
        self._owner = os.getpid()
        self._epoch = 0
        try:
            self._start_epoch()
        except BaseException:   # e.g. the sampler refused its arguments
            self._shutdown()
            raise

    def _start_epoch(self) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._active = [True] * self._num_workers
        self._next_worker = 0
        self._pending: dict[int, int] = {}      # task number -> worker
        self._received: dict[int, Any] = {}     # task number -> batch, not yet yielded
        self._send_idx = 0
        for _ in range(self._prefetch):
            self._put_task()

    def _reset(self, loader: Any) -> None:
        """Start a new epoch on the same (persistent) workers."""
        self._epoch += 1
        for w in range(self._num_workers):
            self._workers.send(w, ("resume", self._epoch))
        self._start_epoch()

    def _put_task(self) -> None:
        if not any(self._active):
            return
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        while not self._active[self._next_worker]:
            self._next_worker = (self._next_worker + 1) % self._num_workers
        w = self._next_worker
        self._next_worker = (w + 1) % self._num_workers
        self._workers.send(w, ("task", self._epoch, self._send_idx, index))
        self._pending[self._send_idx] = w
        self._send_idx += 1

    def __iter__(self) -> "MultiWorkerIter":
        return self

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __next__(self) -> Any:
        while True:
            if self._received:
                first = min(self._received)
                if not self._in_order or first < min(self._pending, default=first + 1):
                    batch = self._received.pop(first)
                    self._put_task()
                    if isinstance(batch, ExceptionWrapper):
                        batch.reraise()
                    return batch
            if not self._pending:
                if not self._persistent:
                    self._shutdown()
                raise StopIteration
            worker_id, epoch, idx, batch = self._receive()
            if epoch != self._epoch:
                continue    # an answer to a task of an epoch that was abandoned
            del self._pending[idx]
            if isinstance(batch, WorkerExhausted):
                self._active[worker_id] = False
            else:
                self._received[idx] = batch

    def _receive(self) -> tuple:
        if self._closed:
            raise RuntimeError("this DataLoader iterator's workers have been shut down")
        start = time.monotonic()
        while True:
            wait = POLL_INTERVAL
            if self._timeout > 0:
                wait = min(wait, max(0.0, self._timeout - (time.monotonic() - start)))
            message = self._workers.recv(wait)
            if message is not None:
                return message
            if self._timeout > 0 and time.monotonic() - start >= self._timeout:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
            self._workers.raise_if_dead()

    def _shutdown(self) -> None:
        if not self._closed:
            self._closed = True
            self._workers.shutdown()

    def __del__(self) -> None:
        # A forked child holds a copy of this iterator: the workers are not its to stop.
        if not getattr(self, "_closed", True) and self._owner == os.getpid():
            self._shutdown()
