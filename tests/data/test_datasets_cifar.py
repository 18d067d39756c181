import os

import numpy as np
import pytest
import torch

from ember.data.datasets import CIFAR10

NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
         "truck"]


def _records(count, seed):
    rng = np.random.default_rng(seed)
    records = rng.integers(0, 256, (count, 3073), dtype=np.uint8)
    records[:, 0] = rng.integers(0, 10, count)
    return records


def _fake_cifar(root, counts=(3, 2, 1, 2, 4), test=3):
    """cifar-10-batches-bin in ``root`` in the real format, with few records per batch."""
    folder = os.path.join(root, "cifar-10-batches-bin")
    os.makedirs(folder)
    with open(os.path.join(folder, "batches.meta.txt"), "w") as f:
        f.write("\n".join(NAMES) + "\n\n")
    files = {f"data_batch_{i + 1}.bin": _records(n, i) for i, n in enumerate(counts)}
    files["test_batch.bin"] = _records(test, 99)
    for name, records in files.items():
        records.tofile(os.path.join(folder, name))
    return folder, files


def _expected_hwc(records):
    """torch as the oracle of the plane layout: (N, 3, 32, 32) CHW -> (N, 32, 32, 3)."""
    return torch.from_numpy(records[:, 1:].copy()).reshape(-1, 3, 32, 32).permute(0, 2, 3, 1)


def test_binary_batches_become_hwc_uint8_like_torchvision(tmp_path):
    folder, files = _fake_cifar(tmp_path)
    train = CIFAR10(str(tmp_path))
    records = np.concatenate([files[f"data_batch_{i}.bin"] for i in range(1, 6)])
    assert train.data.shape == (12, 32, 32, 3) and train.data.dtype == np.uint8
    np.testing.assert_array_equal(train.data, _expected_hwc(records).numpy())
    np.testing.assert_array_equal(train.targets, records[:, 0])
    assert train.classes == NAMES and train.class_to_idx["truck"] == 9
    test = CIFAR10(folder, train=False)         # the folder itself works as root too
    image, target = test[2]
    np.testing.assert_array_equal(image, _expected_hwc(files["test_batch.bin"])[2].numpy())
    assert target == int(files["test_batch.bin"][2, 0]) and type(target) is int
    # pixel (h=1, w=2) of the red/green/blue planes, read straight off the record
    record = files["test_batch.bin"][2]
    assert image[1, 2].tolist() == [record[1 + c * 1024 + 1 * 32 + 2] for c in range(3)]
    assert "Split: Test" in repr(test)


def test_the_pickled_python_version_is_refused(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    for root in (tmp_path, tmp_path / "cifar-10-batches-py"):
        with pytest.raises(ValueError, match=r"python version of CIFAR-10 .* pickles; Ember "
                           r"never unpickles .* cifar-10-binary.tar.gz"):
            CIFAR10(root)


def test_missing_folder_or_batch_says_what_to_get(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no cifar-10-batches-bin/batches.meta.txt "
                                                r"in .*cifar-10-binary.tar.gz"):
        CIFAR10(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"CIFAR10\(download=True\) cannot download"):
        CIFAR10(tmp_path, download=True)
    folder, _ = _fake_cifar(tmp_path)
    os.remove(os.path.join(folder, "data_batch_4.bin"))
    with pytest.raises(FileNotFoundError, match=r"batch file .*data_batch_4.bin' is missing"):
        CIFAR10(tmp_path)


def test_record_size_mismatch_and_bad_labels_are_refused(tmp_path):
    folder, files = _fake_cifar(tmp_path)
    path = os.path.join(folder, "test_batch.bin")
    with open(path, "ab") as f:
        f.write(b"\x00" * 5)
    with pytest.raises(ValueError, match=r"test_batch.bin' has 9224 bytes, not a positive "
                                         r"multiple of the 3073-byte record"):
        CIFAR10(tmp_path, train=False)
    records = files["test_batch.bin"]
    records[1, 0] = 12
    records.tofile(path)
    with pytest.raises(ValueError, match=r"record 1 has label 12, expected 0..9"):
        CIFAR10(tmp_path, train=False)
    open(path, "wb").close()
    with pytest.raises(ValueError, match=r"has 0 bytes"):
        CIFAR10(tmp_path, train=False)


def test_class_names_file_must_list_ten_ascii_names(tmp_path):
    folder, _ = _fake_cifar(tmp_path)
    meta = os.path.join(folder, "batches.meta.txt")
    with open(meta, "w") as f:
        f.write("cat\ndog\n")
    with pytest.raises(ValueError, match=r"lists 2 class names, expected 10"):
        CIFAR10(tmp_path)
    with open(meta, "wb") as f:
        f.write(b"\xff\xfe" * 20)
    with pytest.raises(ValueError, match=r"batches.meta.txt' is not the ASCII list"):
        CIFAR10(tmp_path)
