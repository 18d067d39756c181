import numpy as np
import pytest
from sklearn.datasets import load_digits

from ember.data.datasets import Digits
from ember.data.datasets import _optional


def test_digits_are_sklearns_images_as_uint8_0_to_16():
    oracle = load_digits()
    ds = Digits()
    assert len(ds) == 1797 and ds.data.shape == (1797, 8, 8) and ds.data.dtype == np.uint8
    np.testing.assert_array_equal(ds.data.astype(np.float64), oracle.images)
    np.testing.assert_array_equal(ds.targets, oracle.target)
    assert ds.data.max() == 16 and ds.classes == [str(d) for d in range(10)]
    image, target = Digits(transform=lambda im: im.astype(np.float32) / 16,
                           target_transform=str)[100]
    np.testing.assert_allclose(image, oracle.images[100] / 16)
    assert target == str(oracle.target[100])


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    def no_module(name):
        raise ImportError(f"No module named {name!r}")
    monkeypatch.setattr(_optional.importlib, "import_module", no_module)
    with pytest.raises(ImportError, match=r"Digits needs the 'scikit-learn' package: pip "
                                          r"install scikit-learn or pip install "
                                          r"'ember\[datasets\]'"):
        Digits()
