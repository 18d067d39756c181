"""keras.losses against PyTorch (cross-entropies, MSE, Huber, KL, ...) and NumPy formulas
of Keras's definitions (the Keras-specific ones), values and gradients."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st

import ember
from ember.keras import losses

EPS = 1e-7
RNG = np.random.default_rng(0)


def _pred(a):
    return ember.tensor(a, requires_grad=True)


def _grad_pair(ember_loss, torch_loss, y_true, logits):
    """Loss value and gradient w.r.t. the prediction, from Ember and from torch."""
    p = _pred(logits)
    value = ember_loss(y_true, p)
    value.backward()
    tp = torch.tensor(logits, requires_grad=True)
    want = torch_loss(tp)
    want.backward()
    np.testing.assert_allclose(value.item(), want.item(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-7)


@settings(max_examples=15, deadline=None)
@given(batch=st.integers(1, 6), classes=st.integers(2, 7), seed=st.integers(0, 99))
def test_sparse_ce_from_logits_matches_torch_cross_entropy(batch, classes, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(batch, classes))
    labels = rng.integers(0, classes, size=batch)
    _grad_pair(losses.SparseCategoricalCrossentropy(from_logits=True),
               lambda t: TF.cross_entropy(t, torch.tensor(labels)), labels, logits)


def test_sparse_ce_on_probabilities_renormalizes_clips_and_logs():
    probs = RNG.uniform(0.01, 1.0, size=(5, 4))
    probs[0, 2] = 0.0                           # clipped to eps before the log
    labels = np.array([2, 0, 3, 1, 1])
    normalized = probs / probs.sum(-1, keepdims=True)

    def torch_loss(t):
        q = (t / t.sum(-1, keepdim=True)).clamp(EPS, 1 - EPS)
        return TF.nll_loss(q.log(), torch.tensor(labels))
    _grad_pair(losses.SparseCategoricalCrossentropy(), torch_loss, labels, probs)
    per_sample = losses.sparse_categorical_crossentropy(labels[:, None], ember.tensor(probs))
    want = -np.log(np.clip(normalized[np.arange(5), labels], EPS, 1 - EPS))
    np.testing.assert_allclose(per_sample.numpy(), want, rtol=1e-6)


def test_sparse_ce_ignore_class_averages_over_kept_labels():
    logits = RNG.normal(size=(6, 3))
    labels = np.array([0, -1, 2, 1, -1, 2])
    got = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(
        labels, ember.tensor(logits))
    want = TF.cross_entropy(torch.tensor(logits), torch.tensor(labels), ignore_index=-1)
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-6)


def test_sparse_ce_on_sequences_with_sample_weights():
    logits = RNG.normal(size=(2, 3, 4))
    labels = RNG.integers(0, 4, size=(2, 3))
    weights = np.array([[1.0, 0.0, 2.0], [0.5, 1.0, 1.0]])
    got = losses.SparseCategoricalCrossentropy(from_logits=True)(
        labels, ember.tensor(logits), sample_weight=weights)
    per = TF.cross_entropy(torch.tensor(logits).reshape(6, 4), torch.tensor(labels).reshape(6),
                           reduction="none").numpy().reshape(2, 3)
    np.testing.assert_allclose(got.item(), (per * weights).sum() / 6, rtol=1e-6)


def test_categorical_ce_matches_torch_soft_target_cross_entropy():
    logits = RNG.normal(size=(4, 5))
    target = np.eye(5)[[0, 3, 2, 4]]
    _grad_pair(losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
               lambda t: TF.cross_entropy(t, torch.tensor(target), label_smoothing=0.1),
               target, logits)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    _grad_pair(losses.CategoricalCrossentropy(),
               lambda t: -(torch.tensor(target) * (t / t.sum(-1, keepdim=True))
                           .clamp(EPS, 1 - EPS).log()).sum(-1).mean(), target, probs)


def test_binary_ce_matches_torch_with_logits_and_probabilities():
    logits = RNG.normal(size=(6, 3))
    target = RNG.integers(0, 2, size=(6, 3)).astype(float)
    _grad_pair(losses.BinaryCrossentropy(from_logits=True),
               lambda t: TF.binary_cross_entropy_with_logits(t, torch.tensor(target)),
               target, logits)
    probs = 1 / (1 + np.exp(-logits))
    _grad_pair(losses.BinaryCrossentropy(),
               lambda t: TF.binary_cross_entropy(t.clamp(EPS, 1 - EPS), torch.tensor(target)),
               target, probs)
    smoothed = target * 0.8 + 0.5 * 0.2
    _grad_pair(losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2),
               lambda t: TF.binary_cross_entropy_with_logits(t, torch.tensor(smoothed)),
               target, logits)


def test_probabilities_at_zero_and_one_are_clipped_not_infinite():
    value = losses.binary_crossentropy([[1.0, 0.0]], ember.tensor(np.array([[0.0, 1.0]])))
    np.testing.assert_allclose(value.numpy(), [-np.log(EPS)], rtol=1e-3)


@pytest.mark.parametrize("name, torch_fn", [
    ("MeanSquaredError", lambda p, t: TF.mse_loss(p, t)),
    ("MeanAbsoluteError", lambda p, t: TF.l1_loss(p, t)),
    ("Huber", lambda p, t: TF.huber_loss(p, t, delta=1.0)),
    ("LogCosh", lambda p, t: torch.log(torch.cosh(p - t)).mean()),
    ("Poisson", lambda p, t: (p - t * torch.log(p + EPS)).mean()),
])
def test_regression_losses_match_torch(name, torch_fn):
    pred = RNG.uniform(0.1, 3.0, size=(5, 4))
    true = RNG.uniform(0.1, 3.0, size=(5, 4))
    _grad_pair(getattr(losses, name)(), lambda t: torch_fn(t, torch.tensor(true)), true, pred)


def test_huber_delta_matches_torch():
    pred, true = RNG.normal(size=(8, 2)) * 3, RNG.normal(size=(8, 2))
    _grad_pair(losses.Huber(delta=0.5),
               lambda t: TF.huber_loss(t, torch.tensor(true), delta=0.5), true, pred)


def test_kl_divergence_matches_torch_kl_div():
    p = RNG.dirichlet(np.ones(4), size=3)
    q = RNG.dirichlet(np.ones(4), size=3)
    _grad_pair(losses.KLDivergence(),
               lambda t: TF.kl_div(t.clamp(EPS, 1).log(), torch.tensor(p),
                                   reduction="batchmean"), p, q)


def test_keras_specific_losses_match_numpy_formulas():
    t = RNG.uniform(0.5, 2.0, size=(4, 3))
    p = RNG.uniform(0.5, 2.0, size=(4, 3))
    cases = {
        "mean_absolute_percentage_error": 100 * np.mean(np.abs((t - p) / np.abs(t)), -1),
        "mean_squared_logarithmic_error": np.mean((np.log1p(p) - np.log1p(t)) ** 2, -1),
        "cosine_similarity": -np.sum(t * p, -1) / np.linalg.norm(t, axis=-1)
        / np.linalg.norm(p, axis=-1),
    }
    for name, want in cases.items():
        np.testing.assert_allclose(getattr(losses, name)(t, ember.tensor(p)).numpy(), want,
                                   rtol=1e-6, err_msg=name)
    labels = RNG.integers(0, 2, size=(4, 3)).astype(float)
    signs = 2 * labels - 1
    np.testing.assert_allclose(losses.hinge(labels, ember.tensor(p - 1)).numpy(),
                               np.mean(np.maximum(1 - signs * (p - 1), 0), -1), rtol=1e-6)
    np.testing.assert_allclose(losses.squared_hinge(signs, ember.tensor(p - 1)).numpy(),
                               np.mean(np.maximum(1 - signs * (p - 1), 0) ** 2, -1), rtol=1e-6)
    onehot = np.eye(3)[[0, 2, 1, 1]]
    pos, neg = np.sum(onehot * p, -1), np.max((1 - onehot) * p, -1)
    np.testing.assert_allclose(losses.categorical_hinge(onehot, ember.tensor(p)).numpy(),
                               np.maximum(neg - pos + 1, 0), rtol=1e-6)


def test_binary_focal_crossentropy_formula():
    y = RNG.integers(0, 2, size=(5, 2)).astype(float)
    p = RNG.uniform(0.05, 0.95, size=(5, 2))
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    p_t = y * p + (1 - y) * (1 - p)
    focal = (1 - p_t) ** 2.0 * bce * (y * 0.25 + (1 - y) * 0.75)
    got = losses.BinaryFocalCrossentropy(apply_class_balancing=True)(y, ember.tensor(p))
    np.testing.assert_allclose(got.item(), focal.mean(), rtol=1e-6)


def test_reductions_and_sample_weight_semantics():
    true, pred = np.zeros((4, 2)), np.arange(8.0).reshape(4, 2)
    per = np.mean(pred ** 2, -1)
    w = np.array([1.0, 0.0, 2.0, 0.5])
    for reduction, want in [("sum_over_batch_size", (per * w).sum() / 4),
                            ("mean", (per * w).sum() / 4), ("sum", (per * w).sum()),
                            ("mean_with_sample_weight", (per * w).sum() / w.sum()),
                            ("none", per * w), (None, per * w)]:
        got = losses.MeanSquaredError(reduction=reduction)(true, ember.tensor(pred),
                                                           sample_weight=w)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, err_msg=str(reduction))
    got = losses.MeanSquaredError()(true, ember.tensor(pred), sample_weight=w[:, None])
    np.testing.assert_allclose(got.item(), (per * w).sum() / 4, rtol=1e-6)
    got = losses.MeanSquaredError()(true, ember.tensor(pred), sample_weight=2.0)
    np.testing.assert_allclose(got.item(), 2 * per.mean(), rtol=1e-6)


def test_rank_fix_expands_rank1_targets_and_inputs_may_be_lists_or_tensors():
    pred = ember.tensor([[1.0], [3.0]])
    for y in ([0.0, 1.0], np.array([[0.0], [1.0]]), ember.tensor([0.0, 1.0])):
        assert losses.MeanSquaredError()(y, pred).item() == pytest.approx(2.5)


def test_bad_inputs_have_clear_errors():
    with pytest.raises(ValueError, match=r"(?s)sparse_categorical_crossentropy.*label value "
                                         r"of 5.*\[0, 3\).*3 classes"):
        losses.SparseCategoricalCrossentropy()([0, 5], ember.tensor(np.ones((2, 3))))
    with pytest.raises(ValueError, match=r"label value of -1"):
        losses.sparse_categorical_crossentropy([-1], ember.tensor(np.ones((1, 3))))
    with pytest.raises(ValueError, match=r"mean_squared_error.*y_true.shape=\(2, 3\).*"
                                         r"y_pred.shape=\(2, 4\)"):
        losses.MeanSquaredError()(np.zeros((2, 3)), ember.tensor(np.zeros((2, 4))))
    with pytest.raises(ValueError, match=r"same shape up until the last dimension"):
        losses.sparse_categorical_crossentropy([0, 1, 2], ember.tensor(np.ones((2, 3))))
    with pytest.raises(ValueError, match=r"Invalid value for argument `reduction`.*'avg'"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\) cannot be broadcast"):
        losses.MeanSquaredError()(np.zeros((2, 1)), ember.tensor(np.zeros((2, 1))),
                                  sample_weight=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"Could not interpret loss identifier: "
                                         r"'msee'(.|\n)*mean_squared_error"):
        losses.get("msee")


def test_get_resolves_keras_aliases_classes_and_configs():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("sparse_categorical_crossentropy") is \
        losses.sparse_categorical_crossentropy
    assert losses.get("kld") is losses.kl_divergence
    assert isinstance(losses.get("BinaryCrossentropy"), losses.BinaryCrossentropy)
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    instance = losses.Huber(delta=2.0)
    assert losses.get(instance) is instance
    rebuilt = losses.get({"class_name": "CategoricalCrossentropy",
                          "config": {"from_logits": True, "label_smoothing": 0.1}})
    assert rebuilt.get_config() == {"name": "categorical_crossentropy",
                                    "reduction": "sum_over_batch_size", "from_logits": True,
                                    "label_smoothing": 0.1, "axis": -1}
    assert losses.get(None) is None


def test_config_round_trip_and_custom_loss_subclass():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=3,
                                                reduction="sum", name="scce")
    again = losses.SparseCategoricalCrossentropy.from_config(loss.get_config())
    assert again.get_config() == loss.get_config()
    wrapped = losses.LossFunctionWrapper(losses.mean_absolute_error, reduction="sum")
    assert wrapped.name == "mean_absolute_error"
    assert wrapped([[1.0, 2.0]], ember.tensor([[3.0, 2.0]])).item() == pytest.approx(1.0)
    back = losses.LossFunctionWrapper.from_config(wrapped.get_config())
    assert back.fn is losses.mean_absolute_error and back.reduction == "sum"

    class Cube(losses.Loss):
        def call(self, y_true, y_pred):
            return ((y_pred - y_true) ** 3).mean(-1)
    assert Cube()([[0.0]], ember.tensor([[2.0]])).item() == pytest.approx(8.0)
    assert Cube().name.startswith("cube")
