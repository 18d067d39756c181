"""A compiled function frees each intermediate array after its last use, as eager mode
does, instead of keeping every one alive until it returns."""
import tracemalloc

import numpy as np

import ember


def _peak_bytes(fn, *args):
    fn(*args)
    fn(*args)                           # the first calls run eagerly and trace
    tracemalloc.start()                 # NumPy reports its data buffers to tracemalloc
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_intermediates_are_freed_after_their_last_use():
    def chain(x, w):
        h = x
        for _ in range(8):
            h = h @ w
        return h.sum()

    x, w = ember.randn(256, 256), ember.randn(256, 256) * 0.05
    one = 256 * 256 * 4
    compiled = ember.compile(chain)
    assert _peak_bytes(compiled, x, w) < 3 * one          # not 8 arrays alive at once
    np.testing.assert_allclose(compiled(x, w).numpy(), chain(x, w).numpy(), rtol=1e-5)


def test_values_returned_or_read_late_survive():
    def f(x):
        a = x * 2
        b = a.exp()
        return a, b + a            # a is read again after b and returned

    x = ember.randn(5)
    got = ember.compile(f)(x)
    want = f(x)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6)
