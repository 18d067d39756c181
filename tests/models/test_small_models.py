"""ember.models MLP, LeNet5 and TransformerClassifier against their torch twins in
benchmarks.reference_models (copied weights): outputs, input and parameter gradients, repr,
train and eval; plus bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
import ember.models as em
import benchmarks.reference_models as tm
from tests.conformance import assert_close
from tests.models._twins import twins
from tests.nn.module_conformance import check_module, copy_weights

TOL = dict(rtol=1e-4, atol=1e-5)


def _x(*shape: int) -> np.ndarray:
    return np.random.default_rng(3).standard_normal(shape).astype(np.float32)


def _tokens(lengths: list, seq: int, vocab: int) -> np.ndarray:
    """Token ids in 1..vocab-1, padded with 0 after each row's length."""
    ids = np.random.default_rng(4).integers(1, vocab, (len(lengths), seq))
    ids[np.arange(seq)[None, :] >= np.array(lengths)[:, None]] = 0
    return ids


@pytest.mark.parametrize("kw,shape", [({}, (5, 1, 28, 28)),
                                      ({"in_features": 12, "hidden": (16, 8, 4),
                                        "num_classes": 3, "activation": "gelu"}, (6, 12)),
                                      ({"in_features": 7, "hidden": (), "num_classes": 2,
                                        "activation": "tanh"}, (3, 7))])
def test_mlp_matches_torch(kw, shape):
    check_module(twins("MLP", **kw), _x(*shape), **TOL)


def test_mlp_with_dropout_matches_torch_in_eval_and_drops_in_train():
    e, t = check_module(twins("MLP", 10, (32,), 4, dropout=0.5), _x(4, 10), modes=("eval",))
    e.train()
    x = ember.from_numpy(_x(64, 10))
    assert not np.allclose(e(x).detach().numpy(), e.eval()(x).detach().numpy())


def test_mlp_parameter_names_are_documented_ones():
    names = [n for n, _ in em.MLP(8, (4, 3), 2).named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                     "head.weight", "head.bias"]


def test_mlp_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="MLP: activation must be one of.*'swish'"):
        em.MLP(activation="swish")


@pytest.mark.parametrize("kw,shape", [({}, (3, 1, 28, 28)),
                                      ({"num_classes": 4, "in_channels": 3}, (2, 3, 28, 28))])
def test_lenet5_matches_torch(kw, shape):
    check_module(twins("LeNet5", **kw), _x(*shape), **TOL)


def test_lenet5_wrong_channels_names_conv_and_shapes():
    with pytest.raises(RuntimeError, match=r"conv2d.*\[6, 1, 5, 5\].*input\[2, 3, 28, 28\] "
                                           r"to have 1 channels, but got 3"):
        em.LeNet5()(ember.randn(2, 3, 28, 28))


@pytest.mark.parametrize("kw", [{"dropout": 0.0},
                                {"dropout": 0.0, "d_model": 16, "nhead": 2, "num_layers": 1,
                                 "num_classes": 5, "padding_idx": None}])
def test_transformer_classifier_matches_torch(kw):
    tokens = _tokens([9, 4, 1, 7], seq=9, vocab=30)
    if kw.get("padding_idx", 0) is None:
        tokens[tokens == 0] = 3
    check_module(twins("TransformerClassifier", 30, max_len=16, **kw), tokens, **TOL)


def test_transformer_classifier_ignores_padding_tokens():
    """Extra padding (any content under it) leaves the logits alone, in torch's fast
    inference path too."""
    torch.manual_seed(0)
    t = tm.TransformerClassifier(30, max_len=16).eval()
    e = em.TransformerClassifier(30, max_len=16).eval()
    copy_weights(t, e)
    short = _tokens([5, 3], seq=5, vocab=30)
    long = np.concatenate([short, np.zeros((2, 4), np.int64)], axis=1)
    with torch.no_grad(), ember.no_grad():
        want = t(torch.from_numpy(short))
        assert_close(e(ember.from_numpy(short)), want, **TOL)
        assert_close(e(ember.from_numpy(long)), t(torch.from_numpy(long)), **TOL)
        assert_close(e(ember.from_numpy(long)), want, **TOL)


def test_transformer_classifier_bad_input():
    model = em.TransformerClassifier(30, max_len=8)
    with pytest.raises(ValueError, match=r"TransformerClassifier.*\(N, S\).*\[8\]"):
        model(ember.ones(8, dtype=ember.long))
    with pytest.raises(ValueError, match="TransformerClassifier.*length 9.*max_len=8"):
        model(ember.ones(2, 9, dtype=ember.long))
