"""The ``data`` and ``keras`` benchmark groups run on both sides and do the same work.

Nothing is timed here; the workloads are built on a few hundred images so they stay fast.
"""
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
# benchmarks/ sits next to ember/ but is not installed: make it importable under any runner
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ember  # noqa: E402
from benchmarks.data_loading import AugmentedImages, data_workloads, fashion_mnist  # noqa: E402
from benchmarks.keras_fit import keras_workloads  # noqa: E402
from benchmarks.workloads import select  # noqa: E402

FASHION_MEAN, FASHION_STD = 0.2860, 0.3530


def test_groups_are_registered():
    assert [w.name for w in select(["data"])] == [
        "data_w0", "data_w2", "data_w2_persistent", "data_w2_fork", "data_transforms_w0", "data_transforms_w2"]
    assert [w.name for w in select(["keras"])] == ["keras_fit_mlp", "keras_fit_cnn"]
    assert all("4096 Fashion-MNIST" in w.description for w in select(["data", "keras"]))


def test_fashion_mnist_subset_and_bad_size():
    images, labels = fashion_mnist(100)
    assert images.shape == (100, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (100,) and set(np.unique(labels)) <= set(range(10))
    with pytest.raises(ValueError, match="fashion_mnist: asked for 60001 images, the "
                                         "training set has 60000"):
        fashion_mnist(60001)


def test_augmentation_is_a_padded_crop_maybe_flipped_then_normalized():
    images, labels = fashion_mnist(8)
    ds = AugmentedImages(images, labels)
    padded = np.zeros((8, 32, 32), np.uint8)
    padded[:, 2:30, 2:30] = images
    seen = set()
    np.random.seed(0)
    for k in range(400):
        i = k % 8
        x, label = ds[i]
        assert x.shape == (1, 28, 28) and x.dtype == np.float32 and label == labels[i]
        pixels = np.rint((x[0] * FASHION_STD + FASHION_MEAN) * 255)
        matches = {(top, left, flip) for top in range(5) for left in range(5)
                   for flip in (False, True)
                   if np.array_equal(pixels, (lambda w: w[:, ::-1] if flip else w)(
                       padded[i, top:top + 28, left:left + 28]))}
        # these images have no two equal windows, so exactly one crop/flip matches
        assert len(matches) == 1, f"sample {k} is not one crop of padded image {i}"
        seen |= matches
    assert {(t, l_) for t, l_, _ in seen} == {(t, l_) for t in range(5) for l_ in range(5)}
    assert {f for _, _, f in seen} == {False, True}


@pytest.mark.parametrize("workload", data_workloads(192), ids=lambda w: w.name)
def test_data_step_visits_every_image_once_on_both_sides(workload):
    _, labels = fashion_mnist(192)
    sides = workload.build(ember, torch)
    for _ in range(2):      # a second epoch starts the workers again (or reuses them)
        assert sides.ember() == sides.torch() == (192, int(labels.sum()))


def test_transforms_variant_yields_ember_tensors_like_the_numpy_dataset():
    from ember.data import transforms as T
    images, labels = fashion_mnist(4)
    t = T.Compose([T.ToTensor(), T.RandomCrop(28, padding=2), T.RandomHorizontalFlip(),
                   T.Normalize((FASHION_MEAN,), (FASHION_STD,))])
    x = t(images[0])
    assert isinstance(x, ember.Tensor) and tuple(x.shape) == (1, 28, 28)
    padded = np.pad(images[0], 2)
    pixels = np.rint((x.numpy()[0] * FASHION_STD + FASHION_MEAN) * 255)
    assert any(np.array_equal(pixels, w) or np.array_equal(pixels, w[:, ::-1])
               for w in (padded[a:a + 28, b:b + 28] for a in range(5) for b in range(5)))


@pytest.mark.parametrize("workload", keras_workloads(256), ids=lambda w: w.name)
def test_keras_fit_epoch_matches_the_torch_loop(workload):
    """Same initial weights, same batches, same Adam: the epochs' mean losses agree, and
    they fall from one epoch to the next."""
    sides = workload.build(ember, torch)
    got = [sides.ember() for _ in range(3)]
    want = [sides.torch() for _ in range(3)]
    # float32 sums in another order (im2col + BLAS vs oneDNN) drift apart a little per step
    np.testing.assert_allclose(got, want, rtol=5e-3, err_msg=workload.name)
    assert got[0] > got[1] > got[2] and want[0] > want[1] > want[2]
    assert 1.0 < want[0] < 2.5         # near ln(10) at the start: a real 10-class problem
