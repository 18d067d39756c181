"""InstanceNorm, the padding layers, CosineSimilarity/PairwiseDistance, Unfold/Fold, GLU
and RReLU against torch.nn: outputs, gradients, running statistics, repr, errors; RReLU's
random training slopes statistically."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from ember.nn.modules import activation, distance, fold, instancenorm, padding
from tests.conformance import arrays, broadcastable, check, check_error
from tests.nn.module_conformance import check_module, randomized as _randomized

FAST = settings(max_examples=20, deadline=None)
FILES = (instancenorm, padding, distance, fold, activation)


def layer(name: str, *args: Any, **kwargs: Any) -> Any:
    """``make`` for ``check_module``: the layer ``name`` of ``torch.nn``, or of Ember (found
    in the files under test, so the test does not depend on ``ember.nn`` exporting it)."""
    def make(nn: Any) -> Any:
        if nn is torch.nn:
            return getattr(nn, name)(*args, **kwargs)
        cls = next(getattr(f, name) for f in FILES if name in f.__all__)
        return cls(*args, **kwargs)
    return make


def both(name: str, *args: Any, **kwargs: Any) -> Any:
    """``fn(m)`` for ``check_error``: build the layer with ``m`` = ``ember`` or ``torch``."""
    return lambda m: layer(name, *args, **kwargs)(m.nn if m is torch else ember.nn)


# -- instance norm ------------------------------------------------------------------------

@FAST
@given(data=st.data())
def test_instancenorm_matches_torch(data: st.DataObject) -> None:
    name, spatial_dims = data.draw(st.sampled_from([("InstanceNorm1d", 1),
                                                   ("InstanceNorm2d", 2)]))
    c = data.draw(st.integers(1, 3))
    spatial = (2,) + tuple(data.draw(st.integers(1, 3)) for _ in range(spatial_dims - 1))
    batch = () if data.draw(st.booleans()) else (data.draw(st.integers(1, 3)),)
    x = arrays(data.draw, batch + (c,) + spatial,
               data.draw(st.sampled_from([np.float32, np.float64])))
    kw = dict(momentum=data.draw(st.sampled_from([0.1, 0.5, None])),
              eps=data.draw(st.sampled_from([1e-5, 1e-3])), affine=data.draw(st.booleans()),
              bias=data.draw(st.booleans()), track_running_stats=data.draw(st.booleans()))
    steps = lambda mod, x: tuple(mod(x * (i + 1) + i) for i in range(3))  # noqa: E731
    check_module(lambda nn: _randomized(layer(name, c, **kw)(nn)), x, call=steps)


def test_instancenorm_defaults_and_state() -> None:
    e_mod, _ = check_module(layer("InstanceNorm2d", 3), np.random.rand(2, 3, 4, 4))
    assert e_mod.weight is None and e_mod.running_mean is None
    e_mod, _ = check_module(layer("InstanceNorm1d", 2, affine=True, track_running_stats=True),
                            np.random.rand(2, 2, 5))
    assert e_mod.num_batches_tracked.item() == 0      # instance norm never counts batches


def test_instancenorm_errors() -> None:
    check_error(lambda m: both("InstanceNorm1d", 3)(m)(m.zeros(2, 3, 4, 4)), ValueError,
                r"InstanceNorm1d: expected 2D or 3D input \(got 4D")
    check_error(lambda m: both("InstanceNorm2d", 3)(m)(m.zeros(3, 4)), ValueError,
                r"InstanceNorm2d: expected 3D or 4D input \(got 2D")
    check_error(lambda m: both("InstanceNorm2d", 3, affine=True)(m)(m.zeros(1, 2, 4, 4)),
                ValueError, r"InstanceNorm2d.*dim=1 to match num_features \(3\), but got: 2")
    check_error(lambda m: both("InstanceNorm1d", 2)(m)(m.zeros(2, 2, 1)), ValueError,
                "more than 1 spatial element")
    for m in (torch, ember):
        with pytest.warns(UserWarning, match="dim=0 does not match num_features"):
            both("InstanceNorm1d", 3)(m)(m.ones(2, 4))


# -- padding ------------------------------------------------------------------------------

PAD_KINDS = ("Zero", "Constant", "Reflection", "Replication", "Circular")


@FAST
@given(data=st.data())
def test_padding_matches_torch(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(PAD_KINDS))
    dims = data.draw(st.integers(1, 3))
    size = 3
    low = -1 if kind in ("Zero", "Constant") else 0
    high = size - 1 if kind == "Reflection" else size
    if data.draw(st.booleans()):
        pad: Any = data.draw(st.integers(max(low, 0), high))
    else:
        pad = tuple(data.draw(st.lists(st.integers(low, high), min_size=2 * dims,
                                       max_size=2 * dims)))
    args = (pad, data.draw(st.sampled_from([0.0, -1.5, 2]))) if kind == "Constant" else (pad,)
    rank = dims + data.draw(st.integers(1, 2))
    x = arrays(data.draw, (2,) * (rank - dims) + (size,) * dims,
               data.draw(st.sampled_from([np.float32, np.float64])))
    check_module(layer(f"{kind}Pad{dims}d", *args), x)


def test_padding_reprs_and_short_padding() -> None:
    x = np.random.rand(2, 3, 3)
    for make in (layer("ZeroPad2d", (1, 2)), layer("ConstantPad2d", [1, 0], 0.5),
                 layer("ReplicationPad1d", 2), layer("ReflectionPad1d", [2, 1]),
                 layer("ConstantPad1d", 2, 3), layer("CircularPad2d", (1, 0, 2, 1))):
        check_module(make, x, modes=("eval",))


def test_padding_errors() -> None:
    check_error(lambda m: both("CircularPad2d", 1)(m)(m.zeros(3, 3)), ValueError,
                r"CircularPad2d: expected 3D or 4D input \(got 2D")
    check_error(lambda m: both("CircularPad1d", 1)(m)(m.zeros(1, 1, 3, 3)), ValueError,
                r"CircularPad1d: expected 2D or 3D input \(got 4D")
    check_error(lambda m: both("ReflectionPad2d", (2, 1))(m)(m.zeros(1, 2, 3, 3)),
                NotImplementedError, "padding size 2 is not supported for 4D input")
    check_error(lambda m: both("ReflectionPad1d", 3)(m)(m.zeros(1, 2, 3)), RuntimeError,
                "padding size should be less than")
    check_error(lambda m: both("CircularPad1d", 4)(m)(m.zeros(1, 2, 3)), RuntimeError,
                "wrapping around more than once")


# -- distances ----------------------------------------------------------------------------

@FAST
@given(data=st.data())
def test_cosine_similarity_matches_torch(data: st.DataObject) -> None:
    s1, s2 = data.draw(broadcastable(min_dims=1, max_dims=3, min_side=1))
    ndim = max(len(s1), len(s2))
    dim = data.draw(st.integers(-ndim, ndim - 1))
    x1, x2 = arrays(data.draw, s1), arrays(data.draw, s2)
    check_module(layer("CosineSimilarity", dim, data.draw(st.sampled_from([1e-8, 0.5]))),
                 x1, x2)


@FAST
@given(data=st.data())
def test_pairwise_distance_matches_torch(data: st.DataObject) -> None:
    s1, s2 = data.draw(broadcastable(min_dims=1, max_dims=3, min_side=1))
    x1, x2 = arrays(data.draw, s1), arrays(data.draw, s2)
    p = data.draw(st.sampled_from([1.0, 2.0, 3.0]))
    check_module(layer("PairwiseDistance", p, data.draw(st.sampled_from([1e-6, 0.1])),
                       data.draw(st.booleans())), x1, x2)


def test_distance_reprs_and_errors() -> None:
    x = np.random.rand(3, 4)
    check_module(layer("PairwiseDistance"), x, x + 1, modes=("eval",))
    check_module(layer("CosineSimilarity", dim=0, eps=1e-3), x, x - 1, modes=("eval",))
    check_error(lambda m: both("CosineSimilarity")(m)(m.ones(2, 3), m.ones(2, 4)),
                RuntimeError, "cosine_similarity.*size")


# -- unfold / fold ------------------------------------------------------------------------

@FAST
@given(data=st.data())
def test_unfold_fold_match_torch(data: st.DataObject) -> None:
    k = data.draw(st.sampled_from([1, 2, (2, 1)]))
    kw = dict(dilation=data.draw(st.sampled_from([1, (1, 2)])),
              padding=data.draw(st.sampled_from([0, 1])),
              stride=data.draw(st.sampled_from([1, 2, (2, 1)])))
    batch = () if data.draw(st.booleans()) else (2,)
    x = arrays(data.draw, batch + (2, 4, 5))
    _, t_unfold = check_module(layer("Unfold", k, **kw), x)
    cols = t_unfold(torch.from_numpy(x)).numpy()
    check_module(layer("Fold", (4, 5), k, **kw), cols)


def test_fold_errors() -> None:
    check_error(lambda m: both("Unfold", 2)(m)(m.zeros(1, 1, 1, 2, 3)), RuntimeError,
                "unfold: Expected 3D or 4D")
    check_error(lambda m: both("Fold", 4, 2)(m)(m.zeros(1, 5, 9)), RuntimeError,
                "fold: Expected size of input's dimension 1 to be divisible")
    check_error(lambda m: both("Fold", 4, 2)(m)(m.zeros(1, 4, 8)), RuntimeError,
                "fold: .*number of sliding blocks")


# -- GLU ----------------------------------------------------------------------------------

@FAST
@given(data=st.data())
def test_glu_matches_torch(data: st.DataObject) -> None:
    shape = list(data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3)))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shape[dim] = 2 * data.draw(st.integers(0, 2))
    x = arrays(data.draw, tuple(shape))
    check(lambda m, x: m.nn.functional.glu(x, dim), x)
    check_module(layer("GLU", dim), x.astype(np.float32))


def test_glu_errors() -> None:
    glu = lambda a: lambda m: m.nn.functional.glu(*a(m))  # noqa: E731
    check_error(glu(lambda m: (m.ones(2, 3), 1)), RuntimeError,
                "Halving dimension must be even, but dimension 1 is size 3")
    check_error(glu(lambda m: (m.ones(2, 3), -1)), RuntimeError, "dimension 1 is size 3")
    check_error(glu(lambda m: (m.tensor(1.0),)), RuntimeError, "does not support scalars")
    check_error(glu(lambda m: (m.ones(2, 4), 2)), IndexError, "Dimension out of range")
    check_error(glu(lambda m: (m.arange(4),)), NotImplementedError, "glu")


# -- RReLU --------------------------------------------------------------------------------

@FAST
@given(data=st.data())
def test_rrelu_eval_matches_torch(data: st.DataObject) -> None:
    lower = data.draw(st.sampled_from([0.0, 0.1, 1.0 / 8]))
    upper = lower + data.draw(st.sampled_from([0.0, 0.2, 0.5]))
    x = arrays(data.draw, data.draw(st.sampled_from([(4,), (2, 3), (0, 2)])))
    check(lambda m, x: m.nn.functional.rrelu(x, lower, upper), x)
    check_module(layer("RReLU", lower, upper), x, modes=("eval",))
    check_module(layer("RReLU", lower, upper, True), x, modes=("eval",),
                 call=lambda mod, x: mod(x * 1))


def test_rrelu_training_slopes_are_uniform() -> None:
    lower, upper = 0.1, 0.4
    mod = activation.RReLU(lower, upper)
    x = ember.from_numpy(np.concatenate([-np.linspace(0.5, 2.0, 20000),
                                         np.linspace(0.5, 2.0, 100)])).requires_grad_()
    ember.manual_seed(1)
    y = mod(x)
    y.sum().backward()
    slopes = (y / x).detach().numpy()
    neg, pos = slopes[:20000], slopes[20000:]
    assert np.all(pos == 1.0) and np.allclose(x.grad.numpy(), slopes, rtol=1e-12)
    assert neg.min() >= lower and neg.max() <= upper
    # U(a, b): mean (a + b) / 2, variance (b - a)^2 / 12; n = 20000 keeps errors < 1%
    assert abs(neg.mean() - (lower + upper) / 2) < 3e-3
    assert abs(neg.var() - (upper - lower) ** 2 / 12) < 3e-4
    assert len(np.unique(neg)) > 19000
    ember.manual_seed(1)
    assert np.array_equal(mod(x).detach().numpy(), y.detach().numpy())


def test_rrelu_training_inplace_and_errors() -> None:
    x = ember.tensor([-1.0, 2.0, -3.0])
    out = ember.nn.functional.rrelu_(x, 0.2, 0.3, training=True)
    assert out is x and x[1].item() == 2.0
    assert -0.3 <= x[0].item() <= -0.2 and -0.9 <= x[2].item() <= -0.6
    rrelu = lambda a, **kw: lambda m: m.nn.functional.rrelu(*a(m), **kw)  # noqa: E731
    for training in (False, True):
        check_error(rrelu(lambda m: (m.ones(2), 0.5, 0.1), training=training), RuntimeError,
                    "Lower bound should be less than or equal to the upper bound")
    check_error(rrelu(lambda m: (m.arange(3),), training=True), NotImplementedError,
                "rrelu")
    check_module(layer("RReLU", 0.2, 0.3, inplace=True), np.ones(2), modes=())
