import os

import numpy as np
import pytest
from PIL import Image

import ember
from ember.data import DataLoader
from ember.data import transforms as T
from ember.data.datasets import IMG_EXTENSIONS, DatasetFolder, ImageFolder, find_classes, \
    make_dataset


def _save(path, array, fmt=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)
    return str(path)


@pytest.fixture
def photos(tmp_path):
    """root/dog/{b.png, sub/a.PNG, notes.txt}, root/cat/{z.bmp, grey.png}, root/file.png"""
    rng = np.random.default_rng(0)
    arrays = {name: rng.integers(0, 256, (4 + i, 6, 3), dtype=np.uint8)
              for i, name in enumerate(["dog/b.png", "dog/sub/a.PNG", "cat/z.bmp"])}
    for name, array in arrays.items():
        _save(tmp_path / name, array, "PNG" if name.lower().endswith(".png") else "BMP")
    arrays["cat/grey.png"] = rng.integers(0, 256, (3, 5), dtype=np.uint8)
    _save(tmp_path / "cat/grey.png", arrays["cat/grey.png"])
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    _save(tmp_path / "file.png", arrays["dog/b.png"])     # not in a class folder
    return tmp_path, arrays


def test_classes_samples_and_images_follow_torchvision(photos):
    root, arrays = photos
    ds = ImageFolder(str(root))
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    expected = [("cat/grey.png", 0), ("cat/z.bmp", 0), ("dog/b.png", 1), ("dog/sub/a.PNG", 1)]
    assert ds.samples == [(os.path.join(str(root), p), c) for p, c in expected]
    assert ds.imgs == ds.samples and ds.targets == [0, 0, 1, 1] and len(ds) == 4
    for i, (name, _) in enumerate(expected):
        image, target = ds[i]
        oracle = np.asarray(Image.open(root / name).convert("RGB"))
        assert image.dtype == np.uint8 and image.shape == oracle.shape and image.ndim == 3
        np.testing.assert_array_equal(image, oracle)
        assert target == expected[i][1]
    # a greyscale image comes back as three equal channels
    np.testing.assert_array_equal(ds[0][0], np.repeat(arrays["cat/grey.png"][..., None], 3, 2))
    assert ".webp" in IMG_EXTENSIONS and ".txt" not in IMG_EXTENSIONS


def test_transforms_custom_loader_and_a_dataloader(photos):
    root, arrays = photos
    ds = ImageFolder(root, transform=T.Compose([T.Resize((4, 4)), T.ToTensor()]),
                     target_transform=lambda y: y * 10,
                     loader=lambda p: np.asarray(Image.open(p).convert("L")))
    x, y = ds[3]
    assert x.shape == (1, 4, 4) and x.dtype == ember.float32 and y == 10
    xs, ys = next(iter(DataLoader(ds, batch_size=4)))
    assert xs.shape == (4, 1, 4, 4) and ys.tolist() == [0, 0, 10, 10]


def test_is_valid_file_replaces_the_extension_list(photos):
    root, _ = photos
    ds = ImageFolder(root, is_valid_file=lambda p: p.endswith((".txt", ".bmp")),
                     loader=lambda p: p)
    assert [os.path.basename(p) for p, _ in ds.samples] == ["z.bmp", "notes.txt"]
    with pytest.raises(ValueError, match="Both extensions and is_valid_file cannot be None "
                                         "or not None at the same time"):
        make_dataset(root, {"cat": 0}, extensions=(".png",), is_valid_file=bool)
    with pytest.raises(ValueError, match="Both extensions and is_valid_file"):
        make_dataset(root, {"cat": 0})


def test_dataset_folder_with_its_own_loader(photos):
    root, _ = photos
    ds = DatasetFolder(root, loader=lambda p: open(p).read(), extensions=".txt",
                       allow_empty=True)
    assert ds.classes == ["cat", "dog"] and ds[0] == ("not an image", 1)
    assert find_classes(root) == (["cat", "dog"], {"cat": 0, "dog": 1})
    assert "Number of datapoints: 1" in repr(ds)


def test_empty_classes_and_no_classes_raise_file_not_found(photos, tmp_path_factory):
    root, _ = photos
    (root / "emu").mkdir()
    (root / "emu" / "readme.md").write_text("x")
    with pytest.raises(FileNotFoundError, match=r"Found no valid file for the classes emu. "
                                                r"Supported extensions are: .jpg, .jpeg"):
        ImageFolder(root)
    ds = ImageFolder(root, allow_empty=True)
    assert ds.classes == ["cat", "dog", "emu"] and ds.targets == [0, 0, 1, 1]
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(FileNotFoundError, match=r"Couldn't find any class folder in"):
        ImageFolder(empty)


def test_a_corrupt_image_raises_an_error_naming_the_file(tmp_path):
    noise = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    good = _save(tmp_path / "a" / "good.png", noise)
    (tmp_path / "a" / "junk.jpg").write_bytes(b"not a jpeg at all")
    data = open(good, "rb").read()
    (tmp_path / "a" / "short.png").write_bytes(data[: len(data) // 2])
    ds = ImageFolder(tmp_path)
    assert [os.path.basename(p) for p, _ in ds.samples] == ["good.png", "junk.jpg",
                                                             "short.png"]
    assert ds[0][0].shape == (8, 8, 3)
    with pytest.raises(OSError, match=r"ImageFolder: cannot read the image .*junk.jpg'"):
        ds[1]
    with pytest.raises(OSError, match=r"ImageFolder: cannot read the image .*short.png'"):
        ds[2]
