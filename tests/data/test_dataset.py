"""Datasets and random_split against torch.utils.data."""
import numpy as np
import pytest
import torch
import torch.utils.data as tud

import ember
from ember.data import ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, \
    Subset, TensorDataset, random_split

from .test_collate import assert_same


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i


class Count(IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def __len__(self):
        return self.stop - self.start


class TorchCount(tud.IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter(range(self.start, self.stop))


def test_base_classes_are_plain_and_raise():
    assert type(Dataset) is type and type(IterableDataset) is type
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="should implement __iter__"):
        iter(IterableDataset())


def test_datasets_can_be_subscripted_like_torch_generics():
    class Ints(Dataset[int]):
        def __getitem__(self, i):
            return i

    class Stream(IterableDataset[str]):
        def __iter__(self):
            return iter("ab")

    assert Ints()[3] == 3 and list(Stream()) == ["a", "b"]
    assert Ints.__mro__[1] is Dataset


def test_tensor_dataset_matches_torch():
    a, b = np.arange(12.0).reshape(4, 3), np.arange(4)
    ds = TensorDataset(ember.tensor(a), ember.tensor(b))
    tds = tud.TensorDataset(torch.tensor(a), torch.tensor(b))
    assert len(ds) == len(tds) == 4
    for i in (0, 3, -1):
        assert_same(list(ds[i]), list(tds[i]))
    assert_same(list(ds[1:3]), list(tds[1:3]))


def test_tensor_dataset_errors():
    with pytest.raises(AssertionError, match=r"Size mismatch between tensors.*\[4, 3\]"):
        TensorDataset(ember.zeros(4), ember.zeros(3))
    with pytest.raises(AssertionError):
        tud.TensorDataset(torch.zeros(4), torch.zeros(3))
    with pytest.raises(IndexError, match="tensor 1 is 0-d"):
        TensorDataset(ember.zeros(4), ember.tensor(1.0))
    with pytest.raises(IndexError, match="at least one tensor"):
        TensorDataset()


def test_concat_dataset_matches_torch():
    parts = [Squares(3), Squares(0), Squares(4)]
    ds, tds = ConcatDataset(parts), tud.ConcatDataset(parts)
    assert ds.cumulative_sizes == tds.cumulative_sizes
    assert len(ds) == len(tds) == 7
    assert [ds[i] for i in range(-7, 7)] == [tds[i] for i in range(-7, 7)]
    assert (Squares(2) + Squares(3))[4] == 4
    assert isinstance(Squares(2) + Squares(3), ConcatDataset)


def test_concat_dataset_errors():
    ds = ConcatDataset([Squares(2)])
    with pytest.raises(ValueError, match="absolute value of index should not exceed"):
        ds[-3]
    with pytest.raises(IndexError, match="index 2 is out of range.*length 2"):
        ds[2]
    with pytest.raises(AssertionError, match="should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        ConcatDataset([Count(0, 2)])


def test_chain_dataset_matches_torch():
    ds = Count(0, 3) + Count(10, 12)
    assert isinstance(ds, ChainDataset)
    assert list(ds) == list(tud.ChainDataset([TorchCount(0, 3), TorchCount(10, 12)]))
    assert list(ds) == list(ds)     # re-iterable
    assert len(ds) == 5
    with pytest.raises(AssertionError, match="only supports IterableDataset, got Squares"):
        list(ChainDataset([Count(0, 1), Squares(2)]))


def test_stack_dataset_matches_torch():
    a, b = Squares(3), [10, 11, 12]
    assert StackDataset(a, b)[2] == tud.StackDataset(a, b)[2] == (4, 12)
    assert StackDataset(x=a, y=b)[1] == tud.StackDataset(x=a, y=b)[1] == {"x": 1, "y": 11}
    assert StackDataset(a, b).__getitems__([0, 2]) == tud.StackDataset(a, b).__getitems__([0, 2])
    assert StackDataset(x=a, y=Subset(b, [2, 1, 0])).__getitems__([1]) == [{"x": 1, "y": 11}]
    assert len(StackDataset(x=a, y=b)) == 3
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset(a, [1])
    with pytest.raises(ValueError, match="but both types are given"):
        StackDataset(a, y=b)
    with pytest.raises(ValueError, match="At least one dataset"):
        StackDataset()


def test_subset_matches_torch():
    base = Squares(10)
    idx = [7, 2, 2, 9]
    ds, tds = Subset(base, idx), tud.Subset(base, idx)
    assert len(ds) == len(tds) == 4
    assert [ds[i] for i in range(-4, 4)] == [tds[i] for i in range(-4, 4)]
    assert ds.__getitems__([3, 0]) == tds.__getitems__([3, 0]) == [81, 49]
    t = TensorDataset(ember.arange(5))
    np.testing.assert_array_equal(Subset(t, [4, 1])[[0, 1]][0].numpy(), [4, 1])


def test_subset_subclass_must_override_getitems_too():
    class Bad(Subset):
        def __getitem__(self, idx):
            return 0

    with pytest.raises(NotImplementedError, match="Bad overrides __getitem__ but not "
                                                  "__getitems__"):
        Bad(Squares(3), [0])


@pytest.mark.parametrize("n,lengths", [
    (10, [3, 7]), (10, [0.3, 0.7]), (11, [0.5, 0.5]), (7, [0.1, 0.1, 0.8]), (30, [0.3, 0.3, 0.4]),
    (5, [5, 0]),
])
def test_random_split_sizes_match_torch_and_partition(n, lengths):
    g = ember.Generator().manual_seed(3)
    parts = random_split(range(n), lengths, generator=g)
    want = [len(p) for p in tud.random_split(range(n), lengths,
                                             generator=torch.Generator().manual_seed(3))]
    assert [len(p) for p in parts] == want
    assert sorted(i for p in parts for i in p.indices) == list(range(n))
    assert all(isinstance(p, Subset) for p in parts)


def test_random_split_is_reproducible():
    def split(seed):
        return [p.indices for p in random_split(range(20), [5, 15],
                                                generator=ember.Generator().manual_seed(seed))]

    assert split(1) == split(1)
    assert split(1) != split(2)
    ember.manual_seed(4)
    first = [p.indices for p in random_split(range(20), [10, 10])]
    ember.manual_seed(4)
    assert [p.indices for p in random_split(range(20), [10, 10])] == first


def test_random_split_errors_match_torch():
    for bad, msg in (([4, 5], "Sum of input lengths does not equal the length"),
                     ([-0.2, 1.2], "Fraction at index 0 is not between 0 and 1")):
        with pytest.raises(ValueError, match=msg):
            random_split(range(10), bad)
        with pytest.raises(ValueError, match=msg):
            tud.random_split(range(10), bad)
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(1), [0.5, 0.5])
