import warnings

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as EF
from conformance import assert_close


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_statistics(p):
    ember.manual_seed(0)
    y = EF.dropout(ember.ones(200, 100), p).numpy()
    kept = y != 0
    assert abs(kept.mean() - (1 - p)) < 0.02
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(y.mean() - 1) < 0.05 * (1 / (1 - p))          # unbiased in expectation


def test_dropout_reproducible_under_manual_seed():
    x = ember.randn(5, 7)
    ember.manual_seed(123)
    a = EF.dropout(x, 0.4).numpy()
    ember.manual_seed(123)
    b = ember.dropout(x, 0.4).numpy()
    c = EF.dropout(x, 0.4).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_train_eval_and_edge_probabilities():
    x = ember.randn(3, 4, requires_grad=True)
    assert EF.dropout(x, 0.5, training=False) is x
    assert EF.dropout(x, 0.0) is x
    z = EF.dropout(x, 1.0)
    assert not z.detach().numpy().any() and z.requires_grad
    assert EF.alpha_dropout(x, 0.5) is x                     # off unless training
    for fn in (EF.dropout, EF.dropout2d, EF.alpha_dropout):
        with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
            fn(x, 1.5)
    with pytest.raises(ValueError, match="but got -0.1"):
        EF.dropout(x, -0.1)


def test_dropout_integer_input():
    x = ember.arange(3)
    assert EF.dropout(x, 0.0).dtype == ember.int64
    assert EF.dropout(x, 1.0).tolist() == [0, 0, 0]
    with pytest.raises(RuntimeError, match="can't be cast"):
        EF.dropout(x, 0.5)


def test_dropout_gradient_is_the_mask():
    x = ember.randn(6, 5, dtype=ember.float64, requires_grad=True)
    ember.manual_seed(7)
    y = EF.dropout(x, 0.3)
    g = ember.randn(6, 5, dtype=ember.float64)
    (gx,) = ember.autograd.grad(y, x, g)
    scale = np.where(y.detach().numpy() != 0, 1 / 0.7, 0.0)
    np.testing.assert_allclose(gx.numpy(), g.numpy() * scale)

    def seeded(x):
        ember.manual_seed(7)
        return EF.dropout(x, 0.3)
    ember.autograd.gradcheck(seeded, [x])
    ember.autograd.gradgradcheck(seeded, [x])


def test_dropout_inplace():
    x = ember.ones(4, 4)
    ember.manual_seed(1)
    y = EF.dropout(x, 0.5, inplace=True)
    assert y is x and set(np.unique(x.numpy())) <= {0.0, 2.0}
    leaf = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        EF.dropout(leaf, 0.5, inplace=True)


@pytest.mark.parametrize("fn,shape,channel_dims", [
    (EF.dropout1d, (4, 6, 5), 2), (EF.dropout1d, (6, 5), 1),
    (EF.dropout2d, (4, 6, 3, 3), 2), (EF.dropout3d, (3, 6, 2, 2, 2), 2),
    (EF.dropout3d, (6, 2, 2, 2), 1)])
def test_channel_dropout_zeros_whole_channels(fn, shape, channel_dims):
    ember.manual_seed(2)
    y = fn(ember.ones(*shape), 0.5).numpy()
    per_channel = y.reshape(shape[:channel_dims] + (-1,))
    assert (per_channel.min(-1) == per_channel.max(-1)).all()
    assert set(np.unique(per_channel)) == {0.0, 2.0}


def test_channel_dropout_dims_and_warnings():
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        EF.dropout1d(ember.ones(2, 3, 4, 5))
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        y = EF.dropout2d(ember.ones(8, 6, 5), 0.5)
    per_channel = y.numpy()
    assert (per_channel.min(-1) == per_channel.max(-1)).all()      # read as (N, C, L)
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout3d"):
        EF.dropout3d(ember.ones(3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EF.dropout2d(ember.ones(2, 3, 4, 4))


def test_alpha_dropout_keeps_mean_and_variance():
    ember.manual_seed(3)
    x = ember.randn(400, 250)
    y = EF.alpha_dropout(x, 0.3, training=True).numpy()
    assert abs(y.mean()) < 0.03 and abs(y.std() - 1) < 0.03
    t = torch.nn.functional.alpha_dropout(torch.from_numpy(x.numpy()), 0.3, training=True)
    assert abs(y.std() - t.std().item()) < 0.03
    ember.manual_seed(3)
    f = EF.feature_alpha_dropout(ember.randn(50, 40, 6), 0.5, training=True).numpy()
    dropped = np.isclose(f, f[..., :1]).all(-1)          # dropped channels are constant
    assert 0.35 < dropped.mean() < 0.65


def test_dropout_zero_size_and_eval_match_torch():
    x = np.random.default_rng(0).standard_normal((0, 3)).astype(np.float32)
    assert_close(EF.dropout(ember.from_numpy(x), 0.5),
                 torch.nn.functional.dropout(torch.from_numpy(x), 0.5))
