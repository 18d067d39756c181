"""keras Conv1D/Conv2D, pooling and Embedding against torch (NCHW) and NumPy."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from ember import keras
from ember.keras import layers


def _tf_same(n, k, s, d=1):
    """TensorFlow's documented 'same' rule: ceil(n / s) outputs, extra padding at the end."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _conv_reference(x_nhwc, kernel, bias, strides, padding, dilation, groups):
    x = torch.tensor(x_nhwc, requires_grad=True)
    w = torch.tensor(kernel, requires_grad=True)
    xc = x.permute(0, 3, 1, 2)
    if padding == "same":
        (t, b), (l, r) = (_tf_same(x_nhwc.shape[1], kernel.shape[0], strides[0], dilation[0]),
                          _tf_same(x_nhwc.shape[2], kernel.shape[1], strides[1], dilation[1]))
        xc = torch.nn.functional.pad(xc, (l, r, t, b))
    y = torch.nn.functional.conv2d(xc, w.permute(3, 2, 0, 1), torch.tensor(bias), strides, 0,
                                   dilation, groups)
    return x, w, y.permute(0, 2, 3, 1)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), h=st.integers(3, 9), w=st.integers(3, 9),
       k=st.sampled_from([(1, 1), (2, 2), (3, 3), (2, 3), (4, 1)]),
       strides=st.sampled_from([(1, 1), (2, 2), (1, 2), (3, 3)]),
       padding=st.sampled_from(["valid", "same"]), groups=st.sampled_from([1, 2]))
def test_conv2d_matches_torch_forward_and_backward(n, h, w, k, strides, padding, groups):
    if padding == "valid" and (k[0] > h or k[1] > w):
        return
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, h, w, 4))
    layer = layers.Conv2D(6, k, strides=strides, padding=padding, groups=groups,
                          dtype="float64", bias_initializer="random_normal")
    out = layer(ember.tensor(x, requires_grad=True))
    kernel, bias = layer.get_weights()
    assert kernel.shape == k + (4 // groups, 6)
    tx, tw, ref = _conv_reference(x, kernel, bias, strides, padding, (1, 1), groups)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    g = rng.normal(size=tuple(ref.shape))
    ex = ember.tensor(x, requires_grad=True)
    (layer(ex) * ember.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(layer.kernel.grad.numpy(), tw.grad.numpy(), atol=1e-10)


def test_conv2d_dilation_activation_and_channels_first():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 9, 9, 3))
    layer = layers.Conv2D(4, 3, dilation_rate=2, padding="same", activation="relu",
                          dtype="float64")
    out = layer(x).detach().numpy()
    kernel, bias = layer.get_weights()
    _, _, ref = _conv_reference(x, kernel, bias, (1, 1), "same", (2, 2), 1)
    np.testing.assert_allclose(out, torch.relu(ref).detach().numpy(), atol=1e-10)
    first = layers.Conv2D(4, 3, data_format="channels_first", dtype="float64")
    first.build((None, 3, 9, 9))
    first.set_weights([kernel, bias])
    _, _, valid = _conv_reference(x, kernel, bias, (1, 1), "valid", (1, 1), 1)
    np.testing.assert_allclose(first(x.transpose(0, 3, 1, 2)).detach().numpy(),
                               valid.detach().numpy().transpose(0, 3, 1, 2), atol=1e-10)


def test_conv1d_causal_sees_only_the_past():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 7, 3))
    layer = layers.Conv1D(5, 3, padding="causal", dilation_rate=2, dtype="float64")
    out = layer(x).detach().numpy()
    kernel, bias = layer.get_weights()
    xt = torch.nn.functional.pad(torch.tensor(x).permute(0, 2, 1), (4, 0))
    ref = torch.nn.functional.conv1d(xt, torch.tensor(kernel).permute(2, 1, 0),
                                     torch.tensor(bias), dilation=2).permute(0, 2, 1)
    np.testing.assert_allclose(out, ref.detach().numpy(), atol=1e-10)
    changed = x.copy()
    changed[:, 5:] += 1.0                     # the future does not change earlier outputs
    np.testing.assert_allclose(layer(changed).detach().numpy()[:, :5], out[:, :5], atol=1e-12)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool,strides", [(2, None), (3, 2), ((2, 3), (1, 2))])
def test_pooling_2d_matches_torch_with_tensorflow_same_padding(padding, pool, strides):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 7, 8, 3))
    k = (pool, pool) if isinstance(pool, int) else pool
    s = k if strides is None else ((strides, strides) if isinstance(strides, int) else strides)
    xc = torch.tensor(x).permute(0, 3, 1, 2)
    pads = (0, 0, 0, 0)
    if padding == "same":
        (t, b), (l, r) = _tf_same(7, k[0], s[0]), _tf_same(8, k[1], s[1])
        pads = (l, r, t, b)
    mx = torch.nn.functional.max_pool2d(
        torch.nn.functional.pad(xc, pads, value=-math.inf), k, s).permute(0, 2, 3, 1)
    total = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(xc, pads), k, s,
                                           divisor_override=1)
    count = torch.nn.functional.avg_pool2d(
        torch.nn.functional.pad(torch.ones(1, 1, 7, 8, dtype=torch.float64), pads), k, s,
        divisor_override=1)
    av = (total / count).permute(0, 2, 3, 1)
    got_max = layers.MaxPooling2D(pool, strides, padding, dtype="float64")(x)
    got_avg = layers.AveragePooling2D(pool, strides, padding, dtype="float64")(x)
    np.testing.assert_allclose(got_max.detach().numpy(), mx.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(got_avg.detach().numpy(), av.detach().numpy(), atol=1e-12)


def test_pooling_1d_and_global_pooling_against_numpy():
    x = np.random.default_rng(4).normal(size=(2, 6, 3))
    np.testing.assert_allclose(layers.MaxPooling1D(2, dtype="float64")(x).detach().numpy(),
                               x.reshape(2, 3, 2, 3).max(2))
    np.testing.assert_allclose(layers.AveragePooling1D(3, dtype="float64")(x).detach().numpy(),
                               x.reshape(2, 2, 3, 3).mean(2))
    np.testing.assert_allclose(layers.GlobalAveragePooling1D(dtype="float64")(x).detach().numpy(),
                               x.mean(1))
    np.testing.assert_allclose(layers.GlobalMaxPooling1D(dtype="float64")(x).detach().numpy(), x.max(1))
    img = np.random.default_rng(5).normal(size=(2, 4, 5, 3))
    gap = layers.GlobalAveragePooling2D(keepdims=True, dtype="float64")(img).detach().numpy()
    np.testing.assert_allclose(gap, img.mean((1, 2), keepdims=True))
    np.testing.assert_allclose(layers.GlobalMaxPooling2D(dtype="float64")(img).detach().numpy(),
                               img.max((1, 2)))
    first = layers.GlobalAveragePooling2D(data_format="channels_first", dtype="float64")
    np.testing.assert_allclose(first(img).detach().numpy(), img.mean((2, 3)))


def test_embedding_looks_up_rows_and_refuses_out_of_range_ids():
    layer = layers.Embedding(10, 4)
    ids = np.array([[1, 9, 0], [3, 3, 2]])
    out = layer(ids)
    table = layer.get_weights()[0]
    assert table.shape == (10, 4) and np.abs(table).max() <= 0.05     # Keras's 'uniform'
    np.testing.assert_array_equal(out.detach().numpy(), table[ids])
    with pytest.raises(ValueError, match=r'Layer "embedding.*" \(Embedding\): input id 10 is '
                                         r"out of range \[0, 10\)"):
        layer(np.array([[10]]))
    with pytest.raises(ValueError, match="mask_zero=True is not supported"):
        layers.Embedding(10, 4, mask_zero=True)
    x = keras.Input(shape=(None,), dtype="int32")
    assert layers.Embedding(10, 4)(x).shape == (None, None, 4)


def test_layer_configs_round_trip():
    for layer in (layers.Conv2D(3, (2, 3), strides=2, padding="same", activation="relu"),
                  layers.Conv1D(2, 3, padding="causal"), layers.MaxPooling2D(3, 1, "same"),
                  layers.GlobalAveragePooling1D(keepdims=True), layers.Embedding(7, 2)):
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == {**config, "name": clone.name}


def test_bad_arguments_and_inputs_name_the_layer():
    with pytest.raises(ValueError, match="Conv2D: invalid value for argument `filters`"):
        layers.Conv2D(0, 3)
    with pytest.raises(ValueError, match="padding.*Received: padding='full'"):
        layers.Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match="evenly divisible by the number of groups"):
        layers.Conv2D(3, 3, groups=2)
    with pytest.raises(ValueError, match="`strides > 1` not supported in conjunction with "
                                         "`dilation_rate > 1`"):
        layers.Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="input has 3 channels"):
        layers.Conv2D(4, 3, groups=2)(np.ones((1, 5, 5, 3)))
    conv = layers.Conv2D(2, 3, name="c1")
    conv(np.ones((1, 5, 5, 3)))
    with pytest.raises(ValueError, match='Input 0 of layer "c1" is incompatible with the '
                                         "layer: expected axis -1 of input shape to have "
                                         "value 3"):
        conv(np.ones((1, 5, 5, 1)))
    with pytest.raises(ValueError, match="pool_size"):
        layers.MaxPooling2D(0)
