"""The Winograd F(2x2, 3x3) path of the convolution ops (ember/ops/_winograd.py) against
torch: forward, input and weight gradients, second order, odd sizes and every padding it
takes; and the geometries that must keep to im2col."""
import os
from contextlib import contextmanager

import numpy as np
import pytest

from hypothesis import given, strategies as st

import ember
from ember.ops import _winograd, conv
from conformance import arrays, check


SINGLE_BLAS_THREAD = _winograd.single_blas_thread       # the real one, before patching


@pytest.fixture(autouse=True)
def one_blas_thread(monkeypatch):
    """The path is taken only with NumPy's BLAS on one thread and for sizes its tiles fit
    well: as if both held, here (so odd and tiny sizes test its arithmetic)."""
    monkeypatch.setattr(_winograd, "single_blas_thread", lambda: True)
    monkeypatch.setattr(_winograd, "MAX_TILE_WASTE", 100.0)


GEOMETRY = ((64, 64, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, np.dtype(np.float32))


def test_more_than_one_blas_thread_keeps_im2col(monkeypatch):
    from ember.backend.blas_threads import blas_threads
    assert blas_threads() is not None and blas_threads() >= 1
    assert _winograd.applies(*GEOMETRY, (16, 16))
    monkeypatch.setattr(_winograd, "single_blas_thread", lambda: False)
    assert not _winograd.applies(*GEOMETRY, (16, 16))


def test_sizes_that_waste_tiles_keep_im2col(monkeypatch):
    monkeypatch.setattr(_winograd, "MAX_TILE_WASTE", 0.1)
    assert _winograd.applies(*GEOMETRY, (32, 32)) and _winograd.applies(*GEOMETRY, (8, 8))
    assert _winograd.applies(*GEOMETRY, (21, 21))               # 22*22 / 21*21: 9.8 %
    assert _winograd.applies(*GEOMETRY, (16, 15))               # 6.7 %
    assert not _winograd.applies(*GEOMETRY, (11, 11))           # 19 %
    assert not _winograd.applies(*GEOMETRY, (15, 15))           # 13.8 %


def test_blas_threads_reads_the_limit_in_effect():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from ember.backend.blas_threads import blas_threads
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert blas_threads() == 1 and SINGLE_BLAS_THREAD()
    if (os.cpu_count() or 1) >= 2:
        with threadpoolctl.threadpool_limits(2, user_api="blas"):
            assert blas_threads() == 2 and not SINGLE_BLAS_THREAD()


@contextmanager
def spied(min_channels=None):
    """Count the calls of the three Winograd entry points inside the block; with
    ``min_channels``, let that few channels take the path (tiny, fast float64 cases)."""
    seen = {"conv": 0, "conv_input_grad": 0, "conv_weight_grad": 0}
    with pytest.MonkeyPatch.context() as mp:
        if min_channels is not None:
            mp.setattr(_winograd, "MIN_CHANNELS", min_channels)
        for name in seen:
            def spy(*a, _real=getattr(_winograd, name), _name=name, **k):
                seen[_name] += 1
                return _real(*a, **k)
            mp.setattr(_winograd, name, spy)
        yield seen


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_winograd_conv2d_matches_torch(dtype, data):
    n, c, o = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)), \
        data.draw(st.integers(1, 3))
    pad = (data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)))
    h, w = (data.draw(st.integers(max(1, 3 - 2 * p), 9)) for p in pad)
    x = arrays(data.draw, (n, c, h, w), dtype)
    wt = arrays(data.draw, (o, c, 3, 3), dtype)
    args = (x, wt)
    if data.draw(st.booleans()):
        args += (arrays(data.draw, (o,), dtype),)
    with spied(min_channels=1) as calls:
        check(lambda m, *a: m.nn.functional.conv2d(*a, padding=pad), *args)
    assert all(calls.values()), calls


@given(data=st.data())
def test_winograd_conv_transpose2d_matches_torch(data):
    """A stride-1 3x3 transposed convolution is the input gradient path run forward."""
    c, o = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    pad = (data.draw(st.integers(0, 1)), data.draw(st.integers(0, 1)))
    h, w = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    x = arrays(data.draw, (2, c, h, w), np.float64)
    wt = arrays(data.draw, (c, o, 3, 3), np.float64)
    with spied(min_channels=1) as calls:
        check(lambda m, x, w: m.nn.functional.conv_transpose2d(x, w, padding=pad), x, wt)
    assert all(calls.values()), calls


@pytest.mark.parametrize("kw,wshape", [
    (dict(stride=2, padding=1), (4, 4, 3, 3)),
    (dict(dilation=2, padding=2), (4, 4, 3, 3)),
    (dict(groups=2, padding=1), (4, 2, 3, 3)),
    (dict(padding=3), (4, 4, 3, 3)),                 # padding beyond 2
    (dict(padding=1), (4, 4, 3, 1)),                 # not 3x3
    (dict(padding=2), (4, 4, 5, 5)),
])
def test_other_geometries_keep_im2col(kw, wshape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal(wshape)
    with spied(min_channels=1) as calls:
        check(lambda m, x, w: m.nn.functional.conv2d(x, w, **kw), x, w, gradgrad=False)
    assert calls == {"conv": 0, "conv_input_grad": 0, "conv_weight_grad": 0}


def test_few_channels_and_half_precision_keep_im2col():
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = np.random.default_rng(2).standard_normal((64, 3, 3, 3)).astype(np.float32)
    with spied() as calls:
        check(lambda m, x, w: m.nn.functional.conv2d(x, w, padding=1), x, w, atol=1e-4)
    assert not _winograd.applies((64, 64, 3, 3), (1, 1), (1,) * 4, (1, 1), 1,
                                 np.dtype(np.float16), (8, 8))
    assert calls["conv"] == 0


@pytest.mark.parametrize("shape,pad", [((4, 64, 9, 8), 1), ((2, 128, 4, 4), 1),
                                       ((2, 32, 7, 5), 0)])
def test_resnet_channel_counts_float32(shape, pad):
    """Realistic channel counts (576-term sums) with the default threshold, float32."""
    rng = np.random.default_rng(3)
    c = shape[1]
    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal((c, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    with spied() as calls:
        check(lambda m, x, w: m.nn.functional.conv2d(x, w, padding=pad), x, w,
              rtol=1e-4, atol=2e-5)
    assert all(calls.values()), calls


@pytest.mark.parametrize("keep", [True, False])
def test_kept_and_rebuilt_transformed_input(monkeypatch, keep):
    """The weight gradient from the forward's transformed input and from one rebuilt in
    the backward are the same, and match torch to second order."""
    import torch
    monkeypatch.setattr(_winograd, "MIN_CHANNELS", 1)
    if not keep:
        monkeypatch.setattr(conv, "KEEP_COLS_BYTES", -1)
    rng = np.random.default_rng(4)
    arrs = rng.standard_normal((3, 2, 5, 7)), rng.standard_normal((3, 2, 3, 3))
    res = {}
    for m in (ember, torch):
        x, w = (m.from_numpy(a.copy()).requires_grad_() for a in arrs)
        y = m.nn.functional.conv2d(x, w, padding=1)
        gx, gw = m.autograd.grad((y * y).sum(), (x, w), create_graph=True)
        ((gx * gx).sum() + (gw * gw.sin()).sum()).backward()
        res[m] = [t.detach().numpy() for t in (y, gx, gw, x.grad, w.grad)]
    for e, t in zip(res[ember], res[torch]):
        np.testing.assert_allclose(e, t, rtol=1e-9, atol=1e-9)


def test_weight_grad_from_given_and_rebuilt_transform_equal():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 7, 5)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    g = rng.standard_normal((2, 4, 7, 5)).astype(np.float32)
    _, v = _winograd.conv(np, x, w, (1, 1, 1, 1), (7, 5))
    np.testing.assert_array_equal(_winograd.conv_weight_grad(np, x, v, g, (1, 1, 1, 1)),
                                  _winograd.conv_weight_grad(np, x, None, g, (1, 1, 1, 1)))



def test_forward_without_keeping_the_transformed_input():
    """``keep=False`` gives the same output and no transformed input; with ``keep`` its
    size is ``transformed_nbytes``."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 5, 9, 6)).astype(np.float32)
    w = rng.standard_normal((7, 5, 3, 3)).astype(np.float32)
    y, v = _winograd.conv(np, x, w, (1, 1, 1, 1), (9, 6))
    y2, none = _winograd.conv(np, x, w, (1, 1, 1, 1), (9, 6), keep=False)
    assert none is None and v.nbytes == _winograd.transformed_nbytes(x.shape, (9, 6), x.dtype)
    np.testing.assert_array_equal(y, y2)


def test_products_streamed_into_the_output_transform_equal_the_four_at_once():
    rng = np.random.default_rng(7)
    u = rng.standard_normal((16, 6, 5)).astype(np.float32)
    vs = [rng.standard_normal((4, 5, 40)).astype(np.float32) for _ in range(4)]
    m = [u[4 * r:4 * r + 4] @ vs[r] for r in range(4)]
    ref = np.empty((2, 4, 6, 40), np.float32)
    _winograd._at(np, m, ref[0], ref[1])
    np.testing.assert_array_equal(_winograd._products_at(np, u, list(vs), True), ref)

def test_thread_count_changing_between_forward_and_backward(monkeypatch):
    """The forward keeps Winograd's transformed input; if the backward then takes im2col
    (BLAS went multi-threaded in between), it rebuilds its columns: same gradients."""
    import torch
    rng = np.random.default_rng(7)
    xa = rng.standard_normal((2, 16, 8, 8)).astype(np.float32)
    wa = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    x, w = (ember.tensor(a, requires_grad=True) for a in (xa, wa))
    with spied() as calls:
        y = ember.nn.functional.conv2d(x, w, padding=1)
    assert calls["conv"] == 1
    monkeypatch.setattr(_winograd, "single_blas_thread", lambda: False)
    (y * y).sum().backward()
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (xa, wa))
    ty = torch.nn.functional.conv2d(tx, tw, padding=1)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-3)
