"""Loss layers against torch.nn: values and gradients for each reduction and option,
weights kept as buffers, the legacy size_average/reduce flags, and constructor errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from conformance import arrays, shapes
from module_conformance import (check_module, framework_tensor as _tensor,
                                same_constructor_error as _errors)

REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


def _signs(draw, shape):
    """A float array of -1 and 1."""
    return np.where(arrays(draw, shape, np.float64) > 0, 1.0, -1.0)


# -- regression losses -------------------------------------------------------------------

PAIR_LOSSES = ["MSELoss", "L1Loss", "SmoothL1Loss", "SmoothL1Loss(beta=0.5)", "HuberLoss",
               "HuberLoss(delta=0.7)", "SoftMarginLoss"]


@pytest.mark.parametrize("spec", PAIR_LOSSES)
@settings(max_examples=8)
@given(data=st.data())
def test_pair_losses(spec, data):
    shape = data.draw(shapes(0, 3))
    reduction = data.draw(REDUCTIONS)
    x, y = arrays(data.draw, shape), arrays(data.draw, shape)
    name, _, args = spec.partition("(")
    extra = args.rstrip(")")
    if name == "SoftMarginLoss":
        y = _signs(data.draw, shape)
    make = eval(f"lambda nn: nn.{name}(reduction={reduction!r}{', ' + extra if extra else ''})")
    check_module(make, x, y, nondiff=(1,) if name == "SoftMarginLoss" else ())


@settings(max_examples=10)
@given(data=st.data())
def test_poisson_nll(data):
    shape = data.draw(shapes(0, 3))
    log_input, full = data.draw(st.booleans()), data.draw(st.booleans())
    reduction = data.draw(REDUCTIONS)
    x = arrays(data.draw, shape, low=-2 if log_input else 0.1, high=2)
    y = np.asarray(np.round(arrays(data.draw, shape, low=0, high=4)))
    check_module(lambda nn: nn.PoissonNLLLoss(log_input, full, reduction=reduction), x, y,
                 nondiff=(1,))


@settings(max_examples=10)
@given(data=st.data())
def test_kl_div(data):
    shape = data.draw(shapes(1, 3, min_side=1))
    log_target = data.draw(st.booleans())
    reduction = data.draw(st.sampled_from(["batchmean", "sum", "none"]))
    x = arrays(data.draw, shape, low=-3, high=0)
    y = arrays(data.draw, shape, low=-3 if log_target else 0, high=0 if log_target else 1)
    check_module(lambda nn: nn.KLDivLoss(reduction=reduction, log_target=log_target), x, y)


# -- classification losses ---------------------------------------------------------------

def _class_problem(data, min_dims=1):
    """Logits ``(N, C, *d)`` (or ``(C,)``), int64 targets, optional class weights."""
    c = data.draw(st.integers(1, 4))
    extra = data.draw(shapes(0, 2, min_side=1))
    lead = data.draw(st.sampled_from([(), (data.draw(st.integers(1, 3)),)])) if not extra \
        else (data.draw(st.integers(1, 3)),)
    x = arrays(data.draw, lead + (c,) + extra)
    target = arrays(data.draw, lead + extra, np.int64, 0, c - 1)
    weight = data.draw(st.one_of(st.none(), st.just(arrays(data.draw, (c,), low=0.1))))
    return x, target, weight


@settings(max_examples=20)
@given(data=st.data())
def test_cross_entropy(data):
    x, target, weight = _class_problem(data)
    reduction = data.draw(REDUCTIONS)
    smoothing = data.draw(st.sampled_from([0.0, 0.2]))
    ignore = data.draw(st.sampled_from([-100, 0]))
    w = None if weight is None else weight.astype(np.float64)
    check_module(lambda nn: nn.CrossEntropyLoss(
        weight=None if w is None else _tensor(nn, w), ignore_index=ignore,
        reduction=reduction, label_smoothing=smoothing), x, target)


@settings(max_examples=10)
@given(data=st.data())
def test_cross_entropy_probabilities(data):
    x, _, weight = _class_problem(data)
    p = arrays(data.draw, x.shape, low=0, high=1)
    check_module(lambda nn: nn.CrossEntropyLoss(
        weight=None if weight is None else _tensor(nn, weight), label_smoothing=0.1), x, p,
        nondiff=(1,))


@settings(max_examples=15)
@given(data=st.data())
def test_nll(data):
    x, target, weight = _class_problem(data)
    reduction = data.draw(REDUCTIONS)
    check_module(lambda nn: nn.NLLLoss(weight=None if weight is None else _tensor(nn, weight),
                                       ignore_index=1, reduction=reduction), x, target)


@settings(max_examples=15)
@given(data=st.data())
def test_bce(data):
    shape = data.draw(shapes(0, 3))
    reduction = data.draw(REDUCTIONS)
    x, y = arrays(data.draw, shape, low=0.02, high=0.98), arrays(data.draw, shape, low=0, high=1)
    weight = data.draw(st.one_of(st.none(), st.just(arrays(data.draw, shape[-1:], low=0.1))))
    check_module(lambda nn: nn.BCELoss(weight=None if weight is None else _tensor(nn, weight),
                                       reduction=reduction), x, y, nondiff=(1,))


@settings(max_examples=15)
@given(data=st.data())
def test_bce_with_logits(data):
    shape = data.draw(shapes(1, 3))
    reduction = data.draw(REDUCTIONS)
    x, y = arrays(data.draw, shape), arrays(data.draw, shape, low=0, high=1)
    opt = st.one_of(st.none(), st.just(arrays(data.draw, shape[-1:], low=0.1)))
    weight, pos_weight = data.draw(opt), data.draw(opt)
    e, _ = check_module(lambda nn: nn.BCEWithLogitsLoss(
        weight=None if weight is None else _tensor(nn, weight), reduction=reduction,
        pos_weight=None if pos_weight is None else _tensor(nn, pos_weight)), x, y)
    assert [n for n, _ in e.named_buffers()] == \
        [n for n, v in (("weight", weight), ("pos_weight", pos_weight)) if v is not None]


def test_weights_are_buffers():
    w = np.array([1.0, 2.0, 0.5], np.float32)
    for name in ("CrossEntropyLoss", "NLLLoss", "BCELoss"):
        e = getattr(ember.nn, name)(weight=ember.from_numpy(w.copy()))
        t = getattr(torch.nn, name)(weight=torch.from_numpy(w.copy()))
        assert list(e.state_dict()) == list(t.state_dict()) == ["weight"]
        assert [n for n, _ in e.named_buffers()] == ["weight"]
        assert list(e.parameters()) == []
        assert list(getattr(ember.nn, name)().state_dict()) == []
        assert repr(e) == repr(t) == f"{name}()"
    e = ember.nn.CrossEntropyLoss(weight=ember.from_numpy(w.copy())).double()
    assert e.weight.dtype == ember.float64


# -- margin and embedding losses ---------------------------------------------------------

@settings(max_examples=15)
@given(data=st.data())
def test_cosine_embedding(data):
    n, d = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    batched = data.draw(st.booleans())
    shape = (n, d) if batched else (d,)
    margin, reduction = data.draw(st.sampled_from([0.0, 0.3, -0.2])), data.draw(REDUCTIONS)
    check_module(lambda nn: nn.CosineEmbeddingLoss(margin, reduction=reduction),
                 arrays(data.draw, shape), arrays(data.draw, shape),
                 _signs(data.draw, shape[:1] if batched else ()), nondiff=(2,))


@settings(max_examples=15)
@given(data=st.data())
def test_margin_ranking_and_hinge(data):
    shape = data.draw(shapes(0, 2))
    margin, reduction = data.draw(st.sampled_from([0.0, 0.5])), data.draw(REDUCTIONS)
    x1, x2, y = arrays(data.draw, shape), arrays(data.draw, shape), _signs(data.draw, shape)
    check_module(lambda nn: nn.MarginRankingLoss(margin=margin, reduction=reduction),
                 x1, x2, y, nondiff=(2,))
    check_module(lambda nn: nn.HingeEmbeddingLoss(margin=margin + 1, reduction=reduction),
                 x1, y, nondiff=(1,))


@settings(max_examples=15)
@given(data=st.data())
def test_triplet_margin(data):
    shape = data.draw(st.sampled_from([(3,), (2, 3), (4, 2)]))
    p = data.draw(st.sampled_from([1.0, 2.0, 3.0]))
    swap, reduction = data.draw(st.booleans()), data.draw(REDUCTIONS)
    a, pos, neg = (arrays(data.draw, shape) for _ in range(3))
    check_module(lambda nn: nn.TripletMarginLoss(margin=0.5, p=p, swap=swap,
                                                 reduction=reduction), a, pos, neg)


# -- reduction arguments and errors ------------------------------------------------------

@pytest.mark.parametrize("size_average,reduce", [(False, None), (None, False), (True, True),
                                                 (False, True), (True, False)])
def test_legacy_reduction_flags(size_average, reduce):
    for name in ("MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
                 "BCEWithLogitsLoss", "KLDivLoss", "SoftMarginLoss", "TripletMarginLoss"):
        with pytest.warns(UserWarning, match="size_average and reduce"):
            e = getattr(ember.nn, name)(size_average=size_average, reduce=reduce)
        with pytest.warns(UserWarning):
            t = getattr(torch.nn, name)(size_average=size_average, reduce=reduce)
        assert e.reduction == t.reduction, name


def test_invalid_reduction_raises_on_call():
    x = np.ones((2, 3), np.float32)
    _errors(lambda nn: nn.MSELoss(reduction="avg")(_tensor(nn, x), _tensor(nn, x)),
            ValueError, "avg is not a valid value for reduction")
    assert ember.nn.L1Loss(reduction="avg").reduction == "avg"


def test_loss_constructor_errors():
    _errors(lambda nn: nn.TripletMarginLoss(margin=0.0), ValueError,
            "TripletMarginLoss: expected margin to be greater than 0, got 0.0")
    _errors(lambda nn: nn.HuberLoss(delta="1"), TypeError,
            "HuberLoss: delta must be a float or int")


def test_loss_reprs_and_attributes():
    specs = ["CrossEntropyLoss(ignore_index=3, label_smoothing=0.1)", "HuberLoss(delta=2)",
             "SmoothL1Loss(beta=0.5)", "KLDivLoss(reduction='batchmean', log_target=True)",
             "PoissonNLLLoss(False, True, eps=1e-5)", "TripletMarginLoss(2.0, 1.0, 1e-3, True)",
             "CosineEmbeddingLoss(0.2)", "MarginRankingLoss(0.1)", "HingeEmbeddingLoss(2.0)"]
    keys = ("reduction", "ignore_index", "label_smoothing", "delta", "beta", "log_target",
            "log_input", "full", "eps", "margin", "p", "swap")
    for spec in specs:
        e, t = eval(f"ember.nn.{spec}"), eval(f"torch.nn.{spec}")
        assert repr(e) == repr(t)
        for k in keys:
            assert getattr(e, k, None) == getattr(t, k, None), (spec, k)
