"""nn.functional: linear, bilinear, embedding, one_hot and the losses, against PyTorch."""
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember
import ember.nn.functional as F
from conformance import arrays, check

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["none", "mean", "sum"]


def _rand(shape, dtype=np.float64, seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


def _labels(shape, c, seed=0, ignore=None):
    t = np.random.default_rng(seed).integers(0, c, shape)
    if ignore is not None and t.size:
        t.flat[0] = ignore
    return t


# -- linear, bilinear ------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_linear(dtype, data):
    lead = tuple(data.draw(st.lists(st.integers(0, 3), max_size=2)))
    n_in, n_out = data.draw(st.integers(0, 3)), data.draw(st.integers(1, 3))
    vector_weight = data.draw(st.booleans())
    wshape = (n_in,) if vector_weight else (n_out, n_in)
    bshape = data.draw(st.sampled_from([None, wshape[:-1], ()]))
    xs = [arrays(data.draw, lead + (n_in,), dtype), arrays(data.draw, wshape, dtype)]
    if bshape is None:
        check(lambda m, x, w: m.nn.functional.linear(x, w), *xs)
    else:
        check(lambda m, x, w, b: m.nn.functional.linear(x, w, b), *xs,
              np.asarray(arrays(data.draw, bshape, dtype)))


@pytest.mark.parametrize("needs", ["x", "w", "b", "xb", "wb"])
@pytest.mark.parametrize("lead", [(3,), (), (2, 3)])
def test_linear_gradient_subsets(needs, lead):
    """The fused backward computes only the gradients asked for; each one still matches."""
    xs = [_rand(lead + (4,)), _rand((2, 4), seed=1), _rand((2,), seed=2)]
    nondiff = [i for i, k in enumerate("xwb") if k not in needs]
    check(lambda m, x, w, b: m.nn.functional.linear(x, w, b), *xs, nondiff=nondiff)


@pytest.mark.parametrize("s1,s2,bias", [((3, 2), (3, 4), True), ((2,), (3,), False),
                                        ((2, 1, 2), (2, 1, 3), True), ((0, 2), (0, 2), True)])
def test_bilinear(s1, s2, bias):
    w = _rand((2, s1[-1], s2[-1]), seed=2)
    xs = [_rand(s1), _rand(s2, seed=1), w] + ([_rand((2,), seed=3)] if bias else [])
    check(lambda m, *a: m.nn.functional.bilinear(*a), *xs)


@pytest.mark.parametrize("fn,match", [
    (lambda: F.linear(ember.ones(4, 3), ember.ones(2, 5)),
     r"linear: input shape \(4, 3\) does not match weight shape \(2, 5\)"),
    (lambda: F.linear(ember.ones(4, 3), ember.ones(2, 3), ember.ones(3)),
     r"linear: bias of shape \(3,\)"),
    (lambda: F.linear(ember.ones(()), ember.ones(2, 3)), "linear.*at least 1 dim"),
    (lambda: F.linear(ember.ones(4, 3), ember.ones(2, 3, 1)), "linear.*weight"),
    (lambda: F.linear(ember.ones(4, 3), ember.ones(2, 3, dtype=ember.float64)),
     "linear.*same dtype"),
    (lambda: F.bilinear(ember.ones(4, 3), ember.ones(5, 2), ember.ones(5, 3, 2)),
     r"bilinear.*batch dimensions.*\(4, 3\).*\(5, 2\)"),
    (lambda: F.bilinear(ember.ones(4, 3), ember.ones(4, 2), ember.ones(5, 3, 3)),
     "bilinear.*input2 size.*got 2 but expected 3"),
    (lambda: F.bilinear(ember.ones(4, 3), ember.ones(4, 2), ember.ones(5, 3, 2),
                        ember.ones(4)), "bilinear.*bias size"),
])
def test_linear_errors(fn, match):
    with pytest.raises(RuntimeError, match=match):
        fn()


# -- embedding, one_hot ----------------------------------------------------------------

@pytest.mark.parametrize("opts", [{}, {"padding_idx": 1}, {"padding_idx": -1},
                                  {"scale_grad_by_freq": True},
                                  {"scale_grad_by_freq": True, "padding_idx": 0}])
@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_embedding(opts, dtype, data):
    shape = tuple(data.draw(st.lists(st.integers(0, 4), max_size=2)))
    idx_dtype = data.draw(st.sampled_from([np.int64, np.int32]))
    idx = arrays(data.draw, shape, idx_dtype, 0, 3)     # 4 rows: repeats are likely
    w = arrays(data.draw, (4, 3), dtype)
    # padding_idx and scale_grad_by_freq change the gradient on purpose: no gradcheck
    check(lambda m, i, w: m.nn.functional.embedding(i, w, **opts), idx, w,
          gradcheck=not opts)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0])
def test_embedding_max_norm_renormalizes_rows_in_place(norm_type):
    idx, w = np.array([[0, 2], [2, 3]]), _rand((5, 3), low=-3, high=3)
    ew, tw = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    eo = F.embedding(ember.from_numpy(idx), ew, max_norm=1.5, norm_type=norm_type)
    to = torch.nn.functional.embedding(torch.from_numpy(idx), tw, max_norm=1.5,
                                       norm_type=norm_type)
    np.testing.assert_allclose(ew.detach().numpy(), tw.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-12)
    eo.sum().backward()
    to.sum().backward()
    np.testing.assert_allclose(ew.grad.numpy(), tw.grad.numpy())


def test_embedding_errors():
    w = ember.ones(3, 2)
    with pytest.raises(IndexError, match="index 5 is out of range.*3 rows"):
        F.embedding(ember.tensor([0, 5]), w)
    with pytest.raises(IndexError, match="index -1"):
        F.embedding(ember.tensor([-1]), w)
    with pytest.raises(RuntimeError, match="embedding.*indices.*Long, Int.*float32"):
        F.embedding(ember.tensor([0.0]), w)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        F.embedding(ember.tensor([0]), w, padding_idx=3)
    with pytest.raises(AssertionError, match="Padding_idx"):
        F.embedding(ember.tensor([0]), w, padding_idx=-4)
    with pytest.raises(RuntimeError, match="embedding.*'weight' must be 2-D"):
        F.embedding(ember.tensor([0]), ember.ones(3))


@pytest.mark.parametrize("values,num_classes", [([0, 2, 1], -1), ([[1], [0]], 3), ([], 4),
                                                (3, -1), ([[0, 1], [1, 1]], 2)])
def test_one_hot(values, num_classes):
    check(lambda m, t: m.nn.functional.one_hot(t, num_classes),
          np.array(values, dtype=np.int64))


@pytest.mark.parametrize("values,num_classes,match", [
    ([0, 3], 2, "smaller than num_classes"), ([0, -1], -1, "non-negative"),
    ([], -1, "empty tensor"), ([0.0, 1.0], -1, "LongTensor"),
])
def test_one_hot_errors(values, num_classes, match):
    t = ember.tensor(values, dtype=ember.float32 if match == "LongTensor" else ember.int64)
    with pytest.raises(RuntimeError, match=match):
        F.one_hot(t, num_classes)


# -- cross_entropy and nll_loss --------------------------------------------------------

CLASS_SHAPES = [((3, 4), (3,)), ((4,), ()), ((2, 3, 2), (2, 2)), ((2, 3, 1, 2), (2, 1, 2)),
                ((0, 3), (0,))]


@pytest.mark.parametrize("shapes", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [None, 1, -100])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_class_indices(shapes, reduction, weighted, ignore, smoothing):
    xs, ts = shapes
    c = xs[1] if len(xs) > 1 else xs[0]
    x, t = _rand(xs), _labels(ts, c, ignore=-100 if ignore == -100 else None)
    w = _rand((c,), seed=5, low=0.2, high=2.0) if weighted else None
    opts = dict(reduction=reduction, label_smoothing=smoothing)
    if ignore is not None:
        opts["ignore_index"] = ignore
    all_ignored = ignore == -100 and t.size == 1     # a NaN mean: no finite differences
    check(lambda m, x, t, w: m.nn.functional.cross_entropy(x, t, weight=w, **opts), x, t, w,
          nondiff=[2], gradcheck=not all_ignored)
    if not smoothing:
        check(lambda m, x, t, w: m.nn.functional.nll_loss(x.log_softmax(1 if x.ndim > 1
                                                                          else 0), t, w,
                                                           **{k: v for k, v in opts.items()
                                                              if k != "label_smoothing"}),
              x, t, w, nondiff=[2], gradcheck=not all_ignored)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("shape", [(3, 4), (4,), (2, 3, 2), (0, 3)])
def test_cross_entropy_class_probabilities(dtype, reduction, weighted, smoothing, shape):
    c = shape[1] if len(shape) > 1 else shape[0]
    x = _rand(shape, dtype)
    p = _rand(shape, dtype, seed=1, low=0, high=1)
    w = _rand((c,), dtype, seed=5, low=0.2, high=2.0) if weighted else None
    check(lambda m, x, p, w: m.nn.functional.cross_entropy(
        x, p, weight=w, reduction=reduction, label_smoothing=smoothing), x, p, w, nondiff=[2])


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_nll_loss_float32_and_random_targets(dtype, data):
    n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    x = arrays(data.draw, (n, c), dtype)
    t = arrays(data.draw, (n,), np.int64, 0, c - 1)
    check(lambda m, x, t: m.nn.functional.nll_loss(x, t), x, t)
    check(lambda m, x, t: m.nn.functional.cross_entropy(x, t.to(m.uint8)), x, t,
          gradcheck=False)


def test_all_targets_ignored_gives_nan_mean():
    check(lambda m, x, t: m.nn.functional.cross_entropy(x, t), _rand((2, 3)),
          np.array([-100, -100]), gradcheck=False)


@pytest.mark.parametrize("shapes", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore", [-100, 0])
def test_fused_cross_entropy_matches_general_path(shapes, reduction, ignore):
    """Without weight and label smoothing, cross_entropy is one fused op; its loss, its
    gradient and its gradient's gradient equal the composed log_softmax + nll_loss path
    (and a weight of ones, which takes the general path)."""
    xs, ts = shapes
    c = xs[1] if len(xs) > 1 else xs[0]
    x, t = ember.tensor(_rand(xs), requires_grad=True), ember.from_numpy(_labels(ts, c, 1))
    fused = F.cross_entropy(x, t, reduction=reduction, ignore_index=ignore)
    assert fused.grad_fn.name() == "CrossEntropyBackward0"
    cdim = 1 if x.ndim > 1 else 0
    general = [F.nll_loss(F.log_softmax(x, cdim), t, reduction=reduction, ignore_index=ignore),
               F.cross_entropy(x, t, weight=ember.ones(c, dtype=x.dtype),
                               reduction=reduction, ignore_index=ignore)]
    up = ember.from_numpy(_rand(tuple(fused.shape), seed=3))
    gf, = ember.autograd.grad(fused, x, up, create_graph=True)
    ggf, = ember.autograd.grad((gf * gf).sum(), x)
    for other in general:
        np.testing.assert_allclose(fused.detach().numpy(), other.detach().numpy(), rtol=1e-12,
                                   atol=1e-15)
        go, = ember.autograd.grad(other, x, up, create_graph=True)
        np.testing.assert_allclose(gf.detach().numpy(), go.detach().numpy(), atol=1e-15)
        ggo, = ember.autograd.grad((go * go).sum(), x)
        np.testing.assert_allclose(ggf.numpy(), ggo.numpy(), atol=1e-14)


def test_fused_cross_entropy_third_order_and_upstream_grad():
    x, t = _rand((3, 4)), np.array([1, -100, 3])

    def third(m, x, t):
        loss = m.nn.functional.cross_entropy(x, t, reduction="none")
        g, = m.autograd.grad((loss * loss).sum(), x, create_graph=True)
        h, = m.autograd.grad((g ** 3).sum(), x, create_graph=True)
        return h
    check(third, x, t, gradcheck=False)


@pytest.mark.parametrize("fn,err,match", [
    (lambda: F.nll_loss(ember.ones(3, 4), ember.tensor([0, 1, 5])), IndexError,
     "nll_loss.*Target 5 is out of bounds.*3"),
    (lambda: F.cross_entropy(ember.ones(3, 4), ember.tensor([0, -1, 1])), IndexError,
     "cross_entropy.*Target -1 is out of bounds"),
    (lambda: F.cross_entropy(ember.ones(3, 4), ember.tensor([0, 4, 1]),
                             weight=ember.ones(4)), IndexError,
     "cross_entropy.*Target 4 is out of bounds"),
    (lambda: F.cross_entropy(ember.ones(3, 4).long(), ember.tensor([0, 1, 1])), RuntimeError,
     "cross_entropy.*floating point.*int64"),
    (lambda: F.nll_loss(ember.ones(3, 4), ember.tensor([0, 1])), ValueError,
     r"nll_loss.*input batch_size \(3\) to match target batch_size \(2\)"),
    (lambda: F.nll_loss(ember.ones(2, 3, 4), ember.ones(2, 3).long()), RuntimeError,
     r"Expected target size \[2, 4\], got \[2, 3\]"),
    (lambda: F.nll_loss(ember.ones(3, 4), ember.tensor([0, 1, 2], dtype=ember.int32)),
     RuntimeError, "nll_loss.*Long or Byte.*int32"),
    (lambda: F.nll_loss(ember.ones(()), ember.tensor(0)), ValueError, "1 or more dimensions"),
    (lambda: F.nll_loss(ember.ones(3, 4), ember.tensor([0, 1, 2]), weight=ember.ones(3)),
     RuntimeError, r"for all 4 classes.*\[3\]"),
    (lambda: F.nll_loss(ember.ones(3, 4), ember.tensor([0, 1, 2]), reduction="avg"),
     ValueError, "avg is not a valid value for reduction"),
    (lambda: F.cross_entropy(ember.ones(3, 4), ember.tensor([0, 1, 2]), label_smoothing=1.5),
     RuntimeError, "label_smoothing must be between 0.0 and 1.0"),
    (lambda: F.cross_entropy(ember.ones(3, 4), ember.ones(3, 4).long()), RuntimeError,
     "floating point type for target with class probabilities"),
    (lambda: F.cross_entropy(ember.ones(3, 4), ember.ones(3, 4, dtype=ember.float64)),
     RuntimeError, "cross_entropy.*float64"),
    (lambda: F.cross_entropy(ember.ones(3, 4), ember.tensor([0, 1, 2]),
                             weight=ember.ones(4, dtype=ember.float64)), RuntimeError,
     "cross_entropy.*weight.*float64"),
    (lambda: F.cross_entropy(ember.ones(3, 4), ember.ones(3, 5)), RuntimeError,
     "cross_entropy.*multi-target"),
])
def test_classification_errors(fn, err, match):
    with pytest.raises(err, match=match):
        fn()


# -- regression losses -------------------------------------------------------------------

REGRESSION = {
    "mse_loss": {}, "l1_loss": {}, "smooth_l1_loss": {}, "smooth_l1_loss_b0": {"beta": 0.0},
    "smooth_l1_loss_b05": {"beta": 0.5}, "huber_loss": {}, "huber_loss_d2": {"delta": 2.0},
}


@pytest.mark.parametrize("name", sorted(REGRESSION))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_regression_losses(name, reduction, dtype, data):
    fname, opts = name.split("_b")[0].split("_d2")[0], REGRESSION[name]
    shape = data.draw(st.lists(st.integers(0, 3), max_size=3).map(tuple))
    x = arrays(data.draw, shape, dtype)
    gap = arrays(data.draw, shape, dtype, 0.1, 2.0) * np.where(arrays(data.draw, shape, bool),
                                                                 1, -1).astype(dtype)
    y = np.asarray(x + gap)     # |x - y| >= 0.1: away from the kink of l1 at 0
    check(lambda m, a, b: getattr(m.nn.functional, fname)(a, b, reduction=reduction, **opts),
          x, y)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_weights(name, reduction):
    x, y, w = _rand((3, 2)), _rand((3, 2), seed=1), _rand((3, 2), seed=2, low=0.1, high=1)
    check(lambda m, a, b, w: getattr(m.nn.functional, name)(a, b, reduction=reduction,
                                                           weight=w), x, y, w)
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        getattr(F, name)(ember.from_numpy(x), ember.from_numpy(y), weight=ember.ones(2))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_broadcast_warns_like_torch(name):
    x, y = _rand((3, 1)), _rand((3,), seed=1)
    with pytest.warns(UserWarning, match="target size"):
        check(lambda m, a, b: getattr(m.nn.functional, name)(a, b), x, y, gradcheck=False)
    with pytest.raises(RuntimeError, match=rf"{name}.*\(3, 2\).*\(3,\)"):
        getattr(F, name)(ember.ones(3, 2), ember.ones(3))


def test_regression_option_errors_and_legacy_flags():
    with pytest.raises(RuntimeError, match="smooth_l1_loss.*negative values for beta"):
        F.smooth_l1_loss(ember.ones(2), ember.ones(2), beta=-1)
    with pytest.raises(RuntimeError, match="huber_loss.*non-positive values for delta"):
        F.huber_loss(ember.ones(2), ember.ones(2), delta=0)
    x, y = _rand((3, 2)), _rand((3, 2), seed=1)
    for sa, red in [(False, None), (None, False), (True, True)]:
        with pytest.warns(UserWarning, match="size_average and reduce"):
            check(lambda m, a, b: m.nn.functional.mse_loss(a, b, sa, red), x, y,
                  gradcheck=False)


# -- binary cross-entropy ----------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("wshape", [None, (2,), (3, 2)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy(reduction, wshape, dtype):
    x = _rand((3, 2), dtype, low=0.05, high=0.95)
    t = _rand((3, 2), dtype, seed=1, low=0, high=1)
    w = None if wshape is None else _rand(wshape, dtype, seed=2, low=0.1, high=2)
    check(lambda m, x, t, w: m.nn.functional.binary_cross_entropy(
        x, t, weight=w, reduction=reduction), x, t, w, nondiff=[2])


def test_binary_cross_entropy_boundaries_stay_finite():
    x = np.array([0.0, 1.0, 1e-30, 1.0, 0.0, 0.5])
    t = np.array([0.5, 1.0, 0.0, 0.0, 1.0, 0.5])
    check(lambda m, x, t: m.nn.functional.binary_cross_entropy(x, t, reduction="sum"), x, t,
          gradcheck=False)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [False, True])
@pytest.mark.parametrize("pos_weight", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_with_logits(reduction, weight, pos_weight, dtype):
    x = _rand((3, 2), dtype, low=-4, high=4)
    x[0, 0] = 0.0
    t = _rand((3, 2), dtype, seed=1, low=0, high=1)
    w = _rand((2,), dtype, seed=2, low=0.1, high=2) if weight else None
    pw = _rand((2,), dtype, seed=3, low=0.5, high=3) if pos_weight else None
    check(lambda m, x, t, w, pw: m.nn.functional.binary_cross_entropy_with_logits(
        x, t, weight=w, reduction=reduction, pos_weight=pw), x, t, w, pw, nondiff=[2, 3])


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_empty_batch(name, reduction):
    check(lambda m, x, t: getattr(m.nn.functional, name)(x, t, reduction=reduction),
          np.zeros((0, 2)), np.zeros((0, 2)), gradcheck=False)


def test_binary_cross_entropy_with_logits_large_logits():
    x = np.array([-800.0, 800.0, -40.0, 40.0, 0.0])
    t = np.array([1.0, 0.0, 0.3, 0.7, 1.0])
    check(lambda m, x, t: m.nn.functional.binary_cross_entropy_with_logits(
        x, t, reduction="none"), x, t, gradcheck=False)


def test_binary_cross_entropy_errors():
    with pytest.raises(ValueError, match=r"binary_cross_entropy.*\(3,\).*\(3, 1\)"):
        F.binary_cross_entropy(ember.ones(3, 1) / 2, ember.ones(3) / 2)
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(ember.tensor([0.5, 1.5]), ember.tensor([0.5, 0.5]))
    with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
        F.binary_cross_entropy(ember.tensor([0.5, 0.5]), ember.tensor([0.5, -0.5]))
    with pytest.raises(RuntimeError, match="binary_cross_entropy.*float64.*float32"):
        F.binary_cross_entropy(ember.ones(2) / 2, ember.ones(2, dtype=ember.float64) / 2)
    with pytest.raises(RuntimeError, match="weight of shape"):
        F.binary_cross_entropy(ember.ones(3, 2) / 2, ember.ones(3, 2) / 2,
                               weight=ember.ones(4, 3, 2))
    with pytest.raises(ValueError, match=r"with_logits.*Target size.*\(3,\).*\(3, 2\)"):
        F.binary_cross_entropy_with_logits(ember.ones(3, 2), ember.ones(3))


# -- kl_div ------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("shape", [(3, 2), (), (0, 2)])
def test_kl_div(reduction, log_target, shape):
    x = _rand(shape, low=-3, high=0)
    t = _rand(shape, seed=1, low=-2, high=0) if log_target else _rand(shape, seed=1, low=0,
                                                                          high=1)
    fn = (lambda m, x, t: m.nn.functional.kl_div(x, t, reduction=reduction,
                                                 log_target=log_target))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # 'mean' warns (in both libraries)
        check(fn, x, t)
        if not log_target and t.size:
            t.flat[0] = 0.0                 # 0 * log(0) counts as 0 (its gradient is NaN)
            check(fn, x, t, gradcheck=False)


def test_kl_div_mean_warns():
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(ember.zeros(2), ember.ones(2) / 2)


# -- margin and embedding losses --------------------------------------------------------

def _pm1(shape, seed=0):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3])
@pytest.mark.parametrize("batched", [True, False])
def test_cosine_embedding_loss(reduction, margin, batched):
    s = (3, 4) if batched else (4,)
    check(lambda m, a, b, y: m.nn.functional.cosine_embedding_loss(
        a, b, y, margin=margin, reduction=reduction),
        _rand(s), _rand(s, seed=1), _pm1(s[:-1], 2), nondiff=[2])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_loss(reduction, margin):
    check(lambda m, a, b, y: m.nn.functional.margin_ranking_loss(
        a, b, y, margin=margin, reduction=reduction),
        _rand((5,)), _rand((5,), seed=1), _pm1((5,), 2))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [2, 1, 3])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("shape", [(3, 4), (4,)])
def test_triplet_margin_loss(reduction, p, swap, shape):
    check(lambda m, a, b, c: m.nn.functional.triplet_margin_loss(
        a, b, c, margin=0.7, p=p, swap=swap, reduction=reduction),
        _rand(shape), _rand(shape, seed=1), _rand(shape, seed=2))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_and_hinge_embedding(reduction):
    x, y = _rand((3, 2)), _pm1((3, 2), 1)
    check(lambda m, a, b: m.nn.functional.soft_margin_loss(a, b, reduction=reduction), x, y,
          nondiff=[1])
    check(lambda m, a, b: m.nn.functional.hinge_embedding_loss(a, b, margin=0.5,
                                                                reduction=reduction), x, y,
          nondiff=[1])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_loss(reduction, log_input, full):
    x = _rand((3, 2), low=-1, high=1) if log_input else _rand((3, 2), low=0.1, high=3)
    t = np.random.default_rng(1).integers(0, 4, (3, 2)).astype(np.float64)
    check(lambda m, a, b: m.nn.functional.poisson_nll_loss(a, b, log_input=log_input,
                                                            full=full, reduction=reduction),
          x, t, nondiff=[1])


def test_margin_loss_errors():
    with pytest.raises(ValueError, match="triplet_margin_loss.*margin must be greater than 0"):
        F.triplet_margin_loss(ember.ones(2), ember.ones(2), ember.ones(2), margin=0)
    with pytest.raises(RuntimeError, match="triplet_margin_loss.*anchor 2D.*negative 1D"):
        F.triplet_margin_loss(ember.ones(3, 2), ember.ones(3, 2), ember.ones(2))
    with pytest.raises(RuntimeError, match="cosine_embedding_loss.*1D target.*2D input"):
        F.cosine_embedding_loss(ember.ones(2), ember.ones(2), ember.ones(1))
    with pytest.raises(RuntimeError, match="cosine_embedding_loss.*multi-target"):
        F.cosine_embedding_loss(ember.ones(2, 2), ember.ones(2, 2), ember.ones(2, 2))
    with pytest.raises(RuntimeError, match=r"margin_ranking_loss.*\(3,\).*\(3, 1\)"):
        F.margin_ranking_loss(ember.ones(3), ember.ones(3, 1), ember.ones(3))
