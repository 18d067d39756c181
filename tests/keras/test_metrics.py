"""keras.metrics against scikit-learn and NumPy formulas, accumulated over several
update_state calls, with sample weights."""
import numpy as np
import pytest
from sklearn.metrics import (accuracy_score, average_precision_score, precision_score,
                             recall_score, roc_auc_score)

import ember
from ember.keras import metrics

RNG = np.random.default_rng(0)


def _batches(*arrays, parts=3):
    return zip(*(np.array_split(a, parts) for a in arrays))


def test_mean_and_sum_accumulate_with_weights():
    values, weights = RNG.normal(size=12), RNG.uniform(size=12)
    mean, total = metrics.Mean(), metrics.Sum()
    for v, w in _batches(values, weights):
        mean.update_state(v, sample_weight=w)
        total.update_state(v, sample_weight=w)
    assert mean.result().item() == pytest.approx(np.sum(values * weights) / weights.sum(),
                                                 rel=1e-5)
    assert total.result().item() == pytest.approx(np.sum(values * weights), rel=1e-5)
    mean.reset_state()
    assert mean.result().item() == 0.0
    assert mean(3.0, sample_weight=4).item() == 3.0     # the trainer's batch-size weighting
    assert mean(5.0, sample_weight=4).item() == 4.0
    assert isinstance(mean.result(), ember.Tensor) and mean.result().ndim == 0


def test_accuracies_match_sklearn():
    probs = RNG.dirichlet(np.ones(4), size=30)
    labels = RNG.integers(0, 4, size=30)
    weights = RNG.uniform(size=30)
    want = accuracy_score(labels, probs.argmax(-1), sample_weight=weights)
    sparse, cat = metrics.SparseCategoricalAccuracy(), metrics.CategoricalAccuracy()
    for p, y, w in _batches(probs, labels, weights):
        sparse.update_state(y[:, None], ember.tensor(p), sample_weight=w)
        cat.update_state(np.eye(4)[y], p, sample_weight=w)
    assert sparse.result().item() == pytest.approx(want, rel=1e-6)
    assert cat.result().item() == pytest.approx(want, rel=1e-6)
    scores, binary = RNG.uniform(size=(20, 1)), RNG.integers(0, 2, size=(20, 1))
    m = metrics.BinaryAccuracy(threshold=0.3)
    assert m(binary, scores).item() == pytest.approx(accuracy_score(binary, scores > 0.3))
    assert metrics.Accuracy()([1, 2, 3, 4], [1, 2, 0, 4]).item() == pytest.approx(0.75)


def test_top_k_accuracy_formula():
    scores = RNG.normal(size=(25, 6))
    labels = RNG.integers(0, 6, size=25)
    rank = (scores > scores[np.arange(25), labels][:, None]).sum(-1)   # higher scores
    for k in (1, 2, 5):
        want = np.mean(rank < k)
        assert metrics.SparseTopKCategoricalAccuracy(k=k)(labels, scores).item() == \
            pytest.approx(want)
        assert metrics.TopKCategoricalAccuracy(k=k)(np.eye(6)[labels], scores).item() == \
            pytest.approx(want)
    assert metrics.SparseTopKCategoricalAccuracy(k=6)(labels, scores).item() == 1.0


@pytest.mark.parametrize("threshold", [None, 0.3])
def test_precision_recall_match_sklearn(threshold):
    scores, labels = RNG.uniform(size=40), RNG.integers(0, 2, size=40)
    weights = RNG.uniform(size=40)
    cut = 0.5 if threshold is None else threshold
    p, r = metrics.Precision(thresholds=threshold), metrics.Recall(thresholds=threshold)
    for s, y, w in _batches(scores, labels, weights):
        p.update_state(y, s, sample_weight=w)
        r.update_state(y, s, sample_weight=w)
    assert p.result().item() == pytest.approx(
        precision_score(labels, scores > cut, sample_weight=weights), rel=1e-5)
    assert r.result().item() == pytest.approx(
        recall_score(labels, scores > cut, sample_weight=weights), rel=1e-5)


def test_precision_thresholds_list_class_id_and_top_k():
    scores, labels = RNG.uniform(size=(30, 3)), RNG.integers(0, 2, size=(30, 3))
    got = metrics.Precision(thresholds=[0.2, 0.7])(labels, scores).numpy()
    want = [precision_score(labels.ravel(), scores.ravel() > t) for t in (0.2, 0.7)]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    got = metrics.Recall(class_id=1)(labels, scores).item()
    assert got == pytest.approx(recall_score(labels[:, 1], scores[:, 1] > 0.5))
    top1 = (scores == scores.max(-1, keepdims=True))
    got = metrics.Precision(top_k=1)(labels, scores).item()
    assert got == pytest.approx(precision_score(labels.ravel(), top1.ravel()))


def test_auc_roc_and_pr_close_to_sklearn():
    scores = RNG.uniform(size=500)
    labels = (RNG.uniform(size=500) < scores).astype(int)
    roc, pr = metrics.AUC(), metrics.AUC(curve="PR")
    for s, y in _batches(scores, labels, parts=4):
        roc.update_state(y, s)
        pr.update_state(y, s)
    assert roc.result().item() == pytest.approx(roc_auc_score(labels, scores), abs=5e-3)
    assert pr.result().item() == pytest.approx(average_precision_score(labels, scores),
                                               abs=2e-2)
    weights = RNG.uniform(size=500)
    weighted = metrics.AUC(num_thresholds=1000)(labels, scores, sample_weight=weights).item()
    assert weighted == pytest.approx(roc_auc_score(labels, scores, sample_weight=weights),
                                     abs=2e-3)
    logits = metrics.AUC(from_logits=True)(labels, np.log(scores / (1 - scores))).item()
    assert logits == pytest.approx(roc.result().item(), abs=1e-6)


def test_auc_multi_label_is_mean_of_per_label_auc():
    scores = RNG.uniform(size=(300, 2))
    labels = (RNG.uniform(size=(300, 2)) < scores).astype(int)
    got = metrics.AUC(multi_label=True, num_thresholds=500)(labels, scores).item()
    want = np.mean([roc_auc_score(labels[:, i], scores[:, i]) for i in range(2)])
    assert got == pytest.approx(want, abs=3e-3)


def test_regression_metrics_formulas():
    t, p = RNG.normal(size=(10, 3)), RNG.normal(size=(10, 3))
    w = RNG.uniform(size=10)
    per_mse = np.mean((t - p) ** 2, -1)
    checks = [(metrics.MeanSquaredError(), np.sum(per_mse * w) / w.sum()),
              (metrics.MeanAbsoluteError(), np.sum(np.mean(np.abs(t - p), -1) * w) / w.sum()),
              (metrics.RootMeanSquaredError(), np.sqrt(np.sum(per_mse * w) / w.sum()))]
    for metric, want in checks:
        for a, b, c in _batches(t, p, w):
            metric.update_state(a, ember.tensor(b), sample_weight=c)
        assert metric.result().item() == pytest.approx(want, rel=1e-5), metric.name
    cos = metrics.CosineSimilarity()(t, p).item()
    want = np.mean(np.sum(t * p, -1) / np.linalg.norm(t, axis=-1) / np.linalg.norm(p, axis=-1))
    assert cos == pytest.approx(want, rel=1e-5)


def test_mean_metric_wrapper_and_names():
    m = metrics.MeanMetricWrapper(metrics.binary_accuracy, threshold=0.8)
    assert m.name == "binary_accuracy"
    assert m([[1], [1]], [[0.9], [0.7]]).item() == pytest.approx(0.5)
    assert metrics.Precision().name.startswith("precision")
    assert metrics.AUC().name.startswith("auc")


def test_get_and_resolve_accuracy():
    assert isinstance(metrics.get("mae"), metrics.MeanAbsoluteError)
    assert isinstance(metrics.get("mean_squared_error"), metrics.MeanSquaredError)
    assert isinstance(metrics.get("AUC"), metrics.AUC)
    assert metrics.get("sparse_top_k_categorical_accuracy").name == \
        "sparse_top_k_categorical_accuracy"
    config = metrics.Precision(thresholds=0.4, name="p").get_config()
    again = metrics.get({"class_name": "Precision", "config": config})
    assert again.get_config() == config
    with pytest.raises(ValueError, match=r"Could not interpret metric identifier: 'acuracy'"):
        metrics.get("acuracy")
    kinds = {(("b",), ("b", 1)): metrics.BinaryAccuracy,
             (("b", 1), ("b", 1)): metrics.BinaryAccuracy,
             (("b",), ("b", 10)): metrics.SparseCategoricalAccuracy,
             (("b", 1), ("b", 10)): metrics.SparseCategoricalAccuracy,
             (("b", 10), ("b", 10)): metrics.CategoricalAccuracy}
    for (true_shape, pred_shape), cls in kinds.items():
        shape = lambda s: tuple(32 if d == "b" else d for d in s)
        got = metrics.resolve_accuracy(None, shape(true_shape), shape(pred_shape))
        assert type(got) is cls and got.name == "accuracy"


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"sparse_categorical_accuracy: y_true must hold one "
                                         r"label per row of y_pred"):
        metrics.SparseCategoricalAccuracy()([0, 1, 2], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\) cannot be broadcast"):
        metrics.Mean()(np.ones(2), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"num_thresholds` must be an integer > 1"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match=r'Invalid AUCCurve value: "XY"'):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match=r"threshold values must be in \[0, 1\]"):
        metrics.Precision(thresholds=1.5)
