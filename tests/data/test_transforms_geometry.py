"""Geometric transforms against oracles: PIL (resize, rotate, flips, crops of PIL
images), torch (interpolate, flip, grid_sample for tensor rotation), numpy.pad (padding
modes), and torchvision's documented sampling rules (RandomCrop, RandomResizedCrop).

Tolerances: PIL resizes uint8 images in fixed point, rounding after each pass; Ember
rounds after each pass too, so a one-axis resize is exact and a two-axis one is within 1
(Pillow >= 13 runs the vertical pass first when the height shrinks much more than the
width). PIL truncates bilinear rotation results; a rare pixel differs by 1 through float
rounding of the sample position. Float tensors match torch to 1e-4 (float32 weights).
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from PIL import Image, ImageOps

import ember
from ember.data import transforms as T
from ember.data.transforms import functional as F

RNG = np.random.default_rng(1)
IM = T.InterpolationMode


def _img(h, w, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def _pil_resize(a, oh, ow, resample):
    return np.asarray(Image.fromarray(a).resize((ow, oh), resample))


sizes = st.tuples(st.integers(2, 40), st.integers(2, 40), st.integers(1, 50),
                  st.integers(1, 50))


@settings(max_examples=30, deadline=None)
@given(sizes)
def test_resize_uint8_matches_pil(s):
    h, w, oh, ow = s
    a = _img(h, w, seed=h * w)
    np.testing.assert_array_equal(F.resize(a, [oh, ow], IM.NEAREST),
                                  _pil_resize(a, oh, ow, Image.NEAREST))
    np.testing.assert_array_equal(F.resize(a, [h, ow]), _pil_resize(a, h, ow, Image.BILINEAR))
    np.testing.assert_array_equal(F.resize(a, [oh, w]), _pil_resize(a, oh, w, Image.BILINEAR))
    diff = F.resize(a, [oh, ow]).astype(int) - _pil_resize(a, oh, ow, Image.BILINEAR)
    assert np.abs(diff).max() <= 1


def test_resize_pil_input_returns_pil_with_pil_values():
    a = _img(17, 23)
    out = F.resize(Image.fromarray(a), [9, 30])
    assert isinstance(out, Image.Image) and out.size == (30, 9)
    assert np.abs(np.asarray(out).astype(int) - _pil_resize(a, 9, 30, Image.BILINEAR)).max() <= 1
    with pytest.warns(UserWarning, match="antialias=False is ignored"):
        F.resize(Image.fromarray(a), [9, 30], antialias=False)


@settings(max_examples=30, deadline=None)
@given(sizes, st.booleans())
def test_resize_float_tensor_matches_torch_interpolate(s, antialias):
    h, w, oh, ow = s
    x = RNG.random((2, 3, h, w)).astype(np.float32)
    ref = torch.nn.functional.interpolate(torch.from_numpy(x), size=(oh, ow), mode="bilinear",
                                          align_corners=False, antialias=antialias)
    out = F.resize(ember.from_numpy(x), [oh, ow], antialias=antialias)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-4)
    for mode in ("nearest", "nearest-exact"):
        ref = torch.nn.functional.interpolate(torch.from_numpy(x), size=(oh, ow), mode=mode)
        np.testing.assert_array_equal(F.resize(ember.from_numpy(x), [oh, ow], mode).numpy(),
                                      ref.numpy())


def test_resize_uint8_tensor_without_antialias_rounds_torch_result():
    a = _img(13, 17).transpose(2, 0, 1).copy()
    ref = torch.nn.functional.interpolate(torch.from_numpy(a)[None].float(), size=(7, 29),
                                          mode="bilinear", align_corners=False)[0]
    out = F.resize(ember.from_numpy(a), [7, 29], antialias=False)
    assert out.dtype == ember.uint8
    np.testing.assert_array_equal(out.numpy(), ref.round().clamp(0, 255).byte().numpy())


@pytest.mark.parametrize("hw,size,max_size,expected", [
    ((20, 40), 10, None, (10, 20)), ((40, 20), 10, None, (20, 10)),
    ((30, 45), [15], None, (15, 22)), ((20, 40), 10, 15, (7, 15)),
    ((20, 40), [5, 9], None, (5, 9)), ((25, 25), 10, None, (10, 10))])
def test_resize_output_size_rule(hw, size, max_size, expected):
    assert F.resize(np.zeros(hw, np.uint8), size, max_size=max_size).shape == expected


def test_resize_errors():
    a = np.zeros((4, 4), np.uint8)
    with pytest.raises(ValueError, match="max_size = 10 must be strictly greater"):
        F.resize(a, 10, max_size=10)
    with pytest.raises(ValueError, match="not a 3 element tuple/list"):
        F.resize(a, [1, 2, 3])
    with pytest.raises(ValueError, match="max_size should only be passed"):
        F.resize(a, [2, 2], max_size=5)
    with pytest.raises(TypeError, match="argument interpolation should be an InterpolationMode"):
        T.Resize(3, interpolation="cubic")
    with pytest.raises(TypeError, match="size should be int or sequence"):
        T.Resize(2.5)
    with pytest.raises(ValueError, match="should have 1 or 2 values"):
        T.Resize([1, 2, 3])


@pytest.mark.parametrize("mode,np_mode", [("edge", "edge"), ("reflect", "reflect"),
                                          ("symmetric", "symmetric"), ("constant", "constant")])
@pytest.mark.parametrize("padding", [2, [1, 3], [0, 1, 4, 2], [7, 9]])
def test_pad_matches_numpy_pad(mode, np_mode, padding):
    a = _img(4, 5)
    l, t, r, b = F._parse_padding(padding)
    kw = {"constant_values": 9} if mode == "constant" else {}
    ref = np.pad(a, ((t, b), (l, r), (0, 0)), mode=np_mode, **kw)
    np.testing.assert_array_equal(F.pad(a, padding, fill=9, padding_mode=mode), ref)
    if max(l, t, r, b) < 4 and mode != "constant":    # tensors pad the same way
        x = ember.from_numpy(a.transpose(2, 0, 1).copy())
        np.testing.assert_array_equal(F.pad(x, padding, padding_mode=mode).numpy(),
                                      ref.transpose(2, 0, 1))


def test_pad_fill_per_channel_negative_padding_and_errors():
    a = _img(4, 5)
    out = F.pad(a, 1, fill=(1, 2, 3))
    np.testing.assert_array_equal(out[0, 0], [1, 2, 3])
    np.testing.assert_array_equal(F.pad(a, [-1, 0, 0, -2]), a[:2, 1:])
    with pytest.raises(ValueError, match="1, 2, or 4 element tuple, not a 3 element"):
        F.pad(a, [1, 2, 3])
    with pytest.raises(TypeError, match="inappropriate padding arg"):
        F.pad(a, 1.5)
    with pytest.raises(ValueError, match="padding mode should be either constant, edge"):
        F.pad(a, 1, padding_mode="wrap")
    with pytest.raises(ValueError, match=r"'fill' \(2\) does not match the number of channels"):
        F.pad(a, 1, fill=(1, 2))


def test_crop_and_center_crop_match_pil():
    a = _img(9, 12)
    pil = Image.fromarray(a)
    np.testing.assert_array_equal(F.crop(a, 2, 3, 4, 5), np.asarray(pil.crop((3, 2, 8, 6))))
    np.testing.assert_array_equal(F.crop(a, -2, 10, 5, 4),       # outside: zeros, like PIL
                                  np.asarray(pil.crop((10, -2, 14, 3))))
    for size, (top, left, h, w) in ((5, (2, 4, 5, 5)), ((4, 7), (2, 2, 4, 7)),
                                    ([9], (0, 2, 9, 9))):
        np.testing.assert_array_equal(T.CenterCrop(size)(a),
                                      np.asarray(pil.crop((left, top, left + w, top + h))))
    big = T.CenterCrop((13, 15))(a)                  # padded: (13-9)//2 = 2 on top, 1 left
    np.testing.assert_array_equal(big[2:11, 1:13], a)
    assert big[:2].max() == 0 and big[:, :1].max() == 0


def test_flips_match_pil_and_torch():
    a = _img(5, 6)
    np.testing.assert_array_equal(F.hflip(a), np.asarray(ImageOps.mirror(Image.fromarray(a))))
    np.testing.assert_array_equal(F.vflip(a), np.asarray(ImageOps.flip(Image.fromarray(a))))
    x = RNG.random((2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(F.hflip(ember.from_numpy(x)).numpy(),
                                  torch.flip(torch.from_numpy(x), [-1]).numpy())
    np.testing.assert_array_equal(F.vflip(ember.from_numpy(x)).numpy(),
                                  torch.flip(torch.from_numpy(x), [-2]).numpy())


def test_random_flips_follow_p():
    a = _img(3, 4)
    assert T.RandomHorizontalFlip(p=0.0)(a) is a
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(a), a[::-1])
    ember.manual_seed(0)
    flips = sum(not np.array_equal(T.RandomHorizontalFlip(0.3)(a), a) for _ in range(2000))
    assert 520 < flips < 680                         # 600 expected, sd ~20
    with pytest.raises(ValueError, match="p should be a probability"):
        T.RandomHorizontalFlip(1.5)


@pytest.mark.parametrize("angle", [0, 17.3, -41.0, 90, 135.5, 270])
@pytest.mark.parametrize("expand", [False, True])
def test_rotate_matches_pil(angle, expand):
    a = _img(23, 31)
    for mode, pm in (("nearest", Image.NEAREST), ("bilinear", Image.BILINEAR)):
        ref = np.asarray(Image.fromarray(a).rotate(angle, pm, expand=expand,
                                                   fillcolor=(7, 8, 9)))
        out = F.rotate(a, angle, mode, expand=expand, fill=[7, 8, 9])
        assert out.shape == ref.shape
        diff = np.abs(out.astype(int) - ref)
        assert diff.max() <= (0 if mode == "nearest" else 1)
        assert (diff > 0).mean() < 0.002


def test_rotate_center_matches_pil():
    a = _img(12, 16)
    ref = np.asarray(Image.fromarray(a).rotate(33, Image.NEAREST, center=(3, 4)))
    np.testing.assert_array_equal(F.rotate(a, 33, center=[3, 4]), ref)


def _torchvision_rotate(x, angle, mode, fill):
    """torchvision's tensor rotation written with torch ops: inverse rotation of the
    pixel-centre grid, grid_sample with zero padding, blend with fill through a mask."""
    n, c, h, w = x.shape
    r = math.radians(angle)
    ys = torch.arange(h, dtype=torch.float64) + 0.5 - h / 2
    xs = torch.arange(w, dtype=torch.float64) + 0.5 - w / 2
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    sx = math.cos(r) * gx - math.sin(r) * gy
    sy = math.sin(r) * gx + math.cos(r) * gy
    grid = torch.stack([sx / (w / 2), sy / (h / 2)], -1)[None].expand(n, h, w, 2)
    xm = torch.cat([x.double(), torch.ones(n, 1, h, w, dtype=torch.float64)], 1)
    out = torch.nn.functional.grid_sample(xm, grid, mode=mode, padding_mode="zeros",
                                          align_corners=False)
    mask, out = out[:, -1:].expand(n, c, h, w), out[:, :-1]
    f = torch.tensor(fill, dtype=torch.float64).view(1, -1, 1, 1).expand_as(out)
    if mode == "nearest":
        return torch.where(mask < 0.5, f, out)
    return out * mask + (1 - mask) * f


@pytest.mark.parametrize("angle", [17.3, -41.0, 135.5])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_rotate_float_tensor_matches_torchvision_algorithm(angle, mode):
    x = RNG.random((2, 3, 11, 14)).astype(np.float32)
    ref = _torchvision_rotate(torch.from_numpy(x), angle, mode, [0.1, 0.2, 0.3])
    out = F.rotate(ember.from_numpy(x), angle, mode, fill=[0.1, 0.2, 0.3])
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-5)


def test_random_rotation_params_and_errors():
    ember.manual_seed(0)
    angles = [T.RandomRotation.get_params((-10.0, 30.0)) for _ in range(500)]
    assert min(angles) >= -10 and max(angles) <= 30 and np.std(angles) > 10
    assert T.RandomRotation(5).degrees == (-5.0, 5.0)
    with pytest.raises(ValueError, match="it must be positive"):
        T.RandomRotation(-3)
    with pytest.raises(ValueError, match="it must be of len 2"):
        T.RandomRotation([1, 2, 3])
    with pytest.raises(ValueError, match="center should be a sequence of length 2"):
        T.RandomRotation(3, center=[1])
    with pytest.raises(ValueError, match="NEAREST or BILINEAR"):
        F.rotate(np.zeros((2, 2)), 3, IM.NEAREST_EXACT)


def test_random_crop_draws_every_offset_uniformly():
    a = np.arange(36, dtype=np.uint8).reshape(6, 6)
    ember.manual_seed(3)
    corners = [int(T.RandomCrop(4)(a)[0, 0]) for _ in range(900)]
    counts = np.bincount(corners, minlength=15)[[0, 1, 2, 6, 7, 8, 12, 13, 14]]
    assert counts.sum() == 900 and counts.min() > 60       # 100 expected each


def test_random_crop_padding_and_pad_if_needed():
    a = _img(28, 28, 1)[..., 0]
    ember.manual_seed(0)
    outs = [T.RandomCrop(28, padding=2)(a) for _ in range(50)]
    assert all(o.shape == (28, 28) for o in outs)
    padded = np.pad(a, 2)
    assert all(any(np.array_equal(o, padded[i:i + 28, j:j + 28]) for i in range(5)
                   for j in range(5)) for o in outs)
    out = T.RandomCrop((6, 9), pad_if_needed=True, padding_mode="edge")(_img(4, 5))
    assert out.shape == (6, 9, 3)
    with pytest.raises(ValueError, match=r"required crop size \(5, 5\) is larger than input "
                                         r"image size \(4, 6\)"):
        T.RandomCrop(5)(np.zeros((4, 6)))
    with pytest.raises(ValueError, match="only two dimensions"):
        T.RandomCrop([1, 2, 3])


def test_random_resized_crop_sampling_rules():
    img = np.zeros((40, 60, 3), np.uint8)
    ember.manual_seed(1)
    for _ in range(300):
        i, j, h, w = T.RandomResizedCrop.get_params(img, (0.2, 0.6), (0.5, 2.0))
        assert 0 <= i <= 40 - h and 0 <= j <= 60 - w
        area = h * w / 2400
        assert 0.2 - 0.05 <= area <= 0.6 + 0.05          # rounding of h and w
        assert 0.5 - 0.15 <= w / h <= 2.0 + 0.3
    # impossible areas fall back to the central crop with the ratio clamped
    assert T.RandomResizedCrop.get_params(img, (5.0, 6.0), (0.5, 1.0)) == (0, 10, 40, 40)
    assert T.RandomResizedCrop.get_params(img, (5.0, 6.0), (2.0, 3.0)) == (5, 0, 30, 60)
    assert T.RandomResizedCrop.get_params(img, (5.0, 6.0), (1.0, 2.0)) == (0, 0, 40, 60)
    assert T.RandomResizedCrop(8)(img).shape == (8, 8, 3)
    with pytest.warns(UserWarning, match="should be of kind"):
        T.RandomResizedCrop(8, scale=(0.9, 0.1))
    with pytest.raises(TypeError, match="scale should be a sequence"):
        T.RandomResizedCrop(8, scale=0.5)


def test_resized_crop_is_crop_then_resize():
    a = _img(20, 30)
    np.testing.assert_array_equal(F.resized_crop(a, 3, 4, 10, 12, [5, 7]),
                                  F.resize(a[3:13, 4:16], [5, 7]))
