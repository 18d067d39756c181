"""keras.activations against torch, keras.regularizers against NumPy formulas."""
import numpy as np
import pytest
import torch

import ember
from ember.keras import activations, regularizers

_TORCH = {
    "linear": lambda t: t, "relu": torch.relu, "relu6": torch.nn.functional.relu6,
    "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.2),
    "elu": torch.nn.functional.elu, "selu": torch.selu, "gelu": torch.nn.functional.gelu,
    "sigmoid": torch.sigmoid, "hard_sigmoid": torch.nn.functional.hardsigmoid,
    "silu": torch.nn.functional.silu, "swish": torch.nn.functional.silu,
    "hard_silu": torch.nn.functional.hardswish, "hard_swish": torch.nn.functional.hardswish,
    "mish": torch.nn.functional.mish, "tanh": torch.tanh,
    "softplus": torch.nn.functional.softplus, "softsign": torch.nn.functional.softsign,
    "exponential": torch.exp, "softmax": lambda t: torch.softmax(t, -1),
    "log_softmax": lambda t: torch.log_softmax(t, -1),
}


@pytest.mark.parametrize("name", sorted(_TORCH))
def test_activation_matches_torch_with_gradients(name):
    data = np.random.default_rng(0).normal(0, 2, (3, 5))
    x = ember.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    out, ref = activations.get(name)(x), _TORCH[name](t)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-6, atol=1e-7)
    weights = np.random.default_rng(1).normal(size=(3, 5))
    (out * ember.tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_relu_options_follow_keras_formula():
    data = np.linspace(-3, 3, 13)
    out = activations.relu(ember.tensor(data), negative_slope=0.1, max_value=2.0,
                           threshold=0.5).numpy()
    expect = np.minimum(np.where(data < 0.5, 0.1 * (data - 0.5), data), 2.0)
    np.testing.assert_allclose(out, expect)


def test_get_none_is_linear_and_unknown_is_refused():
    assert activations.get(None) is activations.linear
    assert activations.get(activations.tanh) is activations.tanh
    assert activations.serialize(activations.relu) == "relu"
    with pytest.raises(ValueError, match="Could not interpret activation identifier: 'rleu'"):
        activations.get("rleu")


def test_regularizer_penalties_and_gradients():
    data = np.array([[1.0, -2.0], [0.5, 3.0]])
    w = ember.tensor(data, requires_grad=True)
    penalty = regularizers.L1L2(l1=0.1, l2=0.2)(w)
    assert float(penalty) == pytest.approx(0.1 * np.abs(data).sum() + 0.2 * (data ** 2).sum())
    penalty.backward()
    np.testing.assert_allclose(w.grad.numpy(), 0.1 * np.sign(data) + 0.4 * data)
    assert float(regularizers.get("l2")(w)) == pytest.approx(0.01 * (data ** 2).sum())
    assert float(regularizers.l1_l2()(w)) == pytest.approx(
        0.01 * np.abs(data).sum() + 0.01 * (data ** 2).sum())
    assert float(regularizers.L1L2()(w)) == 0.0


def test_regularizer_config_round_trip_and_errors():
    reg = regularizers.deserialize(regularizers.serialize(regularizers.L2(0.3)))
    assert isinstance(reg, regularizers.L2) and reg.l2 == pytest.approx(0.3)
    with pytest.raises(ValueError, match="L1L2: `l1` must be a non-negative number, got -1"):
        regularizers.L1L2(l1=-1)
    with pytest.raises(ValueError, match="regularizer identifier: 'l3'"):
        regularizers.get("l3")


def test_to_categorical_matches_torch_one_hot_and_refuses_bad_labels():
    from ember.keras.utils import to_categorical
    labels = np.array([[2], [0], [1], [2]])
    expect = torch.nn.functional.one_hot(torch.tensor(labels[:, 0]), 4).numpy()
    np.testing.assert_array_equal(to_categorical(labels, num_classes=4), expect)
    assert to_categorical([0, 1, 1]).shape == (3, 2)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\), got values from 0 "
                                         "to 3"):
        to_categorical([0, 3], num_classes=2)
    with pytest.raises(ValueError, match="labels must be integers"):
        to_categorical([0.5])
