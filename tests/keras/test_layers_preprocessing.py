"""keras Normalization and random image augmentations against NumPy formulas."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ember
from ember.keras.layers.preprocessing import Normalization, RandomFlip, RandomRotation, \
    RandomTranslation, RandomZoom


def _images(n=3, h=5, w=6, c=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, h, w, c)).astype(np.float32)


# -- Normalization ------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(shape=st.sampled_from([(7, 3), (4, 5, 2), (3, 2, 2, 4)]), axis=st.sampled_from([-1, None]))
def test_normalization_adapt_matches_numpy_mean_and_biased_variance(shape, axis):
    data = np.random.default_rng(1).normal(2.0, 3.0, size=shape)
    layer = Normalization(axis=axis, dtype="float64")
    layer.adapt(data)
    reduce = tuple(range(len(shape) - 1)) if axis == -1 else None
    mean, var = data.mean(axis=reduce), data.var(axis=reduce)
    np.testing.assert_allclose(layer.get_weights()[0], mean, rtol=1e-12)
    np.testing.assert_allclose(layer.get_weights()[1], var, rtol=1e-12)
    np.testing.assert_allclose(layer(data).numpy(), (data - mean) / np.sqrt(var), atol=1e-10)


def test_normalization_adapt_on_batches_equals_adapt_on_the_whole_array():
    data = np.random.default_rng(2).uniform(0, 10, size=(20, 4, 3))
    whole, batched = Normalization(axis=(1, 2), dtype="float64"), \
        Normalization(axis=(1, 2), dtype="float64")
    whole.adapt(ember.tensor(data))
    batched.adapt(data[i:i + 7] for i in range(0, 20, 7))
    np.testing.assert_allclose(batched.get_weights()[0], data.mean(0), rtol=1e-12)
    np.testing.assert_allclose(batched.get_weights()[1], data.var(0), rtol=1e-12)
    np.testing.assert_allclose(whole.get_weights()[1], data.var(0), rtol=1e-12)
    first = Normalization(dtype="float64")
    first.adapt(iter([data[:5, 0], data[5:, 0]]), steps=1)
    np.testing.assert_allclose(first.get_weights()[0], data[:5, 0].mean(0), rtol=1e-12)


def test_normalization_fixed_statistics_invert_and_epsilon_floor():
    x = np.array([[3.0, 5.0], [1.0, -1.0]])
    layer = Normalization(mean=[1.0, 2.0], variance=[4.0, 0.0], dtype="float64")
    expected = (x - [1.0, 2.0]) / np.array([2.0, 1e-7])
    np.testing.assert_allclose(layer(x).numpy(), expected)
    assert layer.weights == []
    inverse = Normalization(mean=1.0, variance=4.0, invert=True, dtype="float64")
    np.testing.assert_allclose(inverse(x).numpy(), 1.0 + x * 2.0)
    untouched = Normalization()                      # not adapted: mean 0, variance 1
    np.testing.assert_allclose(untouched(x).numpy(), x.astype(np.float32))


def test_normalization_config_round_trip_and_errors():
    layer = Normalization(axis=(1, 2), mean=[[1.0]], variance=[[2.0]], invert=True)
    config = layer.get_config()
    assert config["axis"] == [1, 2] and config["mean"] == [[1.0]] and config["invert"]
    assert Normalization.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="both `mean` and `variance` must be set"):
        Normalization(mean=1.0)
    with pytest.raises(ValueError, match="'axis' may not be 0"):
        Normalization(axis=0)
    with pytest.raises(ValueError, match="cannot adapt a layer whose `mean`"):
        Normalization(mean=0.0, variance=1.0).adapt(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"must broadcast to the kept axes' shape \(3,\)"):
        Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0])(np.ones((2, 3)))
    adapted = Normalization()
    adapted.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="incompatible|expected"):
        adapted(np.ones((2, 5)))
    with pytest.raises(ValueError, match="received no data"):
        Normalization().adapt(iter([]))
    with pytest.raises(TypeError, match="expects an array, a tensor or an iterable"):
        Normalization().adapt(object())


# -- RandomFlip ---------------------------------------------------------------------------
def test_random_flip_is_identity_unless_training_and_flips_each_image_independently():
    x = _images(n=16)
    layer = RandomFlip("horizontal", seed=3)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    out = layer(x, training=True).numpy()
    flipped = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)]
    kept = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    both = RandomFlip(seed=4)(x, training=True).numpy()
    options = lambda i: [i, i[:, ::-1], i[::-1], i[::-1, ::-1]]   # noqa: E731
    assert all(any(np.array_equal(o, c) for c in options(i)) for o, i in zip(both, x))
    vertical = RandomFlip("vertical", seed=5)(x, training=True).numpy()
    assert all(np.array_equal(o, i) or np.array_equal(o, i[::-1]) for o, i in zip(vertical, x))


def test_random_layers_are_reproducible_by_seed_and_by_manual_seed():
    x = _images(n=8)
    a = RandomRotation(0.3, seed=7)(x, training=True).numpy()
    b = RandomRotation(0.3, seed=7)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    ember.manual_seed(11)
    c = RandomFlip()(x, training=True).numpy()
    ember.manual_seed(11)
    np.testing.assert_array_equal(RandomFlip()(x, training=True).numpy(), c)
    layer = RandomZoom(0.5, seed=1)
    assert not np.array_equal(layer(x, training=True).numpy(), layer(x, training=True).numpy())


# -- affine warps -------------------------------------------------------------------------
@pytest.mark.parametrize("factor,k", [(0.25, 1), (-0.25, -1), (0.5, 2)])
def test_rotation_by_quarter_turns_is_exact_rot90(factor, k):
    x = _images(n=2, h=5, w=5)
    out = RandomRotation((factor, factor), interpolation="nearest")(x, training=True)
    np.testing.assert_array_equal(out.numpy(), np.rot90(x, k, axes=(1, 2)))
    bilinear = RandomRotation((factor, factor))(x, training=True)
    np.testing.assert_allclose(bilinear.numpy(), np.rot90(x, k, axes=(1, 2)), atol=1e-5)


def _bilinear_rotation_reference(img, angle, fill):
    """Per-pixel loop: inverse-rotate each output pixel about the centre, read the four
    neighbours (constant ``fill`` outside) and blend."""
    h, w, _ = img.shape
    cx, cy = (w - 1) / 2, (h - 1) / 2
    out = np.zeros_like(img, dtype=np.float64)
    for y in range(h):
        for x in range(w):
            sx = math.cos(angle) * (x - cx) - math.sin(angle) * (y - cy) + cx
            sy = math.sin(angle) * (x - cx) + math.cos(angle) * (y - cy) + cy
            x0, y0 = math.floor(sx), math.floor(sy)
            for yy, wy in ((y0, 1 - (sy - y0)), (y0 + 1, sy - y0)):
                for xx, wx in ((x0, 1 - (sx - x0)), (x0 + 1, sx - x0)):
                    inside = 0 <= yy < h and 0 <= xx < w
                    out[y, x] += wx * wy * (img[yy, xx] if inside else fill)
    return out


def test_bilinear_rotation_with_constant_fill_matches_a_per_pixel_reference():
    x = _images(n=1, h=6, w=7, c=2).astype(np.float64)
    layer = RandomRotation((1 / 12, 1 / 12), fill_mode="constant", fill_value=0.5,
                           dtype="float64")
    out = layer(x, training=True).numpy()[0]
    np.testing.assert_allclose(out, _bilinear_rotation_reference(x[0], math.pi / 6, 0.5),
                               atol=1e-12)


@pytest.mark.parametrize("fill_mode,pad_mode", [("reflect", "symmetric"), ("wrap", "wrap"),
                                                ("nearest", "edge"), ("constant", "constant")])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_whole_pixel_translation_is_a_shift_with_the_fill_mode(fill_mode, pad_mode,
                                                               interpolation):
    x = _images(n=2, h=4, w=6)
    # height 4 * 0.5 = 2 rows down, width 6 * -1/3 = 2 columns left
    layer = RandomTranslation((0.5, 0.5), (-1 / 3, -1 / 3), fill_mode=fill_mode,
                              interpolation=interpolation, dtype="float64")
    out = layer(x.astype(np.float64), training=True).numpy()
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode=pad_mode)
    np.testing.assert_allclose(out, padded[:, 0:4, 4:10], atol=1e-12)


def test_zoom_zero_is_identity_and_zoom_out_samples_a_larger_region():
    x = _images(n=2, h=5, w=5)
    np.testing.assert_allclose(RandomZoom(0.0)(x, training=True).numpy(), x, atol=1e-6)
    out = RandomZoom((1.0, 1.0), (0.0, 0.0), fill_mode="constant", fill_value=-9.0,
                     interpolation="nearest")(x, training=True).numpy()
    expected = np.full_like(x, -9.0)
    for y in range(5):                 # height zoom 2 about the centre row 2: row 2y - 2
        if 0 <= 2 * y - 2 < 5:
            expected[:, y] = x[:, 2 * y - 2]
    np.testing.assert_array_equal(out, expected)
    same = RandomZoom(-0.5, seed=0, interpolation="nearest")(x[:1], training=True).numpy()[0]
    assert same.shape == (5, 5, 2)


def test_warps_pass_gradients_and_accept_single_images_and_integers():
    x = ember.tensor(_images(n=1, h=4, w=4, c=1), requires_grad=True)
    out = RandomTranslation((0.25, 0.25), 0.0, fill_mode="constant")(x, training=True)
    out.sum().backward()
    expected = np.ones((1, 4, 4, 1))
    expected[:, 3] = 0                 # the bottom row is shifted out of the image
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    single = RandomRotation((0.25, 0.25), interpolation="nearest")(
        np.arange(9).reshape(3, 3, 1), training=True)
    assert single.dtype == ember.float32
    np.testing.assert_array_equal(single.numpy()[..., 0], np.rot90(np.arange(9.).reshape(3, 3)))


def test_augmentation_configs_round_trip():
    for layer in [RandomFlip("vertical", seed=1), RandomRotation((-0.1, 0.2), "wrap", "nearest"),
                  RandomZoom(0.1, (0.0, 0.3), fill_value=2.0),
                  RandomTranslation(0.1, 0.2, "constant", seed=3)]:
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    assert RandomRotation(0.2).get_config()["fill_mode"] == "reflect"


def test_augmentation_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="unknown mode argument 'diagonal'"):
        RandomFlip("diagonal")
    with pytest.raises(NotImplementedError, match="unknown `fill_mode` 'mirror'"):
        RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(NotImplementedError, match="unknown `interpolation` 'bicubic'"):
        RandomZoom(0.1, interpolation="bicubic")
    with pytest.raises(ValueError, match=r"RandomRotation: .*in the range \[-1.0, 1.0\]. "
                                         r"Received: factor=1.5"):
        RandomRotation(1.5)
    with pytest.raises(ValueError, match="cannot have an upper bound less than the lower"):
        RandomTranslation((0.3, 0.1), 0.1)
    with pytest.raises(ValueError, match="number or a list of two numbers"):
        RandomZoom("big")
    with pytest.raises(ValueError, match="expected min_ndim=3|min_ndim"):
        RandomFlip()(np.ones((4, 4)), training=True)
