"""Parallel ``map`` and ``prefetch``: really concurrent, ordered unless asked otherwise,
errors propagate with the worker's traceback, and no thread outlives its iterator."""
from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from ember.data import pipeline as P

WAIT = 10.0     # a generous bound for waits that only time out when the code is broken


def pipeline_threads():
    return [t for t in threading.enumerate() if t.name.startswith("ember-pipeline")]


def ints(ds):
    return [int(x) for x in ds]


@pytest.fixture(autouse=True)
def no_leaked_threads():
    yield
    gc.collect()
    assert pipeline_threads() == []


# -- parallel map -----------------------------------------------------------------------
def test_parallel_map_runs_calls_concurrently():
    # Four calls can only all pass a 4-party barrier if they run at the same time.
    barrier = threading.Barrier(4, timeout=WAIT)

    def meet(x):
        barrier.wait()
        return x * 2

    assert ints(P.range(8).map(meet, num_parallel_calls=4)) == [0, 2, 4, 6, 8, 10, 12, 14]


def test_parallel_map_keeps_order_even_when_later_calls_finish_first():
    first_may_finish = threading.Event()

    def slow_first(x):
        if x.item() == 0:
            assert first_may_finish.wait(WAIT)
        else:
            first_may_finish.set()
        return x

    out = ints(P.range(6).map(slow_first, num_parallel_calls=2))
    assert out == list(range(6))


def test_parallel_map_nondeterministic_yields_as_finished():
    # Element 0 cannot finish before the consumer has received element 1.
    one_received = threading.Event()

    def blocked_first(x):
        if x.item() == 0:
            assert one_received.wait(WAIT)
        return x

    it = iter(P.range(2).map(blocked_first, num_parallel_calls=2, deterministic=False))
    assert int(next(it)) == 1
    one_received.set()
    assert int(next(it)) == 0
    assert list(it) == []


def test_parallel_map_autotune_matches_sequential_on_numpy_work():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(16, 20, 20))
    fn = lambda m: m @ m.T  # noqa: E731
    seq = [x.numpy() for x in P.from_tensor_slices(data).map(fn)]
    par = [x.numpy() for x in P.from_tensor_slices(data).map(fn, P.AUTOTUNE)]
    expected = [m @ m.T for m in data]
    for a, b, c in zip(seq, par, expected):
        np.testing.assert_allclose(a, c)
        np.testing.assert_allclose(b, c)


@pytest.mark.parametrize("deterministic", [None, False])
def test_parallel_map_error_propagates_with_worker_traceback(deterministic):
    def explode_at_3(x):
        if x.item() == 3:
            raise ArithmeticError("element 3 is bad")
        return x

    ds = P.range(10).map(explode_at_3, num_parallel_calls=3, deterministic=deterministic)
    with pytest.raises(ArithmeticError, match="element 3 is bad") as info:
        list(ds)
    assert "explode_at_3" in [f.name for f in info.traceback]


def test_parallel_map_abandoned_iteration_stops_pool():
    it = iter(P.range(1000).map(lambda x: x, num_parallel_calls=4))
    assert [int(next(it)) for _ in range(3)] == [0, 1, 2]
    assert pipeline_threads() != []
    del it
    gc.collect()
    assert pipeline_threads() == []


# -- prefetch ---------------------------------------------------------------------------
def test_prefetch_produces_ahead_on_a_thread_within_its_buffer():
    produced = []
    ready = threading.Event()

    def gen():
        for i in range(20):
            produced.append(threading.current_thread().name)
            if len(produced) == 4:
                ready.set()
            yield i

    it = iter(P.from_generator(gen).prefetch(3))
    assert int(next(it)) == 0
    assert ready.wait(WAIT)   # produced ahead of the consumer, which asked for one only
    assert set(produced) == {"ember-pipeline-prefetch"}
    rest, lead = [], []
    for x in it:
        rest.append(int(x))
        lead.append(len(produced) - (len(rest) + 1))
    assert rest == list(range(1, 20))
    # at most buffer_size queued plus the one the producer holds
    assert max(lead) <= 3 + 1


def test_prefetch_autotune_and_order():
    ds = P.range(50).map(lambda x: x + 1).prefetch(P.AUTOTUNE).batch(7).prefetch(2)
    assert [b.tolist() for b in ds] == [list(range(1, 51))[i:i + 7] for i in range(0, 50, 7)]


def test_prefetch_break_stops_thread_even_upstream_of_infinite_input():
    ds = P.range(3).repeat().prefetch(2).map(lambda x: x, num_parallel_calls=2).prefetch(1)
    for i, x in enumerate(ds):
        if i == 10:
            break
    assert int(x) == 10 % 3
    del x
    gc.collect()
    assert pipeline_threads() == []


def test_prefetch_error_reaches_consumer_with_traceback():
    def gen():
        yield 1
        raise RuntimeError("generator failed")

    it = iter(P.from_generator(gen).prefetch(4))
    assert int(next(it)) == 1
    with pytest.raises(RuntimeError, match="generator failed") as info:
        next(it)
    assert "gen" in [f.name for f in info.traceback]


def test_prefetch_closes_upstream_generator_when_abandoned():
    closed = threading.Event()

    def gen():
        try:
            for i in range(10**6):
                yield i
        finally:
            closed.set()

    it = iter(P.from_generator(gen).prefetch(2))
    next(it)
    it.close()
    assert closed.is_set()
