"""Basic layers (linear, activations, dropout, flatten, embedding, pixel shuffle, upsampling)
against torch.nn: outputs, gradients, state_dict keys, repr and constructor errors."""
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from conformance import arrays, shapes
from module_conformance import (check_module, framework_tensor as _tensor,
                                same_constructor_error as _errors)


# -- linear ------------------------------------------------------------------------------

@given(data=st.data())
def test_linear(data):
    fin, fout = data.draw(st.integers(1, 4)), data.draw(st.integers(0, 4))
    batch = data.draw(shapes(0, 3))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    bias = data.draw(st.booleans())
    x = arrays(data.draw, batch + (fin,), dtype)
    check_module(lambda nn: nn.Linear(fin, fout, bias=bias), x)


@given(data=st.data())
def test_bilinear(data):
    n1, n2, out = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch = data.draw(shapes(1, 2, min_side=1))
    bias = data.draw(st.booleans())
    x1, x2 = arrays(data.draw, batch + (n1,)), arrays(data.draw, batch + (n2,))
    check_module(lambda nn: nn.Bilinear(n1, n2, out, bias=bias), x1, x2)


def test_identity_ignores_arguments():
    x = np.random.default_rng(0).standard_normal((2, 3))
    check_module(lambda nn: nn.Identity(54, unused="x"), x)


def test_linear_init_distribution():
    fc = ember.nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)      # kaiming_uniform_(a=sqrt(5)) gives the same bound
    for p in (fc.weight, fc.bias):
        a = p.detach().numpy()
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.95 * bound
        assert abs(a.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert fc.weight.requires_grad and fc.weight.is_leaf


def test_bilinear_init_distribution():
    a = ember.nn.Bilinear(16, 8, 400).weight.detach().numpy()
    assert np.abs(a).max() <= 0.25 and abs(a.std() - 0.25 / math.sqrt(3)) < 0.01


def test_linear_errors():
    _errors(lambda nn: nn.Linear(-1, 3), RuntimeError, "Linear.*negative dimension -1")
    _errors(lambda nn: nn.Linear(3, -2), RuntimeError, "Linear.*negative dimension -2")
    _errors(lambda nn: nn.Bilinear(0, 2, 3), ValueError, "Bilinear.*in1_features must be > 0")
    _errors(lambda nn: nn.Linear(3, 2)(_tensor(nn, np.ones((2, 4), np.float32))),
            RuntimeError, "4")


def test_lazy_linear_becomes_linear():
    x = np.random.default_rng(1).standard_normal((2, 5)).astype(np.float32)
    for bias in (True, False):
        e, t = ember.nn.LazyLinear(3, bias=bias), torch.nn.LazyLinear(3, bias=bias)
        assert repr(e) == repr(t)
        assert list(e.state_dict()) == list(t.state_dict())
        e(ember.from_numpy(x))
        t(torch.from_numpy(x))
        assert type(e) is ember.nn.Linear and repr(e) == repr(t)
        assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in t.named_parameters()]
        assert np.abs(e.weight.detach().numpy()).max() <= 1 / math.sqrt(5)
    check_module(lambda nn: _dry_run(nn.LazyLinear(3), _tensor(nn, x)), x)


def _dry_run(mod, x):
    mod(x)
    return mod


def test_lazy_linear_load_state_dict_materializes():
    src = torch.nn.Linear(4, 2)
    e = ember.nn.LazyLinear(2)
    e.load_state_dict({k: ember.from_numpy(v.detach().numpy().copy())
                       for k, v in src.state_dict().items()})
    assert type(e) is ember.nn.LazyLinear and tuple(e.weight.shape) == (2, 4)
    x = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(e(ember.from_numpy(x)).detach().numpy(),
                               src(torch.from_numpy(x)).detach().numpy(), rtol=1e-5)
    assert type(e) is ember.nn.Linear and e.in_features == 4
    assert repr(e) == repr(src)


def test_lazy_linear_loaded_shape_mismatch():
    e = ember.nn.LazyLinear(2)
    e.load_state_dict({"weight": ember.zeros(2, 4), "bias": ember.zeros(2)})
    with pytest.raises(RuntimeError, match="LazyLinear.*3.*4"):
        e(ember.ones(1, 3))


# -- activations -------------------------------------------------------------------------

ACTIVATIONS = [
    "ReLU()", "ReLU6()", "LeakyReLU()", "LeakyReLU(0.2)", "ELU()", "ELU(alpha=0.5)", "CELU(2.0)",
    "SELU()", "GELU()", "GELU(approximate='tanh')", "SiLU()", "Mish()", "Hardswish()",
    "Hardsigmoid()", "Hardtanh()", "Hardtanh(-2.0, 1.5)", "Sigmoid()", "Tanh()",
    "LogSigmoid()", "Softplus()", "Softplus(beta=2.0, threshold=1.0)", "Softsign()",
    "Tanhshrink()", "Softshrink()", "Softshrink(1.0)", "Hardshrink(0.7)",
    "Threshold(0.3, -2.0)", "PReLU()", "PReLU(init=0.1)", "Softmax(dim=-1)", "Softmax(0)",
    "LogSoftmax(dim=-1)", "Softmin(dim=0)",
]
INPLACE = ["ReLU(inplace=True)", "ReLU6(True)", "LeakyReLU(0.1, inplace=True)",
           "ELU(inplace=True)", "CELU(inplace=True)", "SELU(inplace=True)",
           "SiLU(inplace=True)", "Mish(inplace=True)", "Hardswish(inplace=True)",
           "Hardsigmoid(inplace=True)", "Hardtanh(inplace=True)",
           "Threshold(0.0, 1.0, inplace=True)"]


@pytest.mark.parametrize("spec", ACTIVATIONS)
@settings(max_examples=6)
@given(data=st.data())
def test_activation(spec, data):
    shape = data.draw(shapes(1, 3))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    check_module(lambda nn: eval(f"nn.{spec}"), arrays(data.draw, shape, dtype, -4, 4))


@pytest.mark.parametrize("spec", INPLACE)
def test_activation_inplace(spec):
    x = np.random.default_rng(3).uniform(-4, 4, (3, 4))
    check_module(lambda nn: eval(f"nn.{spec}"), x, call=lambda mod, x: mod(x * 1))
    e = eval(f"ember.nn.{spec}")
    y = ember.from_numpy(x.copy())
    assert e(y) is y


@settings(max_examples=8)
@given(data=st.data())
def test_prelu_per_channel(data):
    c = data.draw(st.integers(1, 4))
    shape = (data.draw(st.integers(1, 3)), c) + data.draw(shapes(0, 2))
    check_module(lambda nn: nn.PReLU(c), arrays(data.draw, shape))
    assert np.all(ember.nn.PReLU(c, init=0.3).weight.detach().numpy() == np.float32(0.3))


def test_softmax2d_and_implicit_dim():
    x = np.random.default_rng(4).standard_normal((2, 3, 2, 2))
    check_module(lambda nn: nn.Softmax2d(), x)
    check_module(lambda nn: nn.Softmax2d(), x[0])
    _errors(lambda nn: nn.Softmax2d()(_tensor(nn, x[0, 0])), ValueError,
            "Softmax2d.*3D or 4D, got 2D")
    for name in ("Softmax", "LogSoftmax", "Softmin"):
        with pytest.warns(UserWarning, match="Implicit dimension"):
            check_module(lambda nn: getattr(nn, name)(), x)


def test_activation_errors_and_deprecations():
    _errors(lambda nn: nn.Hardtanh(1.0, 0.5), AssertionError,
            r"Hardtanh.*max_val \(0.5\) must be greater than min_val \(1.0\)")
    with pytest.warns(FutureWarning, match="min_value"):
        e = ember.nn.Hardtanh(min_value=-3.0, max_value=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert repr(e) == repr(torch.nn.Hardtanh(min_value=-3.0, max_value=2.0))


# -- dropout -----------------------------------------------------------------------------

DROPOUTS = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
            "FeatureAlphaDropout"]
_DROPOUT_SHAPE = {"Dropout1d": (2, 3, 4), "Dropout2d": (2, 3, 2, 2),
                  "Dropout3d": (2, 3, 2, 2, 2), "FeatureAlphaDropout": (2, 3, 2, 2)}


@pytest.mark.parametrize("name", DROPOUTS)
def test_dropout_eval_and_extremes(name):
    x = np.random.default_rng(5).standard_normal(_DROPOUT_SHAPE.get(name, (3, 4)))
    inplace = name not in ("AlphaDropout", "FeatureAlphaDropout")
    check_module(lambda nn: getattr(nn, name)(0.3, inplace), x, modes=("eval",))
    check_module(lambda nn: getattr(nn, name)(0.0), x)          # train mode keeps everything
    if inplace:                                                # p=1 drops everything
        check_module(lambda nn: getattr(nn, name)(1.0), x)
    _errors(lambda nn: getattr(nn, name)(1.5), ValueError,
            f"{name}.*between 0 and 1, but got 1.5")
    _errors(lambda nn: getattr(nn, name)(-0.1), ValueError, "between 0 and 1")


@pytest.mark.parametrize("name,p", [("Dropout", 0.3), ("Dropout2d", 0.6)])
def test_dropout_train_statistics(name, p):
    drop = getattr(ember.nn, name)(p)
    x = ember.ones(50, 40, 5, 5)
    y = drop(x).numpy()
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(1 - kept.mean() - p) < 0.02
    if name == "Dropout2d":   # whole channels
        per_channel = kept.reshape(50, 40, -1)
        assert np.all(per_channel.all(-1) | ~per_channel.any(-1))
    y2 = drop(x).numpy()
    assert not np.array_equal(y, y2)
    x.requires_grad_(True)
    out = drop(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())


def test_alpha_dropout_keeps_moments():
    x = ember.randn(200000)
    y = ember.nn.AlphaDropout(0.2)(x).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02


# -- flatten, pixel shuffle, upsampling ---------------------------------------------------

@given(data=st.data())
def test_flatten(data):
    shape = data.draw(shapes(1, 4))
    n = len(shape)
    start, end = data.draw(st.integers(-n, n - 1)), data.draw(st.integers(-n, n - 1))
    if start % n > end % n:
        start, end = end, start
    check_module(lambda nn: nn.Flatten(start, end), arrays(data.draw, shape))


def test_flatten_default_and_unflatten():
    x = np.random.default_rng(6).standard_normal((2, 3, 4))
    check_module(lambda nn: nn.Flatten(), x)
    check_module(lambda nn: nn.Unflatten(1, (3, 1)), x)
    check_module(lambda nn: nn.Unflatten(-1, [2, -1]), x)
    _errors(lambda nn: nn.Unflatten(1, 3), TypeError, "Unflatten.*tuple of ints.*int")
    _errors(lambda nn: nn.Unflatten(1, (3, 1.0)), TypeError, "Unflatten.*float at pos 1")


@settings(max_examples=10)
@given(data=st.data())
def test_pixel_shuffle_roundtrip(data):
    r = data.draw(st.integers(1, 3))
    c, h, w = (data.draw(st.integers(1, 2)) for _ in range(3))
    batch = data.draw(shapes(0, 2, min_side=1, max_side=2))
    check_module(lambda nn: nn.PixelShuffle(r), arrays(data.draw, batch + (c * r * r, h, w)))
    check_module(lambda nn: nn.PixelUnshuffle(r), arrays(data.draw, batch + (c, h * r, w * r)))


UPSAMPLES = ["Upsample(scale_factor=2)", "Upsample(size=(3, 5))",
             "Upsample(scale_factor=(2, 1.5), mode='bilinear')",
             "Upsample(size=5, mode='bilinear', align_corners=True)",
             "Upsample(scale_factor=1.5, mode='bicubic')",
             "Upsample(scale_factor=2, mode='nearest-exact')",
             "UpsamplingNearest2d(scale_factor=3)", "UpsamplingNearest2d(size=(2, 4))",
             "UpsamplingBilinear2d(scale_factor=2)", "UpsamplingBilinear2d(size=4)"]


@pytest.mark.parametrize("spec", UPSAMPLES)
@settings(max_examples=4)
@given(data=st.data())
def test_upsample_2d(spec, data):
    shape = tuple(data.draw(st.integers(1, 3)) for _ in range(4))
    check_module(lambda nn: eval(f"nn.{spec}"), arrays(data.draw, shape))


def test_upsample_1d_linear():
    x = np.random.default_rng(7).standard_normal((2, 3, 4))
    check_module(lambda nn: nn.Upsample(scale_factor=2.5, mode="linear"), x)
    check_module(lambda nn: nn.Upsample(size=7, mode="nearest"), x)


# -- embedding ---------------------------------------------------------------------------

@given(data=st.data())
def test_embedding(data):
    n, dim = data.draw(st.integers(1, 4)), data.draw(st.integers(0, 4))
    pad = data.draw(st.one_of(st.none(), st.integers(-n, n - 1)))
    shape = data.draw(shapes(0, 2))
    idx = arrays(data.draw, shape, np.int64, 0, n - 1)
    check_module(lambda nn: nn.Embedding(n, dim, padding_idx=pad), idx)


def test_embedding_padding_row_zeroed_and_no_grad():
    e = ember.nn.Embedding(5, 3, padding_idx=-2)
    assert e.padding_idx == 3
    np.testing.assert_array_equal(e.weight.detach().numpy()[3], 0)
    assert np.all(e.weight.detach().numpy()[[0, 1, 2, 4]] != 0)
    e(ember.tensor([[3, 1, 3]])).sum().backward()
    np.testing.assert_array_equal(e.weight.grad.numpy()[3], 0)
    np.testing.assert_array_equal(e.weight.grad.numpy()[1], 1)
    w = ember.nn.Embedding(1000, 100).weight.detach().numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01


def test_embedding_options_and_max_norm():
    idx = np.array([[0, 2], [2, 3]])
    check_module(lambda nn: nn.Embedding(4, 3, max_norm=1.0, norm_type=1.0,
                                         scale_grad_by_freq=True), idx)


def test_embedding_from_pretrained():
    table = np.random.default_rng(8).standard_normal((4, 3)).astype(np.float32)
    idx = np.array([1, 3, 1])
    for freeze in (True, False):
        check_module(lambda nn: nn.Embedding.from_pretrained(_tensor(nn, table), freeze=freeze,
                                                             padding_idx=1), idx)
        e = ember.nn.Embedding.from_pretrained(ember.from_numpy(table.copy()), freeze=freeze)
        assert e.weight.requires_grad is (not freeze)
    src = ember.from_numpy(table.copy())
    e = ember.nn.Embedding.from_pretrained(src, padding_idx=0)
    np.testing.assert_array_equal(e.weight.detach().numpy(), table)  # padding row kept
    _errors(lambda nn: nn.Embedding.from_pretrained(_tensor(nn, table[0])), AssertionError,
            "Embedding.*2-dimensional")


def test_embedding_errors():
    _errors(lambda nn: nn.Embedding(3, 2, padding_idx=3), AssertionError,
            "Embedding.*Padding_idx must be within num_embeddings")
    _errors(lambda nn: nn.Embedding(3, 2, padding_idx=-4), AssertionError,
            "Padding_idx must be within")
    _errors(lambda nn: nn.Embedding(-1, 2), RuntimeError, "Embedding.*negative dimension -1")
    _errors(lambda nn: nn.Embedding(3, 2, _weight=_tensor(nn, np.zeros((2, 2), np.float32))),
            AssertionError, "Embedding.*Shape of weight does not match")
