"""BatchNorm, LayerNorm, GroupNorm, RMSNorm, LocalResponseNorm and the pooling layers
against torch.nn: outputs, gradients, running statistics, repr, state_dict keys, errors."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from tests.conformance import arrays, distinct
from tests.nn.module_conformance import check_module, randomized as _randomized

FAST = settings(max_examples=25, deadline=None)


# -- batch norm ---------------------------------------------------------------------------

def _steps(mod: Any, x: Any) -> tuple:
    """Three forwards on differently scaled and shifted batches."""
    return tuple(mod(x * (i + 1) + i) for i in range(3))


@FAST
@given(data=st.data())
def test_batchnorm_matches_torch(data: st.DataObject) -> None:
    rank = data.draw(st.sampled_from([2, 3, 4]))
    c = data.draw(st.integers(1, 3))
    shape = (data.draw(st.integers(2, 4)), c) + \
        tuple(data.draw(st.integers(1, 3)) for _ in range(rank - 2))
    x = arrays(data.draw, shape, data.draw(st.sampled_from([np.float32, np.float64])))
    kw = dict(momentum=data.draw(st.sampled_from([0.1, 0.5, None])),
              eps=data.draw(st.sampled_from([1e-5, 1e-3])),
              affine=data.draw(st.booleans()), bias=data.draw(st.booleans()),
              track_running_stats=data.draw(st.booleans()))
    name = "BatchNorm2d" if rank == 4 else "BatchNorm1d"
    e_mod, _ = check_module(lambda nn: _randomized(getattr(nn, name)(c, **kw)), x,
                            call=_steps)
    if kw["track_running_stats"]:
        assert e_mod.num_batches_tracked.dtype == ember.int64
        assert e_mod.num_batches_tracked.item() == 3


def _untracked_later(nn: Any) -> Any:
    """Buffers exist but tracking is switched off: training leaves them alone, evaluation
    still uses them."""
    m = _randomized(nn.BatchNorm2d(3))
    m.track_running_stats = False
    return m


def test_batchnorm_without_tracking() -> None:
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2)).astype(np.float32)
    check_module(lambda nn: nn.BatchNorm2d(3, track_running_stats=False), x,
                 modes=("eval",), call=_steps)
    e_mod, _ = check_module(_untracked_later, x, call=_steps)
    assert e_mod.num_batches_tracked.item() == 0


def test_batchnorm_reset_running_stats() -> None:
    bn = ember.nn.BatchNorm1d(3)
    bn(ember.randn(5, 3) * 3 + 1)
    bn.reset_running_stats()
    assert bn.running_mean.tolist() == [0.0] * 3 and bn.running_var.tolist() == [1.0] * 3
    assert bn.num_batches_tracked.item() == 0


@pytest.mark.parametrize("name, shape, msg", [
    ("BatchNorm1d", (2, 3, 4, 4), "BatchNorm1d.*expected 2D or 3D input \\(got 4D input\\)"),
    ("BatchNorm1d", (3,), "expected 2D or 3D input \\(got 1D input\\)"),
    ("BatchNorm2d", (2, 3, 4), "BatchNorm2d.*expected 4D input \\(got 3D input\\)"),
    ("BatchNorm1d", (1, 3), "Expected more than 1 value per channel when training"),
])
def test_batchnorm_errors(name: str, shape: tuple, msg: str) -> None:
    with pytest.raises(ValueError):
        getattr(torch.nn, name)(3)(torch.zeros(shape))
    with pytest.raises(ValueError, match=msg):
        getattr(ember.nn, name)(3)(ember.zeros(shape))


# -- layer, group, RMS and local response norm --------------------------------------------

@FAST
@given(data=st.data())
def test_layer_and_rms_norm_match_torch(data: st.DataObject) -> None:
    shape = tuple(data.draw(st.integers(1, 4)) for _ in range(data.draw(st.integers(1, 3))))
    k = data.draw(st.integers(1, len(shape)))
    normalized = shape[-k:] if k > 1 or data.draw(st.booleans()) else shape[-1]
    x = arrays(data.draw, shape, data.draw(st.sampled_from([np.float32, np.float64])))
    affine, bias = data.draw(st.booleans()), data.draw(st.booleans())
    if data.draw(st.booleans()):
        eps = data.draw(st.sampled_from([1e-5, 1e-2]))
        check_module(lambda nn: _randomized(nn.LayerNorm(
            normalized, eps=eps, elementwise_affine=affine, bias=bias)), x, modes=("train",))
    else:
        eps = data.draw(st.sampled_from([None, 1e-3]))
        check_module(lambda nn: _randomized(nn.RMSNorm(
            list(shape[-k:]), eps=eps, elementwise_affine=affine)), x, modes=("train",))


@FAST
@given(data=st.data())
def test_group_norm_matches_torch(data: st.DataObject) -> None:
    groups = data.draw(st.integers(1, 3))
    c = groups * data.draw(st.integers(1, 2))
    shape = (data.draw(st.integers(1, 3)), c) + \
        tuple(data.draw(st.integers(1, 3)) for _ in range(data.draw(st.integers(0, 2))))
    if np.prod(shape[2:]) * (c // groups) == 1:
        shape = shape[:2] + (2,)
    # float64: tiny groups make the input gradient a near-cancellation
    x = arrays(data.draw, shape, np.float64)
    affine, bias = data.draw(st.booleans()), data.draw(st.booleans())
    check_module(lambda nn: _randomized(nn.GroupNorm(groups, c, eps=1e-4, affine=affine,
                                                     bias=bias)), x, modes=("eval",))


@pytest.mark.parametrize("size, shape", [(1, (2, 3, 4)), (2, (2, 5, 3, 3)), (3, (1, 4, 5))])
def test_local_response_norm_matches_torch(size: int, shape: tuple) -> None:
    x = np.random.default_rng(size).standard_normal(shape).astype(np.float32)
    check_module(lambda nn: nn.LocalResponseNorm(size, alpha=0.1, beta=0.6, k=2.0), x)


def test_norm_errors() -> None:
    with pytest.raises(ValueError):
        torch.nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="GroupNorm: num_channels \\(4\\) must be divisible "
                                         "by num_groups \\(3\\)"):
        ember.nn.GroupNorm(3, 4)
    with pytest.raises(RuntimeError):
        torch.nn.LayerNorm(4)(torch.zeros(2, 3))
    with pytest.raises(RuntimeError, match="layer_norm.*normalized_shape=\\[4\\]"):
        ember.nn.LayerNorm(4)(ember.zeros(2, 3))


# -- pooling ------------------------------------------------------------------------------

def _window(data: st.DataObject, nd: int, max_k: int = 3) -> dict:
    """Kernel, stride (or None) and padding (at most half the kernel), each an int or a
    tuple; ``dims`` holds the per-dimension tuples."""
    k = tuple(data.draw(st.integers(1, max_k)) for _ in range(nd))
    s = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    p = tuple(data.draw(st.integers(0, kk // 2)) for kk in k)
    pick = lambda t: t[0] if nd == 1 or (len(set(t)) == 1 and data.draw(st.booleans())) else t
    stride = None if data.draw(st.booleans()) else pick(s)
    return dict(kernel_size=pick(k), stride=stride, padding=pick(p),
                dims=(k, k if stride is None else s, p))


def _pool_input(data: st.DataObject, nd: int, least: tuple) -> np.ndarray:
    c = data.draw(st.integers(1, 2))
    lead = (data.draw(st.integers(1, 2)), c) if data.draw(st.booleans()) else (c,)
    spatial = tuple(data.draw(st.integers(lo, lo + 4)) for lo in least)
    return distinct(data.draw, lead + spatial, np.float32)


@pytest.mark.parametrize("nd", [1, 2])
@FAST
@given(data=st.data())
def test_max_pool_matches_torch(nd: int, data: st.DataObject) -> None:
    w = _window(data, nd)
    d = data.draw(st.integers(1, 2))
    k, _, p = w.pop("dims")
    x = _pool_input(data, nd, tuple(max(d * (kk - 1) + 1 - 2 * pp, 1) for kk, pp in zip(k, p)))
    kw = dict(w, dilation=d, ceil_mode=data.draw(st.booleans()),
              return_indices=data.draw(st.booleans()))
    check_module(lambda nn: getattr(nn, f"MaxPool{nd}d")(**kw), x, modes=("train",))


@pytest.mark.parametrize("nd", [1, 2])
@FAST
@given(data=st.data())
def test_avg_pool_matches_torch(nd: int, data: st.DataObject) -> None:
    w = _window(data, nd)
    k, _, p = w.pop("dims")
    x = _pool_input(data, nd, tuple(max(kk - 2 * pp, 1) for kk, pp in zip(k, p)))
    kw = dict(w, ceil_mode=data.draw(st.booleans()),
              count_include_pad=data.draw(st.booleans()))
    if nd == 2 and data.draw(st.booleans()):
        kw["divisor_override"] = data.draw(st.integers(1, 5))
    check_module(lambda nn: getattr(nn, f"AvgPool{nd}d")(**kw), x, modes=("train",))


@pytest.mark.parametrize("make, shape", [
    (lambda nn: nn.AdaptiveAvgPool2d(1), (2, 3, 7, 7)),
    (lambda nn: nn.AdaptiveAvgPool2d((None, 3)), (2, 5, 7)),
    (lambda nn: nn.AdaptiveAvgPool2d((4, 2)), (1, 2, 5, 9)),
    (lambda nn: nn.AdaptiveAvgPool1d(3), (2, 3, 7)),
    (lambda nn: nn.AdaptiveMaxPool2d((2, 3)), (2, 3, 5, 7)),
    (lambda nn: nn.AdaptiveMaxPool2d(3, return_indices=True), (2, 4, 7)),
    (lambda nn: nn.AdaptiveMaxPool1d(4, True), (2, 3, 9)),
])
def test_adaptive_pool_matches_torch(make: Any, shape: tuple) -> None:
    x = distinct(lambda s: 7, shape, np.float32)
    check_module(make, x)


def test_pool_errors() -> None:
    for nn, lib in ((torch.nn, torch), (ember.nn, ember)):
        with pytest.raises(RuntimeError, match="pad should be at most half"):
            nn.MaxPool2d(2, padding=2)(lib.zeros(1, 1, 4, 4))
        with pytest.raises(RuntimeError):
            nn.AvgPool1d(3)(lib.zeros(1, 1, 2))            # output size too small
        with pytest.raises(RuntimeError):
            nn.AdaptiveAvgPool2d(2)(lib.zeros(2))          # 1-D input
