"""DataLoader without workers, against torch.utils.data.DataLoader."""
import multiprocessing

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from hypothesis import given, strategies as st

import ember
import ember.utils.data
from ember.data import BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset, \
    RandomSampler, SequentialSampler, Subset, TensorDataset, default_collate

from .test_collate import assert_same


class Records(Dataset):
    """Structured samples: a dict holding an array, an int, a float and a string."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full((2,), i, np.float32), "y": i, "w": i / 2, "name": f"s{i}"}


class Stream(IterableDataset):
    def __init__(self, n, length=True):
        self.n, self.has_length = n, length

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        if not self.has_length:
            raise TypeError("Stream has no len()")
        return self.n


class TorchStream(tud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


def assert_loaders_agree(ours, theirs):
    got, want = list(ours), list(theirs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_same(g, w)


def test_ember_utils_data_is_ember_data():
    from ember.utils.data import DataLoader as D
    assert ember.utils.data is ember.data and D is DataLoader


@given(st.integers(0, 17), st.integers(1, 6), st.booleans())
def test_sequential_batches_match_torch(n, batch_size, drop_last):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    ours = DataLoader(TensorDataset(ember.tensor(x), ember.arange(n)), batch_size=batch_size,
                      drop_last=drop_last)
    theirs = tud.DataLoader(tud.TensorDataset(torch.tensor(x), torch.arange(n)),
                            batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert_loaders_agree(ours, theirs)


def test_structured_samples_collate_like_torch():
    assert_loaders_agree(DataLoader(Records(5), batch_size=2),
                         tud.DataLoader(Records(5), batch_size=2))


def test_concat_and_subset_datasets_match_torch():
    parts = [Records(3), Records(4)]
    assert_loaders_agree(DataLoader(ConcatDataset(parts), batch_size=3),
                         tud.DataLoader(tud.ConcatDataset(parts), batch_size=3))
    idx = [6, 0, 3, 3, 1]
    assert_loaders_agree(DataLoader(Subset(Records(7), idx), batch_size=2, drop_last=True),
                         tud.DataLoader(tud.Subset(Records(7), idx), batch_size=2,
                                        drop_last=True))


def test_batch_sampler_and_custom_sampler_match_torch():
    bs = [[3, 1], [0], [2, 4, 4]]
    assert_loaders_agree(DataLoader(Records(5), batch_sampler=bs),
                         tud.DataLoader(Records(5), batch_sampler=bs))
    order = [4, 2, 0]
    assert_loaders_agree(DataLoader(Records(5), sampler=order, batch_size=2),
                         tud.DataLoader(Records(5), sampler=order, batch_size=2))
    assert len(DataLoader(Records(5), batch_sampler=bs)) == 3


def test_batch_size_none_converts_single_samples_like_torch():
    ours = DataLoader(Records(3), batch_size=None)
    assert_loaders_agree(ours, tud.DataLoader(Records(3), batch_size=None))
    assert len(ours) == 3 and ours.collate_fn is ember.data.default_convert


def test_custom_collate_fn_and_getitems_are_used():
    class Batched(Records):
        def __getitems__(self, indices):
            return [{"i": i} for i in indices]

    out = list(DataLoader(Batched(5), batch_size=2, collate_fn=lambda b: [d["i"] for d in b]))
    assert out == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("n,batch_size,drop_last", [(7, 3, False), (7, 3, True), (6, 3, True),
                                                    (0, 2, False), (5, None, False)])
def test_iterable_dataset_matches_torch(n, batch_size, drop_last):
    ours = DataLoader(Stream(n), batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(TorchStream(n), batch_size=batch_size, drop_last=drop_last)
    assert_loaders_agree(ours, theirs)
    expected_len = n if batch_size is None else \
        n // batch_size if drop_last else -(-n // batch_size)
    assert len(ours) == expected_len


def test_len_of_a_stream_without_length_is_a_type_error():
    with pytest.raises(TypeError, match="no len"):
        len(DataLoader(Stream(3, length=False)))


def test_shuffle_gives_a_permutation_reproducible_under_seed_and_generator():
    ds = TensorDataset(ember.arange(20))

    def epoch(loader):
        return [i for (b,) in loader for i in b.tolist()]

    loader = DataLoader(ds, batch_size=6, shuffle=True)
    assert isinstance(loader.sampler, RandomSampler)
    ember.manual_seed(0)
    a, b = epoch(loader), epoch(loader)
    assert sorted(a) == list(range(20)) and a != b
    ember.manual_seed(0)
    assert (epoch(loader), epoch(loader)) == (a, b)
    g = ember.Generator().manual_seed(3)
    c = epoch(DataLoader(ds, batch_size=6, shuffle=True, generator=g))
    g.manual_seed(3)
    assert epoch(DataLoader(ds, batch_size=6, shuffle=True, generator=g)) == c


def test_default_samplers_match_torch_choice():
    loader = DataLoader(Records(4), batch_size=2)
    assert isinstance(loader.sampler, SequentialSampler)
    assert isinstance(loader.batch_sampler, BatchSampler)
    assert loader.collate_fn is default_collate
    assert DataLoader(Records(4), batch_sampler=[[0]]).batch_size is None


BAD_OPTIONS = [
    (dict(num_workers=-1), "num_workers option should be non-negative"),
    (dict(timeout=-1), "timeout option should be non-negative"),
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified in "
                              "multiprocessing"),
    (dict(num_workers=1, prefetch_factor=-1), "prefetch_factor option should be non-negative"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(sampler=[0], shuffle=True), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive "
                                              "with batch_size, shuffle, sampler, and drop_last"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], sampler=[0]), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching "
                                            "and is mutually exclusive with drop_last"),
    (dict(multiprocessing_context="fork"), "multiprocessing_context can only be used with "
                                           "multi-process loading"),
    (dict(num_workers=1, multiprocessing_context="nope"), "multiprocessing_context option "
                                                          "should specify a valid start method"),
]


@pytest.mark.parametrize("kwargs,msg", BAD_OPTIONS)
def test_option_errors_match_torch(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        DataLoader(Records(3), **kwargs)
    with pytest.raises(ValueError, match=msg.split(" multi-process")[0]):
        tud.DataLoader(Records(3), **kwargs)


def test_bad_context_type_is_a_type_error_like_torch():
    for loader in (DataLoader, tud.DataLoader):
        with pytest.raises(TypeError, match="should be a valid context object or a string"):
            loader(Records(3), num_workers=1, multiprocessing_context=3)
    ctx = multiprocessing.get_context("spawn")
    assert DataLoader(Records(3), num_workers=1, multiprocessing_context=ctx) \
        .multiprocessing_context is ctx


@pytest.mark.parametrize("name,value", [("shuffle", True), ("sampler", [0]),
                                        ("batch_sampler", [[0]])])
def test_iterable_dataset_refuses_sampling_options_like_torch(name, value):
    msg = f"DataLoader with IterableDataset: expected unspecified {name} option, but got " \
          f"{name}="
    with pytest.raises(ValueError, match=msg):
        DataLoader(Stream(3), **{name: value})
    with pytest.raises(ValueError, match=msg):
        tud.DataLoader(TorchStream(3), **{name: value})


@pytest.mark.parametrize("attr", ["batch_size", "batch_sampler", "sampler", "drop_last",
                                  "dataset", "persistent_workers"])
def test_sampling_attributes_are_frozen_like_torch(attr):
    msg = f"{attr} attribute should not be set after DataLoader is initialized"
    with pytest.raises(ValueError, match=msg):
        setattr(DataLoader(Records(3)), attr, None)
    with pytest.raises(ValueError, match=msg):
        setattr(tud.DataLoader(Records(3)), attr, None)
    loader = DataLoader(Records(3))
    loader.timeout = 3      # others may change
    assert loader.timeout == 3


def test_errors_in_the_dataset_reach_the_caller_unchanged_without_workers():
    class Broken(Records):
        def __getitem__(self, i):
            raise KeyError(f"missing {i}")

    with pytest.raises(KeyError, match="missing 0"):
        next(iter(DataLoader(Broken(3))))


def test_pin_memory_warns_it_has_no_effect_on_cpu():
    with pytest.warns(UserWarning, match="pin_memory"):
        loader = DataLoader(Records(2), pin_memory=True)
    assert len(list(loader)) == 2
