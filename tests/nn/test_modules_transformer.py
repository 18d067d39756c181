"""nn.Transformer* against torch.nn.Transformer*: encoder/decoder layers over layouts,
norm placement, activations and masks; the stacks (deep-copied layers, final norm, causal
mask detection); the full model; the causal-mask helper; state_dict keys, repr, errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from tests.nn.module_conformance import check_module

pytestmark = [pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:Support for mismatched")]
RNG = np.random.default_rng(0)
D, H, FF = 8, 2, 16


def randn(*shape: int, dtype=np.float32) -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def padding(N: int, S: int) -> np.ndarray:
    """A key padding mask that pads the tail of each sequence, never all of it."""
    lengths = RNG.integers(1, S + 1, size=N)
    return np.arange(S)[None, :] >= lengths[:, None]


def layout(x: np.ndarray, batched: bool, batch_first: bool) -> np.ndarray:
    """``x`` given as (S, N, E), in the layout the layer expects."""
    if not batched:
        return x[:, 0]
    return x.transpose(1, 0, 2).copy() if batch_first else x


def causal(n: int, dtype=np.float32) -> np.ndarray:
    return np.triu(np.full((n, n), -np.inf, dtype), 1)


def encoder_layer(nn, **kw):
    return nn.TransformerEncoderLayer(**{"d_model": D, "nhead": H, "dim_feedforward": FF,
                                         "dropout": 0.0, **kw})


def decoder_layer(nn, **kw):
    return nn.TransformerDecoderLayer(**{"d_model": D, "nhead": H, "dim_feedforward": FF,
                                         "dropout": 0.0, **kw})


def options(data) -> dict:
    return {"norm_first": data.draw(st.booleans()), "batch_first": data.draw(st.booleans()),
            "bias": data.draw(st.booleans()),
            "activation": data.draw(st.sampled_from(["relu", "gelu"]))}


@settings(max_examples=10)
@given(data=st.data())
def test_encoder_layer(data):
    kw, batched = options(data), data.draw(st.booleans())
    S, N = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 3))
    x = layout(randn(S, N, D), batched, kw["batch_first"])
    check_module(lambda nn: encoder_layer(nn, **kw), x)


@settings(max_examples=10)
@given(data=st.data())
def test_decoder_layer(data):
    kw, batched = options(data), data.draw(st.booleans())
    T, S, N = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)), data.draw(
        st.integers(1, 3))
    tgt = layout(randn(T, N, D), batched, kw["batch_first"])
    mem = layout(randn(S, N, D), batched, kw["batch_first"])
    check_module(lambda nn: decoder_layer(nn, **kw), tgt, mem)


@pytest.mark.parametrize("mask, is_causal", [
    ("none", False), ("causal float", False), ("causal float", True), ("causal bool", True),
    ("random float", False), ("random float", True)])
@pytest.mark.parametrize("pad", [False, True])
def test_encoder_layer_masks(mask, is_causal, pad):
    S, N = 4, 3
    x = randn(S, N, D)
    m = {"none": None, "causal float": causal(S), "causal bool": causal(S) < 0,
         "random float": np.where(padding(S, S), -np.inf, randn(S, S))}[mask]
    p = padding(N, S) if pad else None
    inputs = [x] + [a for a in (m, p) if a is not None]
    names = [n for n, a in (("src_mask", m), ("src_key_padding_mask", p)) if a is not None]
    check_module(encoder_layer, *inputs, nondiff=(1,), call=lambda mod, x, *masks: mod(
        x, is_causal=is_causal, **dict(zip(names, masks))))


def test_decoder_layer_masks():
    T, S, N = 4, 5, 2
    tgt, mem = randn(T, N, D), randn(S, N, D)
    mm = np.where(padding(T, S), -np.inf, 0.0).astype(np.float32)
    check_module(decoder_layer, tgt, mem, causal(T), mm, padding(N, T), padding(N, S),
                 nondiff=(2, 3), call=lambda m, t, mem, tm, mm, tp, mp: m(
                     t, mem, tgt_mask=tm, memory_mask=mm, tgt_key_padding_mask=tp,
                     memory_key_padding_mask=mp, tgt_is_causal=True))


def test_activation_module_and_callable():
    x = randn(3, 2, D)
    check_module(lambda nn: encoder_layer(nn, activation=nn.GELU(approximate="tanh")), x)
    check_module(lambda nn: decoder_layer(nn, activation=nn.functional.silu), x, x)


def test_eval_mode_with_dropout():
    x = randn(4, 2, D)
    check_module(lambda nn: encoder_layer(nn, dropout=0.3), x, modes=("eval",))
    check_module(lambda nn: decoder_layer(nn, dropout=0.3), x, x, modes=("eval",))


@pytest.mark.parametrize("is_causal, batch_first", [(None, False), (None, True),
                                                     (False, True), (True, False)])
def test_encoder_stack(is_causal, batch_first):
    S, N = 4, 2
    x = layout(randn(S, N, D), True, batch_first)
    make = lambda nn: nn.TransformerEncoder(  # noqa: E731
        encoder_layer(nn, batch_first=batch_first), 2, norm=nn.LayerNorm(D),
        enable_nested_tensor=False)
    check_module(make, x, causal(S) < 0, padding(N, S),
                 call=lambda m, x, mask, pad: m(x, mask=mask, src_key_padding_mask=pad,
                                                is_causal=is_causal))


def test_decoder_stack():
    T, S, N = 3, 4, 2
    make = lambda nn: nn.TransformerDecoder(decoder_layer(nn), 2)  # noqa: E731
    check_module(make, randn(T, N, D), randn(S, N, D), causal(T), nondiff=(2,),
                 call=lambda m, t, mem, tm: m(t, mem, tgt_mask=tm))


def test_stack_layers_are_independent_copies():
    layer = ember.nn.TransformerEncoderLayer(D, H, FF)
    enc = ember.nn.TransformerEncoder(layer, 3, enable_nested_tensor=False)
    ws = [lay.linear1.weight for lay in enc.layers]
    assert all(w is not layer.linear1.weight for w in ws)
    assert len({id(w) for w in ws}) == 3
    np.testing.assert_array_equal(ws[0].detach().numpy(), layer.linear1.weight.detach().numpy())
    with ember.no_grad():
        ws[0].add_(1.0)
    assert not np.array_equal(ws[0].detach().numpy(), ws[1].detach().numpy())


def test_transformer_float64():
    S, T, N = 5, 4, 2
    src, tgt = randn(S, N, D, dtype=np.float64), randn(T, N, D, dtype=np.float64)
    make = lambda nn: nn.Transformer(D, H, 2, 2, FF, dropout=0.0, norm_first=True)  # noqa: E731
    check_module(make, src, tgt, causal(T, np.float64), padding(N, S), nondiff=(2,),
                 call=lambda m, s, t, tm, sp: m(s, t, tgt_mask=tm, src_key_padding_mask=sp,
                                                memory_key_padding_mask=sp))


def test_transformer_batch_first_unbatched():
    make = lambda nn: nn.Transformer(D, H, 1, 1, FF, dropout=0.0, batch_first=True)  # noqa: E731
    check_module(make, randn(2, 5, D), randn(2, 3, D))
    check_module(make, randn(5, D), randn(3, D))


def test_transformer_state_dict_and_init():
    e, t = ember.nn.Transformer(D, H, 2, 1, FF), torch.nn.Transformer(D, H, 2, 1, FF)
    assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    assert repr(e) == repr(t)
    w = e.decoder.layers[0].linear1.weight.detach().numpy()    # Glorot uniform, not Kaiming
    assert np.abs(w).max() <= np.sqrt(6 / (D + FF))


def test_generate_square_subsequent_mask():
    for n, dtype in [(1, None), (4, None), (3, "float64")]:
        e = ember.nn.Transformer.generate_square_subsequent_mask(
            n, dtype=getattr(ember, dtype) if dtype else None)
        t = torch.nn.Transformer.generate_square_subsequent_mask(
            n, dtype=getattr(torch, dtype) if dtype else None)
        assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1]
        np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parametrize("exc, match, run", [
    (RuntimeError, "batch number of src and tgt must be equal",
     lambda nn, lib: nn.Transformer(D, H, 1, 1, FF)(lib.zeros(3, 2, D), lib.zeros(3, 1, D))),
    (RuntimeError, "feature number of src and tgt must be equal to d_model",
     lambda nn, lib: nn.Transformer(D, H, 1, 1, FF)(lib.zeros(3, 2, D), lib.zeros(3, 2, 4))),
    (RuntimeError, "activation should be relu/gelu, not tanh",
     lambda nn, lib: nn.TransformerEncoderLayer(D, H, activation="tanh")),
    (AssertionError, "embed_dim must be divisible by num_heads",
     lambda nn, lib: nn.TransformerDecoderLayer(D, 3)),
    (RuntimeError, r"2D attn_mask is .*\[3, 3\].*should be \(2, 2\)",
     lambda nn, lib: encoder_layer(nn)(lib.zeros(2, 1, D), src_mask=lib.zeros(3, 3))),
])
def test_errors(exc, match, run):
    for nn, lib in ((torch.nn, torch), (ember.nn, ember)):
        with pytest.raises(exc, match=match if lib is ember else None):
            run(nn, lib)
