"""ToTensor / PILToTensor / ToPILImage / Normalize, Compose and Lambda, the input kinds,
and reproducibility through ember.manual_seed. Oracles: torch (normalize, layout), PIL
(pixel values of its images), NumPy formulas."""
import numpy as np
import pytest
import torch
from PIL import Image

import ember
from ember.data import transforms as T
from ember.data.transforms import functional as F

RNG = np.random.default_rng(0)


def test_to_tensor_uint8_hwc_matches_torch_layout_and_scale():
    a = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    out = T.ToTensor()(a)
    ref = torch.from_numpy(a).permute(2, 0, 1).float().div(255)
    assert out.dtype == ember.float32 and tuple(out.shape) == (3, 5, 7)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_to_tensor_gray_and_pil_and_other_dtypes():
    g = RNG.integers(0, 256, (4, 6), dtype=np.uint8)
    assert tuple(T.ToTensor()(g).shape) == (1, 4, 6)
    np.testing.assert_array_equal(T.ToTensor()(Image.fromarray(g)).numpy()[0],
                                  g.astype(np.float32) / 255)
    f = RNG.random((4, 6, 2)).astype(np.float64)       # non-uint8 keeps values and dtype
    out = F.to_tensor(f)
    assert out.dtype == ember.float64
    np.testing.assert_array_equal(out.numpy(), f.transpose(2, 0, 1))
    bw = Image.fromarray(g > 128)                       # mode '1' counts as 0 / 255
    np.testing.assert_array_equal(F.to_tensor(bw).numpy()[0], (g > 128).astype(np.float32))


def test_to_tensor_bad_input():
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.ToTensor()([[1, 2]])
    with pytest.raises(ValueError, match="2/3 dimensional. Got 4"):
        T.ToTensor()(np.zeros((1, 2, 2, 3), np.uint8))


def test_pil_to_tensor_and_back():
    a = RNG.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    t = T.PILToTensor()(Image.fromarray(a))
    assert t.dtype == ember.uint8
    np.testing.assert_array_equal(t.numpy(), a.transpose(2, 0, 1))
    back = T.ToPILImage()(t)
    assert back.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(back), a)
    with pytest.raises(TypeError, match="pic should be PIL Image"):
        T.PILToTensor()(a)


def test_to_pil_image_scales_floats_by_255_and_truncates():
    x = np.array([[[0.0, 0.5], [0.999, 1.0]]], np.float32)
    img = F.to_pil_image(ember.from_numpy(x))
    assert img.mode == "L"
    np.testing.assert_array_equal(np.asarray(img), (x[0] * 255).astype(np.uint8))
    assert F.to_pil_image(ember.from_numpy(x), mode="F").mode == "F"
    with pytest.raises(ValueError, match="should not have > 4 channels. Got 5"):
        F.to_pil_image(ember.zeros(5, 2, 2))
    with pytest.raises(ValueError, match=r"incorrect mode \(RGB\)"):
        F.to_pil_image(np.zeros((2, 2), np.uint8), mode="RGB")
    with pytest.raises(TypeError, match="pic should be Tensor or ndarray"):
        F.to_pil_image([1])


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 5), (1, 4, 5)])
def test_normalize_matches_torch(shape):
    x = RNG.random(shape).astype(np.float32)
    c = shape[-3]
    mean, std = RNG.random(c).tolist(), (RNG.random(c) + 0.5).tolist()
    out = T.Normalize(mean, std)(ember.from_numpy(x.copy()))
    ref = (torch.from_numpy(x) - torch.tensor(mean).view(-1, 1, 1)) / \
        torch.tensor(std).view(-1, 1, 1)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6, atol=1e-7)


def test_normalize_inplace_and_gradient():
    x = ember.ones(3, 2, 2)
    y = F.normalize(x, [0.5] * 3, [0.25] * 3, inplace=True)
    assert y is x and float(x.sum()) == 24.0
    z = ember.ones(3, 2, 2, requires_grad=True)
    F.normalize(z, [0.5] * 3, [0.25] * 3).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), np.full((3, 2, 2), 4.0, np.float32))


def test_normalize_bad_input():
    with pytest.raises(TypeError, match="should be a float tensor. Got"):
        F.normalize(ember.zeros(3, 2, 2, dtype=ember.uint8), [0.0], [1.0])
    with pytest.raises(ValueError,
                       match=r"size \(\.\.\., C, H, W\). Got tensor.size\(\) = \(2, 2\)"):
        F.normalize(ember.zeros(2, 2), [0.0], [1.0])
    with pytest.raises(ValueError, match="std evaluated to zero"):
        F.normalize(ember.zeros(3, 2, 2), [0.0] * 3, [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="mean should have 1 or 3"):
        F.normalize(ember.zeros(3, 2, 2), [0.0, 0.0], [1.0])
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.Normalize([0.0], [1.0])(np.zeros((1, 2, 2), np.float32))


def test_compose_and_lambda():
    t = T.Compose([T.Lambda(lambda x: x + 1), T.Lambda(lambda x: x * 10)])
    assert t(1) == 20
    assert repr(t) == "Compose(\n    Lambda()\n    Lambda()\n)"
    with pytest.raises(TypeError, match="Argument lambd should be callable"):
        T.Lambda(3)
    with pytest.raises(TypeError, match="transform 1 is not callable"):
        T.Compose([T.ToTensor(), 3])


def test_output_kind_follows_input_kind():
    a = RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    for f in (F.hflip, F.vflip, lambda x: F.center_crop(x, 4), lambda x: F.pad(x, 1),
              lambda x: F.resize(x, 3), lambda x: F.rotate(x, 30),
              lambda x: F.adjust_brightness(x, 1.3)):
        assert isinstance(f(a), np.ndarray)
        assert isinstance(f(Image.fromarray(a)), Image.Image)
        t = f(ember.from_numpy(a.transpose(2, 0, 1).copy()))
        assert isinstance(t, ember.Tensor) and t.dtype == ember.uint8
        np.testing.assert_array_equal(t.numpy().transpose(1, 2, 0), f(a))


def test_batched_tensor_equals_per_image():
    x = RNG.random((2, 3, 3, 6, 7)).astype(np.float32)
    out = F.resize(ember.from_numpy(x), [4, 5]).numpy()
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(out[i, j],
                                       F.resize(ember.from_numpy(x[i, j]), [4, 5]).numpy(),
                                       rtol=1e-6)


def test_bad_kinds():
    with pytest.raises(TypeError, match="hflip: img should be a PIL Image, a NumPy array or an "
                                        "ember Tensor. Got list"):
        F.hflip([[1]])
    with pytest.raises(ValueError, match=r"crop: expected an \(H, W\) or \(H, W, C\) array, got "
                                         r"shape \(1, 2, 3, 4\)"):
        F.crop(np.zeros((1, 2, 3, 4)), 0, 0, 1, 1)
    with pytest.raises(TypeError, match="shape \\(5,\\)"):
        F.vflip(ember.zeros(5))
    with pytest.raises(RuntimeError, match="requires grad; pass tensor.detach"):
        F.hflip(ember.zeros(1, 2, 2, requires_grad=True))
    with pytest.raises(TypeError, match="mode 'P' are not supported"):
        F.hflip(Image.new("P", (2, 2)))


def test_manual_seed_makes_a_pipeline_reproducible():
    t = T.Compose([T.RandomResizedCrop(12), T.RandomHorizontalFlip(), T.RandomRotation(20),
                   T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.ToTensor(), T.RandomErasing(p=0.9)])
    a = RNG.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    ember.manual_seed(7)
    first = [t(a).numpy() for _ in range(5)]
    ember.manual_seed(7)
    second = [t(a).numpy() for _ in range(5)]
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(first[0], x) for x in first[1:])


def test_reprs():
    assert repr(T.RandomCrop(28, padding=2)) == "RandomCrop(size=(28, 28), padding=2)"
    assert repr(T.Normalize((0.5,), (0.2,))) == "Normalize(mean=(0.5,), std=(0.2,))"
    assert repr(T.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    assert repr(T.ToTensor()) == "ToTensor()"
