"""nn.functional: attention, distances, and the names re-exported from the op library."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember
import ember.nn.functional as EF
from conformance import arrays, check, shapes
from ember.nn.functional._distance import cdist

SDPA = "scaled_dot_product_attention"


def _qkv(draw, dtype):
    """Query, key and value of shapes (B, H, L, E), (B, 1, S, E), (B, 1, S, Ev): kept tiny
    because gradgradcheck is quadratic in their size."""
    b, h, L, S, E, Ev = (draw(st.integers(1, 2)), draw(st.integers(1, 2)),
                         draw(st.integers(1, 3)), draw(st.integers(1, 3)),
                         draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    return (arrays(draw, (b, h, L, E), dtype), arrays(draw, (b, 1, S, E), dtype, -2, 2),
            arrays(draw, (b, 1, S, Ev), dtype, -1, 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_sdpa_plain_and_causal(dtype, data):
    q, k, v = _qkv(data.draw, dtype)
    causal = data.draw(st.booleans())
    scale = data.draw(st.sampled_from([None, 0.7]))
    check(lambda m, q, k, v: getattr(m.nn.functional, SDPA)(q, k, v, is_causal=causal,
                                                            scale=scale), q, k, v)


@pytest.mark.parametrize("kind", ["bool", "float"])
@given(data=st.data())
def test_sdpa_masks_broadcast(kind, data):
    q, k, v = _qkv(data.draw, np.float64)
    L, S = q.shape[-2], k.shape[-2]
    mshape = data.draw(st.sampled_from([(L, S), (1, q.shape[1], L, S), (q.shape[0], 1, 1, S)]))
    mask = arrays(data.draw, mshape, bool if kind == "bool" else np.float64)
    if kind == "bool":                   # include rows that may attend to nothing
        mask[..., 0, :] = data.draw(st.booleans())
    check(lambda m, q, k, v, mask: getattr(m.nn.functional, SDPA)(q, k, v, attn_mask=mask),
          q, k, v, mask, nondiff=(3,))


def test_sdpa_fully_masked_float_rows_and_gqa():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s) for s in ((1, 4, 3, 2), (1, 2, 4, 2), (1, 2, 4, 3)))
    mask = np.zeros((3, 4))
    mask[1] = -np.inf
    check(lambda m, q, k, v, mask: getattr(m.nn.functional, SDPA)(q, k, v, attn_mask=mask,
                                                                  enable_gqa=True),
          q, k, v, mask, nondiff=(3,))
    check(lambda m, q, k, v: getattr(m.nn.functional, SDPA)(q, k, v), q[0, :2], k[0], v[0])


def test_sdpa_dropout():
    q = ember.randn(2, 3, 4)
    ember.manual_seed(5)
    a = EF.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    ember.manual_seed(5)
    b = EF.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    full = EF.scaled_dot_product_attention(q, q, q, dropout_p=1.0)
    assert not full.numpy().any()


def test_sdpa_errors():
    q, k = ember.randn(1, 2, 3, 4), ember.randn(1, 2, 5, 4)
    f = EF.scaled_dot_product_attention
    with pytest.raises(RuntimeError, match="attn_mask should not be set when is_causal"):
        f(q, k, k, attn_mask=ember.ones(3, 5, dtype=ember.bool), is_causal=True)
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        f(ember.randn(4), k, k)
    with pytest.raises(RuntimeError, match="same dtype"):
        f(q, k, k.double())
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        f(q, k, k, attn_mask=ember.ones(3, 5, dtype=ember.int64))
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \[4, 5\]"):
        f(q, k, k, attn_mask=ember.ones(4, 5))
    with pytest.raises(RuntimeError, match="embedding size"):
        f(q, ember.randn(1, 2, 5, 3), k)
    with pytest.raises(RuntimeError, match="sequence length"):
        f(q, k, ember.randn(1, 2, 4, 4))
    with pytest.raises(RuntimeError, match="Number of heads"):
        f(ember.randn(1, 4, 3, 4), ember.randn(1, 3, 5, 4), ember.randn(1, 3, 5, 4),
          enable_gqa=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_cosine_similarity(dtype, data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x1 = arrays(data.draw, shape, dtype)
    x2 = arrays(data.draw, shape[data.draw(st.integers(0, len(shape) - 1)):], dtype, -2, 1)
    check(lambda m, a, b: m.nn.functional.cosine_similarity(a, b, dim=dim), x1, x2)


def test_cosine_similarity_small_norms_and_errors():
    # a norm below eps is clamped, and the gradient still flows through it as in PyTorch
    tiny = np.full((2, 3), 1e-9)
    other = np.random.default_rng(1).standard_normal((2, 3))
    check(lambda m, a, b: m.nn.functional.cosine_similarity(a, b), tiny, other,
          gradcheck=False)
    check(lambda m, a, b: m.nn.functional.cosine_similarity(a, b), np.zeros((2, 3)), other,
          gradcheck=False)
    with pytest.raises(RuntimeError, match="size of tensor a \\(3\\).*tensor b \\(4\\)"):
        EF.cosine_similarity(ember.randn(2, 3), ember.randn(4))
    with pytest.raises(RuntimeError, match="floating point"):
        EF.cosine_similarity(ember.arange(3), ember.arange(3), dim=0)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0])
@given(data=st.data())
def test_pairwise_distance(p, data):
    s1, s2 = data.draw(st.sampled_from([((3, 4), (4,)), ((2, 3), (2, 3)), ((3,), (3,)),
                                        ((1, 2), (3, 2))]))
    keepdim = data.draw(st.booleans())
    x1, x2 = arrays(data.draw, s1, np.float64), arrays(data.draw, s2, np.float64, -2.0, 1.0)
    check(lambda m, a, b: m.nn.functional.pairwise_distance(a, b, p=p, keepdim=keepdim),
          x1, x2)


@pytest.mark.parametrize("p", [2.0, 1.0])
def test_pdist_and_cdist(p):
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((2, 5, 3))
    check(lambda m, x: m.nn.functional.pdist(x, p), x)
    check(lambda m, x: m.nn.functional.pdist(x), x[:1])
    check(lambda m, x, y: (torch.cdist if m is torch else cdist)(x, y, p), x, y)
    with pytest.raises(RuntimeError, match="same number of columns"):
        cdist(ember.randn(2, 3), ember.randn(2, 4))
    with pytest.raises(RuntimeError, match="pdist only supports 2D"):
        EF.pdist(ember.randn(3))


def test_functional_names():
    for name in ("layer_norm", "batch_norm", "group_norm", "instance_norm", "rms_norm",
                 "normalize", "local_response_norm", "dropout", "dropout1d", "dropout2d",
                 "dropout3d", "alpha_dropout", "feature_alpha_dropout", "pad", SDPA,
                 "cosine_similarity", "pairwise_distance", "pdist"):
        assert callable(getattr(EF, name)), name
        assert hasattr(torch.nn.functional, name), name
    assert ember.dropout is EF.dropout and ember.layer_norm is EF.layer_norm
    for name in EF._activation.__all__:
        assert hasattr(torch.nn.functional, name), name
        assert callable(getattr(EF, name)), name
