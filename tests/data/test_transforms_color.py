"""Colour transforms and RandomErasing. Oracles: PIL's ImageEnhance (uint8; PIL blends
with its own rounding and a grayscale mean rounded to an integer, so values may differ by
a small amount, bounded below), NumPy formulas of torchvision's documented tensor
semantics (float, exact to float32), and Python's colorsys for the hue shift."""
import colorsys

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance

import ember
from ember.data import transforms as T
from ember.data.transforms import functional as F

RNG = np.random.default_rng(2)


def _rgb(h=9, w=11):
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _luma(x):
    return 0.2989 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


@pytest.mark.parametrize("factor", [0.0, 0.3, 1.0, 1.7])
def test_uint8_adjustments_match_pil_enhance(factor):
    a = _rgb()
    pil = Image.fromarray(a)
    for fn, enhancer, tol in ((F.adjust_brightness, ImageEnhance.Brightness, 1),
                              (F.adjust_contrast, ImageEnhance.Contrast, 2),
                              (F.adjust_saturation, ImageEnhance.Color, 2)):
        ref = np.asarray(enhancer(pil).enhance(factor)).astype(int)
        out = fn(a, factor)
        assert out.dtype == np.uint8
        assert np.abs(out.astype(int) - ref).max() <= tol, fn.__name__


@pytest.mark.parametrize("factor", [0.0, 0.4, 1.6])
def test_float_tensor_adjustments_match_formulas(factor):
    x = RNG.random((2, 3, 5, 6)).astype(np.float32)
    t = ember.from_numpy(x)
    chw = x.transpose(0, 2, 3, 1)
    gray = _luma(chw)[..., None]
    mean = gray.mean(axis=(1, 2, 3), keepdims=True)
    for out, ref in ((F.adjust_brightness(t, factor), factor * chw),
                     (F.adjust_contrast(t, factor), factor * chw + (1 - factor) * mean),
                     (F.adjust_saturation(t, factor), factor * chw + (1 - factor) * gray)):
        np.testing.assert_allclose(out.numpy(), np.clip(ref, 0, 1).transpose(0, 3, 1, 2),
                                   atol=1e-6)


def test_uint8_blend_truncates_like_torchvision():
    a = np.array([[[10, 100, 201]]], np.uint8)
    ref = torch.clamp(torch.tensor([10., 100., 201.]) * 1.26, 0, 255).to(torch.uint8)
    np.testing.assert_array_equal(F.adjust_brightness(a, 1.26)[0, 0], ref.numpy())


def test_grayscale_images():
    g = RNG.integers(0, 256, (5, 6), dtype=np.uint8)
    assert F.adjust_saturation(g, 0.2) is g and F.adjust_hue(g, 0.2) is g
    ref = 0.5 * g + 0.5 * g.mean()
    np.testing.assert_array_equal(F.adjust_contrast(g, 0.5), np.clip(ref, 0, 255).astype(np.uint8))
    gray = F.rgb_to_grayscale(_rgb(), num_output_channels=3)
    assert gray.shape == (9, 11, 3) and (gray[..., 0] == gray[..., 2]).all()


def _colorsys_hue(x, hue):
    """x: (..., 3) RGB in [0, 1], hue-shifted pixel by pixel with colorsys."""
    out = np.empty_like(x, dtype=np.float64)
    for idx in np.ndindex(x.shape[:-1]):
        h, s, v = colorsys.rgb_to_hsv(*x[idx])
        out[idx] = colorsys.hsv_to_rgb((h + hue) % 1.0, s, v)
    return out


@pytest.mark.parametrize("hue", [-0.5, -0.2, 0.0, 0.13, 0.5])
def test_adjust_hue_matches_colorsys(hue):
    x = RNG.random((3, 4, 5)).astype(np.float64)
    x[:, 0, 0] = 0.5                                        # a grey pixel
    out = F.adjust_hue(ember.from_numpy(x), hue).numpy()
    ref = _colorsys_hue(x.transpose(1, 2, 0), hue).transpose(2, 0, 1)
    np.testing.assert_allclose(out, ref, atol=1e-12)


def test_adjust_hue_uint8_truncates():
    a = _rgb(4, 4)
    out = F.adjust_hue(a, 0.25).astype(int)
    ref = _colorsys_hue(a / 255.0, 0.25) * 255
    # truncation of a float32 computation: at most 1 below the exact value, never above
    assert (out <= ref + 1e-3).all() and (out >= ref - 1 - 1e-3).all()
    assert (out < np.round(ref) - 0.5).any()               # it does not round


def test_color_errors():
    a = _rgb()
    with pytest.raises(ValueError, match=r"brightness_factor \(-1\) is not non-negative"):
        F.adjust_brightness(a, -1)
    with pytest.raises(ValueError, match=r"hue_factor \(0.7\) is not in \[-0.5, 0.5\]"):
        F.adjust_hue(a, 0.7)
    with pytest.raises(TypeError, match=r"permitted channel values are \[1, 3\], but found 2"):
        F.adjust_contrast(np.zeros((2, 2, 2), np.uint8), 0.5)
    with pytest.raises(ValueError, match="num_output_channels should be either 1 or 3"):
        F.rgb_to_grayscale(a, 2)


def test_color_jitter_ranges_and_errors():
    cj = T.ColorJitter(brightness=0.5, contrast=(0.2, 1.8), saturation=2, hue=0.1)
    assert cj.brightness == (0.5, 1.5) and cj.contrast == (0.2, 1.8)
    assert cj.saturation == (0.0, 3.0) and cj.hue == (-0.1, 0.1)
    assert T.ColorJitter().brightness is None and T.ColorJitter(hue=0).hue is None
    with pytest.raises(ValueError, match="if brightness is a single number, it must be non "
                                         "negative"):
        T.ColorJitter(brightness=-0.1)
    with pytest.raises(ValueError, match=r"hue values should be between \(-0.5, 0.5\)"):
        T.ColorJitter(hue=0.6)
    with pytest.raises(TypeError, match="contrast should be a single number or a list/tuple"):
        T.ColorJitter(contrast=[1, 2, 3])


def test_color_jitter_order_is_random_and_factors_in_range():
    ember.manual_seed(0)
    orders = set()
    for _ in range(200):
        order, b, c, s, h = T.ColorJitter.get_params((0.5, 1.5), None, (0.0, 2.0), (-0.1, 0.1))
        orders.add(tuple(order))
        assert sorted(order) == [0, 1, 2, 3] and c is None
        assert 0.5 <= b <= 1.5 and 0 <= s <= 2 and -0.1 <= h <= 0.1
    assert len(orders) == 24


def test_color_jitter_applies_the_drawn_adjustments_in_order():
    a = _rgb()
    cj = T.ColorJitter(0.4, 0.4, 0.4, 0.1)
    ember.manual_seed(5)
    order, *factors = cj.get_params(cj.brightness, cj.contrast, cj.saturation, cj.hue)
    ember.manual_seed(5)
    out = cj(a)
    fns = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
    ref = a
    for i in order:
        ref = fns[i](ref, factors[i])
    np.testing.assert_array_equal(out, ref)


def test_erase_matches_torch_assignment():
    x = RNG.random((2, 3, 6, 7)).astype(np.float32)
    out = F.erase(ember.from_numpy(x), 1, 2, 3, 4, 0.5)
    ref = torch.from_numpy(x.copy())
    ref[..., 1:4, 2:6] = 0.5
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    assert x[0, 0, 1, 2] != 0.5                      # not in place


def test_random_erasing_rules():
    img = ember.ones(3, 20, 30)
    ember.manual_seed(0)
    for _ in range(100):
        i, j, h, w, v = T.RandomErasing.get_params(img, (0.1, 0.3), (0.5, 2.0), [0.0])
        assert 0 <= i <= 20 - h and 0 <= j <= 30 - w and h < 20 and w < 30
        assert 0.1 - 0.06 <= h * w / 600 <= 0.3 + 0.06
        assert tuple(v.shape) == (1, 1, 1)
    i, j, h, w, v = T.RandomErasing.get_params(img, (2.0, 3.0), (1.0, 1.0))
    assert (i, j, h, w) == (0, 0, 20, 30) and v is img
    out = T.RandomErasing(p=1.0, value=(1.0, 2.0, 3.0))(ember.zeros(3, 20, 30)).numpy()
    erased = out.sum(axis=0) > 0
    assert erased.any() and (out[1][erased] == 2.0).all()
    noisy = T.RandomErasing(p=1.0, value="random")(ember.zeros(3, 20, 30)).numpy()
    assert noisy.std() > 0
    x = ember.zeros(3, 20, 30)
    assert T.RandomErasing(p=0.0)(x) is x
    assert T.RandomErasing(p=1.0, inplace=True)(x) is x


def test_random_erasing_errors():
    with pytest.raises(ValueError, match="if value is str, it should be 'random'"):
        T.RandomErasing(value="noise")
    with pytest.raises(ValueError, match="scale should be between 0 and 1"):
        T.RandomErasing(scale=(0.5, 1.5))
    with pytest.raises(ValueError, match="probability should be between 0 and 1"):
        T.RandomErasing(p=2)
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.RandomErasing(p=1.0)(np.zeros((3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="single value or 3 \\(number of input channels\\)"):
        T.RandomErasing(p=1.0, value=(1, 2))(ember.zeros(3, 8, 8))
