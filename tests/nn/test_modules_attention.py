"""nn.MultiheadAttention against torch.nn.MultiheadAttention: outputs, attention weights,
gradients, repr and state_dict keys, over layouts, masks, projections and options; plus
init, dropout and the errors torch raises."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember
from tests.nn.module_conformance import check_module

RNG = np.random.default_rng(0)


def randn(*shape: int, dtype=np.float32) -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def bool_mask(*shape: int) -> np.ndarray:
    """A random bool mask (True = may not attend) that leaves every row one open key."""
    m = RNG.random(shape) < 0.4
    m[..., 0] = False
    return m


def float_mask(*shape: int, dtype=np.float32) -> np.ndarray:
    """An additive mask with some ``-inf`` entries, never a whole row of them."""
    return np.where(bool_mask(*shape), -np.inf, RNG.standard_normal(shape)).astype(dtype)


def mha(**kw):
    return lambda nn: nn.MultiheadAttention(**{"embed_dim": 8, "num_heads": 2, **kw})


def layout(x: np.ndarray, batched: bool, batch_first: bool) -> np.ndarray:
    """``x`` given as (L, N, E), in the layout the layer expects."""
    if not batched:
        return x[:, 0]
    return x.transpose(1, 0, 2).copy() if batch_first else x


@given(data=st.data())
def test_self_attention(data):
    heads = data.draw(st.sampled_from([1, 2, 4]))
    L, N = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 3))
    batched, batch_first, bias = (data.draw(st.booleans()) for _ in range(3))
    need_weights, average = data.draw(st.booleans()), data.draw(st.booleans())
    x = layout(randn(L, N, 8), batched, batch_first)
    check_module(mha(num_heads=heads, bias=bias, batch_first=batch_first), x,
                 call=lambda m, x: m(x, x, x, need_weights=need_weights,
                                     average_attn_weights=average))


@given(data=st.data())
def test_cross_attention_with_kdim_vdim(data):
    L, S, N = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)), data.draw(
        st.integers(1, 3))
    kdim, vdim = data.draw(st.sampled_from([None, 3])), data.draw(st.sampled_from([None, 5]))
    batched, batch_first = data.draw(st.booleans()), data.draw(st.booleans())
    need_weights = data.draw(st.booleans())
    q = layout(randn(L, N, 8), batched, batch_first)
    k = layout(randn(S, N, kdim or 8), batched, batch_first)
    v = layout(randn(S, N, vdim or 8), batched, batch_first)
    check_module(mha(kdim=kdim, vdim=vdim, batch_first=batch_first), q, k, v,
                 call=lambda m, q, k, v: m(q, k, v, need_weights=need_weights))


def test_key_is_value_path():
    """Query differs from key and value, which are one tensor (torch packs their matmul)."""
    q, kv = randn(3, 2, 8), randn(4, 2, 8)
    check_module(mha(), q, kv, call=lambda m, q, kv: m(q, kv, kv))


MASKS = {
    "bool 2-D": lambda L, S, N: bool_mask(L, S),
    "float 2-D": lambda L, S, N: float_mask(L, S),
    "bool 3-D": lambda L, S, N: bool_mask(N * 2, L, S),
    "float 3-D": lambda L, S, N: float_mask(N * 2, L, S),
}


@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("mask", list(MASKS))
@pytest.mark.parametrize("padding", [None, "bool", "float"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_masks(mask, padding, need_weights):
    L, S, N = 3, 4, 2
    q, kv = randn(L, N, 8), randn(S, N, 8)
    am = MASKS[mask](L, S, N)
    inputs, nondiff = [q, kv, am], [2]
    if padding:
        pm = bool_mask(N, S)
        pm[:, 0] = False    # with the attn mask, key 0 stays open for every row
        inputs.append(pm if padding == "bool" else np.where(pm, -np.inf, 0.0).astype(np.float32))
        nondiff.append(3)
    check_module(mha(), *inputs, nondiff=nondiff,
                 call=lambda m, q, kv, am, *pm: m(q, kv, kv, attn_mask=am,
                                                  key_padding_mask=pm[0] if pm else None,
                                                  need_weights=need_weights))


def test_mismatched_mask_types_warn():
    x = ember.zeros(3, 2, 8)
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        ember.nn.MultiheadAttention(8, 2)(x, x, x, attn_mask=ember.zeros(3, 3),
                                          key_padding_mask=ember.zeros(2, 3, dtype=ember.bool))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_key_padding_mask_alone_unbatched_and_batch_first(batch_first, need_weights):
    x = layout(randn(4, 3, 8), True, batch_first)
    pm = bool_mask(3, 4)
    check_module(mha(batch_first=batch_first), x, pm, call=lambda m, x, pm: m(
        x, x, x, key_padding_mask=pm, need_weights=need_weights))
    x1, pm1, am1 = randn(4, 8), bool_mask(4), bool_mask(2, 4, 4)
    check_module(mha(batch_first=batch_first), x1, pm1, am1, call=lambda m, x, pm, am: m(
        x, x, x, key_padding_mask=pm, attn_mask=am, need_weights=need_weights))


@pytest.mark.parametrize("add_bias_kv", [False, True])
@pytest.mark.parametrize("add_zero_attn", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_bias_kv_and_zero_attn(add_bias_kv, add_zero_attn, need_weights):
    q, kv, am, pm = randn(3, 2, 8), randn(4, 2, 8), bool_mask(3, 4), bool_mask(2, 4)
    check_module(mha(add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn), q, kv, am, pm,
                 call=lambda m, q, kv, am, pm: m(q, kv, kv, attn_mask=am, key_padding_mask=pm,
                                                 need_weights=need_weights))


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("with_padding", [False, True])
def test_is_causal_hint(need_weights, with_padding):
    """The hint takes the causal path when nothing else needs the mask; with a non-causal
    mask this shows which one was used, and must match torch."""
    x, am = randn(4, 2, 8), bool_mask(4, 4)
    pm = np.zeros((2, 4), dtype=bool)
    pm[1, 3] = with_padding
    check_module(mha(), x, am, pm, call=lambda m, x, am, pm: m(
        x, x, x, attn_mask=am, key_padding_mask=pm if with_padding else None,
        need_weights=need_weights, is_causal=True))


def test_float64_tight():
    x, am = randn(5, 3, 8, dtype=np.float64), float_mask(5, 5, dtype=np.float64)
    check_module(mha(num_heads=4, add_bias_kv=True), x, am, nondiff=[1],
                 call=lambda m, x, am: m(x, x, x, attn_mask=am, average_attn_weights=False))


def test_dropout():
    """Eval mode ignores dropout; train mode drops weights and rescales the rest."""
    x = randn(6, 2, 8)
    check_module(mha(dropout=0.5), x, call=lambda m, x: m(x, x, x), modes=("eval",))
    m = ember.nn.MultiheadAttention(8, 1, dropout=0.5)
    ex = ember.from_numpy(x)
    ember.manual_seed(0)
    _, w = m(ex, ex, ex)
    m.eval()
    _, w_eval = m(ex, ex, ex)
    w, w_eval = w.detach().numpy(), w_eval.detach().numpy()
    dropped = w == 0
    assert 0 < dropped.mean() < 1
    np.testing.assert_allclose(w[~dropped], 2 * w_eval[~dropped], rtol=1e-5)


def test_repr_and_state_dict_keys():
    for kw in [{}, {"kdim": 3, "vdim": 5}, {"bias": False, "add_bias_kv": True}]:
        e, t = ember.nn.MultiheadAttention(8, 2, **kw), torch.nn.MultiheadAttention(8, 2, **kw)
        assert repr(e) == repr(t)
        assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == \
            [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    assert "NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)" in \
        repr(ember.nn.MultiheadAttention(8, 2))


def test_init():
    """PyTorch's init: Glorot-uniform in-projection, zero biases, Glorot-normal bias_k."""
    m = ember.nn.MultiheadAttention(64, 4, add_bias_kv=True)
    w = m.in_proj_weight.detach().numpy()
    bound = math.sqrt(6 / (64 + 3 * 64))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert not m.in_proj_bias.detach().numpy().any()
    assert not m.out_proj.bias.detach().numpy().any()
    assert m.bias_k.detach().numpy().std() > 0
    sep = ember.nn.MultiheadAttention(8, 2, kdim=3)
    assert sep.in_proj_weight is None and tuple(sep.k_proj_weight.shape) == (8, 3)


def _both_raise(exc, match, build, run=None):
    """``build(nn)`` (and ``run(module, m)``, ``m`` the tensor library) raises ``exc``
    in torch and in Ember; Ember's message matches ``match``."""
    for nn, lib in ((torch.nn, torch), (ember.nn, ember)):
        with pytest.raises(exc, match=match if nn is ember.nn else None):
            mod = build(nn)
            if run is not None:
                run(mod, lib)


def _run(*shapes, **kw):
    """Call the layer on zero inputs of ``shapes`` (query, key, value) and keyword masks
    given as NumPy arrays."""
    def run(mod, lib):
        q, k, v = (lib.zeros(*s) for s in shapes)
        masks = {n: lib.from_numpy(a) for n, a in kw.items()}
        mod(q, k, v, **masks)
    return run


@pytest.mark.parametrize("exc, match, build, run", [
    (AssertionError, "embed_dim must be divisible by num_heads", mha(num_heads=3), None),
    (ValueError, "embed_dim and num_heads must be greater than 0", mha(num_heads=0), None),
    (RuntimeError, r"2D attn_mask is .*\[2, 3\].*should be \(3, 4\)", mha(),
     _run((3, 2, 8), (4, 2, 8), (4, 2, 8), attn_mask=np.zeros((2, 3), bool))),
    (RuntimeError, r"3D attn_mask is .*\[2, 3, 4\].*should be \(4, 3, 4\)", mha(),
     _run((3, 2, 8), (4, 2, 8), (4, 2, 8), attn_mask=np.zeros((2, 3, 4), bool))),
    (AssertionError, r"key_padded_mask.shape\[1\] to be 4, but got 3", mha(),
     _run((3, 2, 8), (4, 2, 8), (4, 2, 8), key_padding_mask=np.zeros((2, 3), bool))),
    (AssertionError, "only bool and floating types of attn_mask", mha(),
     _run((3, 2, 8), (4, 2, 8), (4, 2, 8), attn_mask=np.zeros((3, 4), np.int64))),
    (AssertionError, "expecting embedding dimension of 8, but got 6", mha(),
     _run((3, 2, 6), (4, 2, 8), (4, 2, 8))),
    (AssertionError, "expected `key` and `value` to be 3-D", mha(),
     _run((3, 2, 8), (4, 8), (4, 8))),
    (AssertionError, "unbatched 2D or batched 3D", mha(), _run((1, 3, 2, 8), (4, 8), (4, 8))),
    (AssertionError, "key shape .* does not match value shape", mha(),
     _run((3, 2, 8), (4, 2, 8), (5, 2, 8))),
    (AssertionError, r"Expected `attn_mask` shape to be \(2, 3, 4\)", mha(),
     _run((3, 8), (4, 8), (4, 8), attn_mask=np.zeros((1, 3, 4), bool))),
])
def test_errors(exc, match, build, run):
    _both_raise(exc, match, build, run)


def test_is_causal_needs_mask():
    x = np.zeros((3, 2, 8), np.float32)
    for nn, lib in ((torch.nn, torch), (ember.nn, ember)):
        t = lib.from_numpy(x)
        with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal"):
            nn.MultiheadAttention(8, 2)(t, t, t, is_causal=True)


@pytest.mark.parametrize("need_weights", [True, False])
def test_fully_masked_rows(need_weights):
    """A query with no key to attend to: NaN with weights (softmax of -inf), zeros in the
    fused path, as in torch."""
    x, pm = randn(3, 2, 8), np.array([[True] * 3, [False, True, False]])
    check_module(mha(), x, pm, call=lambda m, x, pm: m(x, x, x, key_padding_mask=pm,
                                                       need_weights=need_weights))
