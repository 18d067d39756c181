"""DataLoader with workers (threads and processes): results, order, seeding, errors."""
import gc
import multiprocessing
import os
import pickle
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import ember
from ember.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info

from .test_collate import assert_same

CONTEXTS = ["thread", "fork"]
# torch advises fewer workers than this machine has cores; the comparisons need several.
pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create")


class Slow(Dataset):
    """Sample i takes longer for small i, so later batches finish first with workers."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        time.sleep(0.002 * (self.n - i) / self.n)
        return {"x": np.full(3, i, np.float32), "i": i}


class Shards(IterableDataset):
    """0..n-1, split between workers by get_worker_info()."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


class TorchShards(tud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = tud.get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


_init = threading.local()     # what worker_init_fn saw, per worker thread or process


def record_worker_id(worker_id):
    _init.worker_id = worker_id


class WhoAmI(Dataset):
    """Each sample reports the worker's info and draws from the global RNGs."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return (info.id, info.num_workers, info.seed, info.dataset is self,
                os.getpid(), threading.get_ident(), getattr(_init, "worker_id", None),
                np.random.randint(1 << 30), random.random(), ember.rand(1).item())


def same_batches(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_same(g, w)


@pytest.mark.parametrize("ctx", CONTEXTS)
@pytest.mark.parametrize("workers,prefetch", [(1, 1), (2, 2), (3, 1)])
def test_batches_and_order_match_torch(ctx, workers, prefetch):
    ours = DataLoader(Slow(23), batch_size=4, num_workers=workers, prefetch_factor=prefetch,
                      multiprocessing_context=ctx)
    want = list(tud.DataLoader(Slow(23), batch_size=4))
    same_batches(list(ours), want)
    assert len(ours) == 6


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_out_of_order_delivery_still_yields_every_batch(ctx):
    got = list(DataLoader(Slow(20), batch_size=2, num_workers=2, in_order=False,
                          multiprocessing_context=ctx))
    assert sorted(b["i"][0].item() for b in got) == list(range(0, 20, 2))


@pytest.mark.parametrize("ctx", CONTEXTS)
@pytest.mark.parametrize("workers,batch_size,drop_last", [(2, 3, False), (3, 2, True),
                                                          (2, None, False), (4, 5, False)])
def test_iterable_dataset_sharded_by_worker_info_matches_torch(ctx, workers, batch_size,
                                                               drop_last):
    ours = DataLoader(Shards(11), batch_size=batch_size, drop_last=drop_last,
                      num_workers=workers, multiprocessing_context=ctx)
    theirs = tud.DataLoader(TorchShards(11), batch_size=batch_size, drop_last=drop_last,
                            num_workers=workers)
    same_batches(list(ours), list(theirs))


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_unsharded_iterable_dataset_is_read_fully_by_each_worker(ctx):
    class Three(IterableDataset):
        def __iter__(self):
            return iter(range(3))

    got = [b.tolist() for b in DataLoader(Three(), batch_size=2, num_workers=2,
                                          multiprocessing_context=ctx)]
    assert got == [[0, 1], [0, 1], [2], [2]]


def test_worker_info_is_none_in_the_main_process():
    assert get_worker_info() is None


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_worker_info_and_worker_init_fn(ctx):
    g = ember.Generator().manual_seed(11)
    base = int(ember.Generator().manual_seed(11).numpy.integers(0, 2 ** 63))
    seen = list(DataLoader(WhoAmI(), batch_size=None, num_workers=2, generator=g,
                           multiprocessing_context=ctx, worker_init_fn=record_worker_id))
    assert [s[0] for s in seen] == [0, 1, 0, 1]      # round-robin, in order
    assert all(s[1] == 2 and s[3] for s in seen)
    assert [s[2] for s in seen] == [base, base + 1, base, base + 1]
    assert [s[6] for s in seen] == [0, 1, 0, 1]      # worker_init_fn ran in each worker
    # each sample came from its own worker: a process or a thread other than ours
    key = 4 if ctx == "fork" else 5
    ours = os.getpid() if ctx == "fork" else threading.get_ident()
    assert len({s[key] for s in seen}) == 2 and ours not in {s[key] for s in seen}


def test_worker_info_is_read_only():
    info = ember.data.WorkerInfo(id=0, num_workers=1, seed=3, dataset=None)
    assert repr(info) == "WorkerInfo(id=0, num_workers=1, seed=3, dataset=None)"
    with pytest.raises(RuntimeError, match="Cannot assign attributes to WorkerInfo"):
        info.id = 1


def test_worker_processes_seed_global_rngs_per_worker_reproducibly():
    def epoch():
        loader = DataLoader(WhoAmI(), batch_size=None, num_workers=2,
                            multiprocessing_context="fork")
        return [tuple(s[7:]) for s in loader]

    ember.manual_seed(3)
    first = epoch()
    assert first[0] != first[1]                      # workers differ
    assert len({r[0] for r in first}) == 4           # and so do a worker's draws
    ember.manual_seed(3)
    assert epoch() == first
    ember.manual_seed(4)
    assert epoch() != first


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_persistent_workers_are_reused_and_restart_iterable_datasets(ctx):
    loader = DataLoader(WhoAmI(), batch_size=None, num_workers=2, persistent_workers=True,
                        multiprocessing_context=ctx)
    key = 4 if ctx == "fork" else 5
    ids = [{s[key] for s in loader} for _ in range(2)]
    assert ids[0] == ids[1] and len(ids[0]) == 2
    stream = DataLoader(Shards(7), batch_size=2, num_workers=2, persistent_workers=True,
                        multiprocessing_context=ctx)
    want = [b.tolist() for b in DataLoader(Shards(7), batch_size=2, num_workers=2,
                                           multiprocessing_context=ctx)]
    it = iter(stream)
    next(it)                         # abandon an epoch half way
    for _ in range(2):
        assert [b.tolist() for b in stream] == want


class Failing(Dataset):
    def __init__(self, exc):
        self.exc = exc

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise self.exc
        return i


class NeedsTwoArgs(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


@pytest.mark.parametrize("ctx", CONTEXTS)
@pytest.mark.parametrize("exc,expected", [(ValueError("bad sample 5"), ValueError),
                                          (KeyError("k5"), KeyError),
                                          (NeedsTwoArgs(1, 2), RuntimeError)])
def test_worker_errors_reach_the_caller_with_the_worker_traceback(ctx, exc, expected):
    loader = DataLoader(Failing(exc), batch_size=2, num_workers=2,
                        multiprocessing_context=ctx)
    got = []
    with pytest.raises(expected) as info:
        for b in loader:
            got.append(b.tolist())
    assert got == [[0, 1], [2, 3]]                      # batches before the failing one
    msg = str(info.value)
    name = type(exc).__name__
    assert msg.startswith(f"Caught {name} in DataLoader worker process 0.\n"
                          f"Original Traceback (most recent call last):\n"), msg
    assert "in __getitem__" in msg and "raise self.exc" in msg


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_stop_iteration_from_a_map_dataset_is_an_error_like_torch(ctx):
    it = iter(DataLoader(Failing(StopIteration()), num_workers=2, multiprocessing_context=ctx))
    assert [next(it).item() for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(StopIteration, match="Caught StopIteration in DataLoader worker"):
        next(it)
    assert next(it).item() == 6         # not the end: the workers carry on, as in torch
    torch_it = iter(tud.DataLoader(Failing(StopIteration()), num_workers=2))
    assert [next(torch_it).item() for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(StopIteration, match="Caught StopIteration in DataLoader worker"):
        next(torch_it)
    assert next(torch_it).item() == 6
    assert [b.item() for b in torch_it] == [b.item() for b in it] == [7]  # and shut down


def test_a_batch_that_cannot_be_pickled_is_reported():
    loader = DataLoader(range(2), batch_size=None, num_workers=1,
                        collate_fn=lambda x: lambda: x, multiprocessing_context="fork")
    with pytest.raises(Exception, match="Caught .* in DataLoader worker process 0.*"
                                        "(?s:.*)pickle"):
        next(iter(loader))


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_error_in_worker_init_fn_is_reported(ctx):
    def init(worker_id):
        if worker_id == 1:
            raise OSError("no device for worker 1")

    loader = DataLoader(range(6), batch_size=1, num_workers=2, worker_init_fn=init,
                        multiprocessing_context=ctx)
    with pytest.raises(OSError, match="Caught OSError in DataLoader worker process 1"):
        list(loader)


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_timeout_raises_like_torch(ctx):
    class Sleepy(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            time.sleep(0.4)
            return i

    loader = DataLoader(Sleepy(), num_workers=1, timeout=0.1, multiprocessing_context=ctx)
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.1 seconds"):
        next(iter(loader))


@pytest.mark.parametrize("ctx,msg", [
    ("fork", r"DataLoader worker \(pid\(s\) \d+.*\) exited unexpectedly"),
    ("thread", r"DataLoader worker thread\(s\) ember DataLoader worker 0.* exited "
               r"unexpectedly")])
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_worker_that_dies_is_reported(ctx, msg):
    class Dies(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            if ctx == "fork":
                os._exit(3)
            raise SystemExit(3)     # the only way out of a thread worker's loop

    with pytest.raises(RuntimeError, match=msg):
        list(DataLoader(Dies(), num_workers=1, multiprocessing_context=ctx))


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "int64", "bool", "uint8"])
def test_tensors_cross_from_worker_processes(dtype):
    x = ember.arange(12).reshape(6, 2).to(getattr(ember, dtype))
    got = list(DataLoader(TensorDataset(x), batch_size=4, num_workers=2,
                          multiprocessing_context="fork"))
    assert [b[0].dtype for b in got] == [x.dtype, x.dtype]
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in got]), x.numpy())


def test_leaf_tensors_keep_requires_grad_and_graph_tensors_are_refused():
    class Params(Dataset):
        def __init__(self, graph):
            self.graph = graph

        def __len__(self):
            return 2

        def __getitem__(self, i):
            w = ember.ones(2, requires_grad=True)
            return w * 2 if self.graph else w

    got = next(iter(DataLoader(Params(False), batch_size=None, num_workers=1,
                               multiprocessing_context="fork")))
    assert got.requires_grad and got.grad_fn is None
    with pytest.raises(RuntimeError, match="cannot send a tensor that is part of an autograd "
                                           "graph"):
        list(DataLoader(Params(True), batch_size=None, num_workers=1,
                        multiprocessing_context="fork"))


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_a_sampler_error_at_start_leaves_no_workers(ctx):
    gc.collect()    # finish loaders earlier tests left in reference cycles
    before = set(threading.enumerate()) | set(multiprocessing.active_children())
    with pytest.raises(RuntimeError, match="sum of weights <= 0"):
        iter(DataLoader(range(4), sampler=ember.data.WeightedRandomSampler([0.0, 0.0], 2),
                        num_workers=2, multiprocessing_context=ctx))
    after = set(threading.enumerate()) | set(multiprocessing.active_children())
    assert not after - before


@pytest.mark.slow
def test_spawn_with_an_unpicklable_dataset_fails_cleanly():
    class Local(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return i

    gc.collect()
    before = set(multiprocessing.active_children())
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError)):
        iter(DataLoader(Local(), num_workers=2, multiprocessing_context="spawn"))
    assert not set(multiprocessing.active_children()) - before


@pytest.mark.slow
@pytest.mark.parametrize("ctx", ["spawn", "forkserver"])
def test_spawned_workers_get_the_dataset_and_send_tensors(ctx):
    ds = TensorDataset(ember.arange(10.0), ember.arange(10))
    got = []
    for batch in DataLoader(ds, batch_size=4, num_workers=2, multiprocessing_context=ctx):
        got.append(batch)
        time.sleep(0.3)     # idle workers must wait (a forkserver worker's parent is the
                            # forkserver, not this process)
    same_batches(got, list(tud.DataLoader(tud.TensorDataset(torch.arange(10.0),
                                                            torch.arange(10)), batch_size=4)))


# Shutdown: every way of leaving a loop must stop the workers. Each scenario runs in a
# child interpreter (bounded by subprocess.run's timeout, so a hang fails instead of
# blocking the suite) and reports whether the workers were gone within 5 seconds.
SHUTDOWN_SCRIPT = r'''
import _thread, gc, multiprocessing, sys, threading, time
import numpy as np
from ember.data import DataLoader, Dataset

ctx = sys.argv[1]

class Slow(Dataset):
    def __init__(self, n=400):
        self.n = n
    def __len__(self):
        return self.n
    def __getitem__(self, i):
        time.sleep(0.01)
        return i

def loader(**kw):
    return DataLoader(Slow(), batch_size=2, num_workers=2, multiprocessing_context=ctx, **kw)

def workers_left():
    if ctx == "thread":
        return [t for t in threading.enumerate() if t.name.startswith("ember DataLoader")]
    return multiprocessing.active_children()

def check(name, scenario):
    scenario()
    deadline = time.monotonic() + 5
    while workers_left() and time.monotonic() < deadline:
        time.sleep(0.02)
    print(name, "leaked" if workers_left() else "ok", flush=True)

def brk():
    for _ in loader():
        break

def delete():
    it = iter(loader())
    next(it)
    del it

def collect():
    it = iter(loader())
    next(it)
    cycle = [it]
    cycle.append(cycle)
    del it, cycle
    gc.collect()

def raise_in_body():
    try:
        for _ in loader():
            raise ValueError
    except ValueError:
        pass

def interrupt():
    threading.Timer(0.2, _thread.interrupt_main).start()
    try:
        for _ in loader():
            pass
    except KeyboardInterrupt:
        pass

def exhaust():
    list(DataLoader(Slow(20), batch_size=5, num_workers=2, multiprocessing_context=ctx))

def persistent():
    dl = loader(persistent_workers=True)
    for _ in range(2):
        for _ in dl:
            break
    del dl

def big_batches():
    class Big(Slow):
        def __getitem__(self, i):
            return np.zeros(1 << 20)    # 8 MB: a worker blocks sending until it is read
    for _ in DataLoader(Big(), batch_size=2, num_workers=2, multiprocessing_context=ctx):
        break

def worker_error():
    class Bad(Slow):
        def __getitem__(self, i):
            raise ValueError(i)
    try:
        list(DataLoader(Bad(), num_workers=2, multiprocessing_context=ctx))
    except ValueError:
        pass

for name, fn in list(globals().items()):
    if name in ("brk", "delete", "collect", "raise_in_body", "interrupt", "exhaust",
                "persistent", "big_batches", "worker_error"):
        check(name, fn)
'''

SCENARIOS = ["brk", "delete", "collect", "raise_in_body", "interrupt", "exhaust",
             "persistent", "big_batches", "worker_error"]


@pytest.fixture(scope="module", params=CONTEXTS)
def shutdown_report(request):
    proc = subprocess.run([sys.executable, "-c", SHUTDOWN_SCRIPT, request.param],
                          capture_output=True, text=True, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert proc.returncode == 0, proc.stderr
    return dict(line.split() for line in proc.stdout.splitlines())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_leaving_the_loop_stops_every_worker(shutdown_report, scenario):
    assert shutdown_report.get(scenario) == "ok", shutdown_report


ORPHAN_SCRIPT = r'''
import os, signal, sys, time
from ember.data import DataLoader, Dataset

class Slow(Dataset):
    def __len__(self):
        return 1000
    def __getitem__(self, i):
        time.sleep(0.01)
        return i

it = iter(DataLoader(Slow(), num_workers=2, multiprocessing_context="fork"))
next(it)
print(" ".join(str(p.pid) for p in it._workers.workers), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
'''


def test_worker_processes_exit_when_the_main_process_is_killed():
    proc = subprocess.run([sys.executable, "-c", ORPHAN_SCRIPT], capture_output=True,
                          text=True, timeout=60,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    pids = [int(p) for p in proc.stdout.split()]
    assert len(pids) == 2

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in pids)
