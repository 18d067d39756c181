"""keras Conv2DTranspose, DepthwiseConv2D and SeparableConv2D against torch (float64,
forward and gradients), with TensorFlow's documented output-size and padding rules."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from ember import keras
from ember.keras.layers.convolutional_extra import Conv2DTranspose, DepthwiseConv2D, \
    SeparableConv2D

T = torch.nn.functional


def _tf_same_before(n, k, s, d=1):
    """TensorFlow's 'same' rule: ceil(n / s) outputs, the smaller half of the padding first."""
    total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _check_grads(layer, x, ref_fn, weights):
    """Forward and backward of ``layer`` on ``x`` against ``ref_fn(x, *weights)`` in torch."""
    ex = ember.tensor(x, requires_grad=True)
    out = layer(ex)
    tx = torch.tensor(x, requires_grad=True)
    tw = [torch.tensor(w, requires_grad=True) for w in weights]
    ref = ref_fn(tx, *tw)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    g = np.random.default_rng(9).normal(size=tuple(ref.shape))
    (out * ember.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), atol=1e-10)
    for w, t in zip(layer.weights, tw):
        np.testing.assert_allclose(w.grad.numpy(), t.grad.numpy(), atol=1e-10)


def _transpose_reference(x, kernel, bias, strides, padding, output_padding, dilation):
    """Full torch transposed convolution, then TensorFlow's crop for Keras's output size."""
    full = T.conv_transpose2d(x.permute(0, 3, 1, 2), kernel.permute(3, 2, 0, 1),
                              stride=strides, dilation=dilation)
    out = full
    for axis in (0, 1):
        n, k, s, d = x.shape[1 + axis], kernel.shape[axis], strides[axis], dilation[axis]
        span = (k - 1) * d + 1
        if output_padding is None:
            size = n * s + (max(span - s, 0) if padding == "valid" else 0)
        else:
            size = (n - 1) * s + span - 2 * (span // 2 if padding == "same" else 0) \
                + output_padding[axis]
        before = _tf_same_before(size, k, s, d)[0] if padding == "same" else 0
        extra = before + size - out.shape[2 + axis]
        if extra > 0:
            pad = [0, 0, 0, 0]
            pad[3 - 2 * axis] = extra
            out = T.pad(out, pad)
        out = out.narrow(2 + axis, before, size)
    return (out + bias.reshape(1, -1, 1, 1)).permute(0, 2, 3, 1)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 6), w=st.integers(1, 6),
       k=st.sampled_from([(1, 1), (2, 2), (3, 3), (3, 2), (5, 4)]),
       strides=st.sampled_from([(1, 1), (2, 2), (3, 2)]),
       padding=st.sampled_from(["valid", "same"]), use_output_padding=st.booleans())
def test_conv2d_transpose_matches_torch_with_keras_output_sizes(h, w, k, strides, padding,
                                                               use_output_padding):
    output_padding = (strides[0] - 1, 0) if use_output_padding else None
    x = np.random.default_rng(0).normal(size=(2, h, w, 3))
    layer = Conv2DTranspose(4, k, strides=strides, padding=padding,
                            output_padding=output_padding, dtype="float64",
                            bias_initializer="random_normal")
    layer.build(x.shape)
    kernel, bias = layer.get_weights()
    assert kernel.shape == k + (4, 3)
    _check_grads(layer, x, lambda tx, tk, tb: _transpose_reference(
        tx, tk, tb, strides, padding, output_padding, (1, 1)), [kernel, bias])
    assert layer.compute_output_shape((None, h, w, 3)) == \
        (None,) + tuple(layer(x).shape[1:])


def test_conv2d_transpose_known_sizes_dilation_and_functional_shape():
    assert Conv2DTranspose(2, 3, strides=2, padding="same")(np.ones((1, 5, 7, 1))).shape \
        == (1, 10, 14, 2)
    assert Conv2DTranspose(2, 3, strides=2)(np.ones((1, 5, 7, 1))).shape == (1, 11, 15, 2)
    assert Conv2DTranspose(2, 1, strides=3)(np.ones((1, 2, 2, 1))).shape == (1, 6, 6, 2)
    x = np.random.default_rng(1).normal(size=(1, 4, 5, 2))
    layer = Conv2DTranspose(3, 3, dilation_rate=2, padding="same", dtype="float64")
    layer.build(x.shape)
    kernel, bias = layer.get_weights()
    _check_grads(layer, x, lambda tx, tk, tb: _transpose_reference(
        tx, tk, tb, (1, 1), "same", None, (2, 2)), [kernel, bias])
    assert Conv2DTranspose(4, 3, strides=2)(keras.Input((None, 6, 2))).shape == \
        (None, None, 13, 4)


def _depthwise_reference(x, kernel, strides, padding, dilation):
    kh, kw, c, m = kernel.shape
    xc = x.permute(0, 3, 1, 2)
    if padding == "same":
        (t, b), (l, r) = (_tf_same_before(x.shape[1], kh, strides[0], dilation[0]),
                          _tf_same_before(x.shape[2], kw, strides[1], dilation[1]))
        xc = T.pad(xc, (l, r, t, b))
    weight = kernel.reshape(kh, kw, c * m).permute(2, 0, 1).unsqueeze(1)
    return T.conv2d(xc, weight, None, strides, 0, dilation, groups=c)


@settings(max_examples=20, deadline=None)
@given(h=st.integers(3, 8), w=st.integers(3, 8), k=st.sampled_from([(1, 1), (3, 3), (2, 3)]),
       strides=st.sampled_from([(1, 1), (2, 2), (2, 1)]),
       padding=st.sampled_from(["valid", "same"]), multiplier=st.integers(1, 3))
def test_depthwise_and_separable_match_torch(h, w, k, strides, padding, multiplier):
    x = np.random.default_rng(2).normal(size=(2, h, w, 3))
    depthwise = DepthwiseConv2D(k, strides, padding, multiplier, dtype="float64",
                                bias_initializer="random_normal")
    depthwise.build(x.shape)
    kernel, bias = depthwise.get_weights()
    assert kernel.shape == k + (3, multiplier) and bias.shape == (3 * multiplier,)
    _check_grads(depthwise, x, lambda tx, tk, tb: (
        _depthwise_reference(tx, tk, strides, padding, (1, 1)) + tb.reshape(1, -1, 1, 1)
    ).permute(0, 2, 3, 1), [kernel, bias])
    separable = SeparableConv2D(5, k, strides, padding, depth_multiplier=multiplier,
                                dtype="float64", bias_initializer="random_normal")
    separable.build(x.shape)
    dk, pk, b = separable.get_weights()
    assert pk.shape == (1, 1, 3 * multiplier, 5)
    _check_grads(separable, x, lambda tx, tdk, tpk, tb: T.conv2d(
        _depthwise_reference(tx, tdk, strides, padding, (1, 1)), tpk.permute(3, 2, 0, 1), tb
    ).permute(0, 2, 3, 1), [dk, pk, b])


def test_depthwise_dilation_activation_and_channels_first():
    x = np.random.default_rng(3).normal(size=(1, 7, 7, 2))
    layer = DepthwiseConv2D(3, padding="same", dilation_rate=2, activation="relu",
                            use_bias=False, dtype="float64")
    (kernel,) = layer.get_weights() if layer.built else (None,)
    out = layer(x).detach().numpy()
    (kernel,) = layer.get_weights()
    ref = _depthwise_reference(torch.tensor(x), torch.tensor(kernel), (1, 1), "same", (2, 2))
    np.testing.assert_allclose(out, torch.relu(ref).permute(0, 2, 3, 1).numpy(), atol=1e-12)
    first = SeparableConv2D(3, 3, data_format="channels_first", dtype="float64")
    last = SeparableConv2D(3, 3, dtype="float64")
    last.build(x.shape)
    first.build((1, 2, 7, 7))
    first.set_weights(last.get_weights())
    np.testing.assert_allclose(first(x.transpose(0, 3, 1, 2)).detach().numpy(),
                               last(x).detach().numpy().transpose(0, 3, 1, 2), atol=1e-12)


def test_configs_round_trip_with_keras_argument_names():
    cases = [Conv2DTranspose(3, (2, 3), strides=2, output_padding=1, padding="same"),
             DepthwiseConv2D(3, depth_multiplier=2, depthwise_regularizer="l2"),
             SeparableConv2D(4, 3, pointwise_initializer="zeros", depth_multiplier=3)]
    for layer in cases:
        config = layer.get_config()
        assert "groups" not in config
        assert type(layer).from_config(config).get_config() == config
    assert cases[0].get_config()["output_padding"] == [1, 1]
    assert cases[1].get_config()["depthwise_regularizer"] is not None
    assert "filters" not in cases[1].get_config()
    assert cases[2].get_config()["pointwise_initializer"]["class_name"] == "Zeros"
    reg = DepthwiseConv2D(1, depthwise_regularizer="l2")
    reg(np.ones((1, 2, 2, 2)))
    assert len(reg.losses) == 1


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match=r"strides \(2, 2\) must be greater than output "
                                         r"padding \(2, 2\)"):
        Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="DepthwiseConv2D: invalid value for argument "
                                         "`depth_multiplier`.*Received depth_multiplier=0"):
        DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ValueError, match="SeparableConv2D: invalid value for argument "
                                         "`filters`"):
        SeparableConv2D(0, 3)
    with pytest.raises(ValueError, match="`padding` argument must be one of"):
        DepthwiseConv2D(3, padding="causal")
    layer = SeparableConv2D(2, 3)
    layer(np.ones((1, 5, 5, 3)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(np.ones((1, 5, 5, 4)))
    with pytest.raises(ValueError, match="channel dimension of the inputs should be defined"):
        Conv2DTranspose(2, 3).build((None, 4, 4, None))
