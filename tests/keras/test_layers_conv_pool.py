"""keras convolution and pooling layers: float32 and dilated/strided/1-D cases against torch
with every gradient, Keras's output-shape rule and its error for windows that do not fit.
(The float64 forward/backward sweep over strides and groups is in
test_layers_convolutional.py.)"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from ember import keras
from ember.keras.layers.convolutional import Conv1D, Conv2D
from ember.keras.layers.pooling import AveragePooling1D, AveragePooling2D, \
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling1D, \
    MaxPooling2D

TOL = {"float64": dict(rtol=1e-10, atol=1e-10), "float32": dict(rtol=2e-4, atol=2e-5)}


def _close(got, want, dtype):
    """Equal to float tolerance; float32 sums of many terms are compared at their scale."""
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else want
    tol = dict(TOL[dtype])
    tol["atol"] *= max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got.detach().numpy(), want, **tol)


def _tf_same_pads(n, k, s, d=1):
    """TensorFlow's documented 'same': ceil(n / s) outputs, an odd total pad at the end."""
    total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _torch_conv(x, kernel, bias, strides, padding, dilation, groups=1):
    """torch reference on a channels-last input and a Keras-layout kernel."""
    rank = x.dim() - 2
    xc = x.movedim(-1, 1)
    if padding == "same":
        pads = [_tf_same_pads(xc.shape[2 + i], kernel.shape[i], strides[i], dilation[i])
                for i in range(rank)]
        xc = torch.nn.functional.pad(xc, [p for pair in reversed(pads) for p in pair])
    elif padding == "causal":
        xc = torch.nn.functional.pad(xc, ((kernel.shape[0] - 1) * dilation[0], 0))
    w = kernel.permute(rank + 1, rank, *range(rank))
    conv = torch.nn.functional.conv1d if rank == 1 else torch.nn.functional.conv2d
    return conv(xc, w, bias, strides, 0, dilation, groups).movedim(1, -1)


def _compare_with_torch(layer, x, dtype):
    """Forward and the input, kernel and bias gradients of ``layer`` against torch."""
    ex = ember.tensor(x, requires_grad=True)
    out = layer(ex)
    kernel, bias = layer.get_weights()
    tx = torch.tensor(x, requires_grad=True)
    tk = torch.tensor(kernel, requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    ref = _torch_conv(tx, tk, tb, layer.strides, layer.padding, layer.dilation_rate,
                      layer.groups)
    assert tuple(out.shape) == tuple(ref.shape)
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + tuple(ref.shape[1:])
    _close(out, ref, dtype)
    g = np.random.default_rng(9).normal(size=tuple(ref.shape)).astype(dtype)
    (out * ember.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    for got, want in ((ex.grad, tx.grad), (layer.kernel.grad, tk.grad),
                      (layer.bias.grad, tb.grad)):
        _close(got, want, dtype)


@settings(max_examples=20, deadline=None)
@given(size=st.tuples(st.integers(4, 9), st.integers(4, 9)),
       k=st.sampled_from([(2, 2), (3, 3), (2, 3), (1, 4)]),
       dilation=st.sampled_from([(1, 1), (2, 2), (1, 3)]),
       padding=st.sampled_from(["valid", "same"]), dtype=st.sampled_from(["float64", "float32"]))
def test_dilated_conv2d_matches_torch_in_both_dtypes(size, k, dilation, padding, dtype):
    span = [(kk - 1) * d + 1 for kk, d in zip(k, dilation)]
    if padding == "valid" and (span[0] > size[0] or span[1] > size[1]):
        return
    x = np.random.default_rng(0).normal(size=(2,) + size + (3,)).astype(dtype)
    layer = Conv2D(4, k, padding=padding, dilation_rate=dilation, dtype=dtype,
                   bias_initializer="random_normal")
    _compare_with_torch(layer, x, dtype)


@pytest.mark.parametrize("padding,strides,dilation", [
    ("valid", 1, 1), ("same", 3, 1), ("same", 2, 1), ("same", 1, 3), ("causal", 2, 1),
    ("causal", 1, 2)])
def test_conv1d_matches_torch_with_gradients(padding, strides, dilation):
    x = np.random.default_rng(1).normal(size=(3, 11, 4))
    layer = Conv1D(5, 4, strides=strides, padding=padding, dilation_rate=dilation,
                   dtype="float64", bias_initializer="random_normal")
    _compare_with_torch(layer, x, "float64")


def test_conv2d_float32_strided_grouped_quickstart_shapes():
    x = np.random.default_rng(2).normal(size=(4, 28, 28, 6)).astype("float32")
    _compare_with_torch(Conv2D(8, 3, activation=None, bias_initializer="random_normal"), x,
                        "float32")
    _compare_with_torch(Conv2D(4, (4, 2), strides=2, padding="same", groups=2,
                               bias_initializer="random_normal"), x, "float32")


@pytest.mark.parametrize("layer_cls,torch_pool", [
    (MaxPooling2D, torch.nn.functional.max_pool2d),
    (AveragePooling2D, torch.nn.functional.avg_pool2d)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_valid_pooling_gradients_match_torch(layer_cls, torch_pool, dtype):
    x = np.random.default_rng(3).normal(size=(2, 9, 8, 3)).astype(dtype)
    ex = ember.tensor(x, requires_grad=True)
    layer = layer_cls((3, 2), strides=(2, 2), dtype=dtype)
    out = layer(ex)
    tx = torch.tensor(x, requires_grad=True)
    ref = torch_pool(tx.permute(0, 3, 1, 2), (3, 2), (2, 2)).permute(0, 2, 3, 1)
    _close(out, ref, dtype)
    g = np.random.default_rng(4).normal(size=tuple(ref.shape)).astype(dtype)
    (out * ember.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    _close(ex.grad, tx.grad, dtype)


def test_same_average_pooling_gradient_counts_only_real_positions():
    # 1-D, 5 steps, windows of 2 with stride 2, 'same': windows [0,1], [2,3], [4, pad]
    x = np.arange(5.0).reshape(1, 5, 1)
    ex = ember.tensor(x, requires_grad=True)
    out = AveragePooling1D(2, padding="same", dtype="float64")(ex)
    np.testing.assert_allclose(out.detach().numpy().ravel(), [0.5, 2.5, 4.0])
    out.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy().ravel(), [0.5, 0.5, 0.5, 0.5, 1.0])
    mx = ember.tensor(-x, requires_grad=True)
    m = MaxPooling1D(2, padding="same", dtype="float64")(mx)
    np.testing.assert_allclose(m.detach().numpy().ravel(), [0.0, -2.0, -4.0])  # never -inf
    m.sum().backward()
    np.testing.assert_allclose(mx.grad.numpy().ravel(), [1, 0, 1, 0, 1])


def test_global_pooling_gradients_and_output_shapes():
    x = np.random.default_rng(5).normal(size=(2, 3, 4, 5))
    ex = ember.tensor(x, requires_grad=True)
    GlobalAveragePooling2D(dtype="float64")(ex).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), np.full(x.shape, 1 / 12))
    ex.grad = None
    GlobalMaxPooling2D(dtype="float64")(ex).sum().backward()
    np.testing.assert_array_equal(ex.grad.numpy(), x == x.max((1, 2), keepdims=True))
    assert GlobalAveragePooling2D(keepdims=True).compute_output_shape((None, 3, 4, 5)) \
        == (None, 1, 1, 5)
    assert GlobalAveragePooling2D(data_format="channels_first", keepdims=True) \
        .compute_output_shape((None, 3, 4, 5)) == (None, 3, 1, 1)
    assert GlobalAveragePooling1D().compute_output_shape((7, 10, 2)) == (7, 2)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), k=st.integers(1, 5), s=st.integers(1, 4),
       d=st.integers(1, 3), padding=st.sampled_from(["valid", "same", "causal"]))
def test_conv1d_output_shape_follows_keras_rule(n, k, s, d, padding):
    if s > 1 and d > 1:
        return
    layer = Conv1D(2, k, strides=s, dilation_rate=d, padding=padding)
    span = (k - 1) * d + 1
    expected = math.ceil(n / s) if padding != "valid" else (n - span) // s + 1
    if expected < 1:
        with pytest.raises(ValueError, match="computed output size would be negative or "
                                             "zero"):
            layer(np.zeros((1, n, 3), "float32"))
        return
    assert layer.compute_output_shape((None, n, 3)) == (None, expected, 2)
    assert tuple(layer(np.zeros((1, n, 3), "float32")).shape) == (1, expected, 2)


def test_windows_that_do_not_fit_raise_keras_error_naming_the_layer():
    with pytest.raises(ValueError, match=r'Layer "small_conv" \(Conv2D\): computed output '
                                         r"size would be negative or zero: \(-1, 1\).*"
                                         r"inputs shape=\(1, 3, 5, 1\), window=\(5, 5\)"):
        Conv2D(2, 5, name="small_conv")(np.ones((1, 3, 5, 1)))
    with pytest.raises(ValueError, match=r'Layer "small_pool" \(MaxPooling2D\): computed '
                                         r"output size would be negative or zero: \(0, 1\)"):
        MaxPooling2D(4, name="small_pool")(np.ones((1, 3, 5, 1)))
    with pytest.raises(ValueError, match="Conv2D.*negative or zero"):
        Conv2D(2, 5)(keras.Input((3, 8, 1)))          # at model definition, like Keras


def test_functional_cnn_with_unknown_spatial_size():
    inputs = keras.Input((None, None, 3))
    h = Conv2D(4, 3, strides=2, padding="same", activation="relu")(inputs)
    h = MaxPooling2D()(h)
    outputs = GlobalAveragePooling2D()(h)
    assert (h.shape, outputs.shape) == ((None, None, None, 4), (None, 4))
    model = keras.Model(inputs, outputs)
    assert tuple(model(np.ones((2, 17, 9, 3), "float32")).shape) == (2, 4)
    assert tuple(model(np.ones((1, 8, 8, 3), "float32")).shape) == (1, 4)


def test_channels_first_pooling_and_shapes_match_channels_last():
    x = np.random.default_rng(6).normal(size=(2, 7, 6, 3))
    first = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    for cls in (MaxPooling2D, AveragePooling2D):
        last = cls(3, 2, "same", dtype="float64")
        chan = cls(3, 2, "same", data_format="channels_first", dtype="float64")
        np.testing.assert_allclose(chan(first).detach().numpy(),
                                   last(x).detach().numpy().transpose(0, 3, 1, 2))
        assert chan.compute_output_shape((None, 3, 7, 6)) == (None, 3, 4, 3)
