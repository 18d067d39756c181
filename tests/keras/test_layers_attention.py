"""keras MultiHeadAttention against torch's scaled_dot_product_attention (float64) with
Keras's weights re-laid out."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from ember import keras
from ember.keras.layers.attention import MultiHeadAttention


def _reference(q, v, k, weights, heads, mask):
    wq, bq, wk, bk, wv, bv, wo, bo = [torch.tensor(w, requires_grad=True) for w in weights]

    def project(x, w, b):            # (B, L, d) x (d, H, size) -> (B, H, L, size)
        return (torch.einsum("bld,dhs->blhs", x, w) + b).permute(0, 2, 1, 3)

    attn = torch.nn.functional.scaled_dot_product_attention(
        project(q, wq, bq), project(k, wk, bk), project(v, wv, bv),
        attn_mask=None if mask is None else torch.tensor(mask).unsqueeze(1))
    out = torch.einsum("bthv,hvo->bto", attn.permute(0, 2, 1, 3), wo) + bo
    return out, [wq, bq, wk, bk, wv, bv, wo, bo]


@settings(max_examples=15, deadline=None)
@given(t=st.integers(1, 5), s=st.integers(1, 5), heads=st.integers(1, 3),
       key_dim=st.integers(1, 4), separate_key=st.booleans(), masked=st.booleans())
def test_mha_matches_torch_forward_and_backward(t, s, heads, key_dim, separate_key, masked):
    rng = np.random.default_rng(0)
    q, v, k = rng.normal(size=(2, t, 5)), rng.normal(size=(2, s, 3)), rng.normal(size=(2, s, 4))
    mask = None
    if masked:
        mask = rng.random((2, t, s)) < 0.6
        mask[..., 0] = True                     # every query keeps at least one key
    layer = MultiHeadAttention(heads, key_dim, bias_initializer="random_normal",
                               dtype="float64")
    eq, ev = ember.tensor(q, requires_grad=True), ember.tensor(v, requires_grad=True)
    ek = ember.tensor(k, requires_grad=True) if separate_key else None
    out = layer(eq, ev, ek, attention_mask=mask)
    tq, tv = torch.tensor(q, requires_grad=True), torch.tensor(v, requires_grad=True)
    tk = torch.tensor(k, requires_grad=True) if separate_key else tv
    ref, tw = _reference(tq, tv, tk, layer.get_weights(), heads, mask)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    g = rng.normal(size=tuple(ref.shape))
    (out * ember.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(eq.grad.numpy(), tq.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ev.grad.numpy(), tv.grad.numpy(), atol=1e-10)
    for w, t_w in zip(layer.weights, tw):
        np.testing.assert_allclose(w.grad.numpy(), t_w.grad.numpy(), atol=1e-10)


def test_mha_weight_layout_scores_causal_mask_and_output_shape():
    layer = MultiHeadAttention(2, 3, value_dim=4, output_shape=7, dtype="float64")
    q = np.random.default_rng(1).normal(size=(1, 4, 5))
    out, scores = layer(q, q, return_attention_scores=True, use_causal_mask=True)
    assert [w.shape for w in layer.get_weights()] == [(5, 2, 3), (2, 3), (5, 2, 3), (2, 3),
                                                      (5, 2, 4), (2, 4), (2, 4, 7), (7,)]
    assert out.shape == (1, 4, 7) and scores.shape == (1, 2, 4, 4)
    s = scores.detach().numpy()
    np.testing.assert_allclose(s.sum(-1), 1.0)
    assert np.all(s[..., np.triu_indices(4, 1)[0], np.triu_indices(4, 1)[1]] < 1e-300)
    weights = layer.get_weights()
    ref, _ = _reference(torch.tensor(q), torch.tensor(q), torch.tensor(q), weights, 2,
                        np.tril(np.ones((1, 4, 4), dtype=bool)))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    no_bias = MultiHeadAttention(1, 2, use_bias=False)
    no_bias(np.ones((1, 2, 3)), np.ones((1, 2, 3)))
    assert len(no_bias.weights) == 4
    symbolic = MultiHeadAttention(2, 3, output_shape=(2, 3))(keras.Input((4, 5)),
                                                             keras.Input((6, 3)))
    assert symbolic.shape == (None, 4, 2, 3)


def test_mha_dropout_only_in_training_and_seeded():
    x = np.random.default_rng(2).normal(size=(2, 5, 4)).astype(np.float32)
    a = MultiHeadAttention(2, 2, dropout=0.5, seed=3)
    b = MultiHeadAttention(2, 2, dropout=0.5, seed=3)
    b(x, x)
    a(x, x)
    b.set_weights(a.get_weights())
    plain = MultiHeadAttention(2, 2)
    plain(x, x)
    plain.set_weights(a.get_weights())
    np.testing.assert_allclose(a(x, x).detach().numpy(), plain(x, x).detach().numpy(),
                               atol=1e-6)
    dropped = a(x, x, training=True).detach().numpy()
    assert not np.allclose(dropped, plain(x, x).detach().numpy())
    np.testing.assert_array_equal(dropped, b(x, x, training=True).detach().numpy())


def test_mha_config_round_trip_and_errors():
    layer = MultiHeadAttention(4, 8, value_dim=2, dropout=0.1, output_shape=(3,), seed=1,
                               kernel_regularizer="l2")
    config = layer.get_config()
    assert config["output_shape"] == [3] and config["value_dim"] == 2
    assert MultiHeadAttention.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="`num_heads` must be a positive integer"):
        MultiHeadAttention(0, 4)
    with pytest.raises(ValueError, match=r"`dropout` must be a float in \[0, 1\)"):
        MultiHeadAttention(2, 4, dropout=1.0)
    with pytest.raises(NotImplementedError, match="only attention over the sequence axis"):
        MultiHeadAttention(2, 4, attention_axes=(1, 2))
    mha = MultiHeadAttention(2, 4)
    with pytest.raises(ValueError, match=r"`query` must have shape \(batch, sequence, "
                                         r"features\).*\(2, 3\)"):
        mha(np.ones((2, 3)), np.ones((2, 3)))
    mha = MultiHeadAttention(2, 4)
    with pytest.raises(ValueError, match=r"`attention_mask` must have shape \(batch, 3, 5\)"):
        mha(np.ones((2, 3, 4)), np.ones((2, 5, 4)), attention_mask=np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match="must share batch and sequence sizes"):
        mha(np.ones((2, 3, 4)), np.ones((2, 5, 4)), np.ones((2, 4, 4)))
