"""Samplers: deterministic ones against torch.utils.data, random ones by their properties."""
import numpy as np
import pytest
import torch.utils.data as tud
from hypothesis import given, strategies as st

import ember
from ember.data import BatchSampler, RandomSampler, Sampler, SequentialSampler, \
    SubsetRandomSampler, WeightedRandomSampler


def test_sequential_sampler_matches_torch():
    assert list(SequentialSampler(range(5))) == list(tud.SequentialSampler(range(5)))
    assert len(SequentialSampler(range(5))) == 5
    assert list(SequentialSampler([])) == []


@given(st.integers(0, 23), st.integers(1, 7), st.booleans())
def test_batch_sampler_matches_torch(n, batch_size, drop_last):
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)
    assert list(BatchSampler(range(n), batch_size, drop_last)) == list(theirs)


@pytest.mark.parametrize("bs,dl,msg", [
    (0, False, "batch_size should be a positive integer value, but got batch_size=0"),
    (True, False, "batch_size should be a positive integer value, but got batch_size=True"),
    (2.0, False, "batch_size should be a positive integer value, but got batch_size=2.0"),
    (2, 1, "drop_last should be a boolean value, but got drop_last=1"),
])
def test_batch_sampler_errors_match_torch(bs, dl, msg):
    with pytest.raises(ValueError, match=msg):
        BatchSampler(range(3), bs, dl)
    with pytest.raises(ValueError, match=msg):
        tud.BatchSampler(range(3), bs, dl)


@given(st.integers(1, 30))
def test_random_sampler_is_a_permutation(n):
    assert sorted(RandomSampler(range(n))) == list(range(n))
    assert len(RandomSampler(range(n))) == n


def test_random_sampler_num_samples_strings_permutations():
    out = list(RandomSampler(range(4), num_samples=10, generator=ember.Generator()))
    assert len(out) == 10
    assert sorted(out[:4]) == sorted(out[4:8]) == [0, 1, 2, 3]
    assert len(set(out[8:])) == 2


def test_random_sampler_with_replacement_draws_in_range_and_repeats():
    out = list(RandomSampler(range(3), replacement=True, num_samples=100,
                             generator=ember.Generator().manual_seed(0)))
    assert len(out) == 100 and set(out) == {0, 1, 2}


def test_random_sampler_is_reproducible_under_a_seed():
    def draw(replacement):
        return list(RandomSampler(range(50), replacement=replacement))

    for replacement in (False, True):
        ember.manual_seed(7)
        first, second = draw(replacement), draw(replacement)
        assert first != second          # a new order each epoch
        ember.manual_seed(7)
        assert (draw(replacement), draw(replacement)) == (first, second)
    g = ember.Generator().manual_seed(1)
    s = RandomSampler(range(50), generator=g)
    a = list(s)
    g.manual_seed(1)
    assert list(s) == a


@pytest.mark.parametrize("kwargs,err,msg", [
    (dict(replacement=1), TypeError, "replacement should be a boolean value, but got "
                                     "replacement=1"),
    (dict(num_samples=0), ValueError, "num_samples should be a positive integer value, but "
                                      "got num_samples=0"),
    (dict(num_samples=2.5), ValueError, "num_samples=2.5"),
])
def test_random_sampler_errors_match_torch(kwargs, err, msg):
    with pytest.raises(err, match=msg):
        RandomSampler(range(3), **kwargs)
    with pytest.raises(err, match=msg):
        tud.RandomSampler(range(3), **kwargs)


def test_random_sampler_on_an_empty_dataset_is_refused_like_torch():
    with pytest.raises(ValueError, match="num_samples=0"):
        RandomSampler([])
    with pytest.raises(ValueError, match="num_samples=0"):
        tud.RandomSampler([])


def test_subset_random_sampler():
    idx = [10, 20, 30, 40]
    out = list(SubsetRandomSampler(idx, generator=ember.Generator().manual_seed(0)))
    assert sorted(out) == idx and len(SubsetRandomSampler(idx)) == 4
    assert out == list(SubsetRandomSampler(idx, generator=ember.Generator().manual_seed(0)))


def test_weighted_random_sampler_frequencies_follow_weights():
    weights = [1.0, 2.0, 0.0, 7.0]
    n = 20000
    out = np.array(list(WeightedRandomSampler(weights, n,
                                              generator=ember.Generator().manual_seed(0))))
    freq = np.bincount(out, minlength=4) / n
    expected = np.array(weights) / sum(weights)
    # Each count is Binomial(n, p): 5 standard deviations is a loose, seed-stable bound.
    bound = 5 * np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(freq - expected) <= bound + 1e-12), (freq, expected)
    assert freq[2] == 0


def test_weighted_random_sampler_without_replacement_gives_distinct_indices():
    out = list(WeightedRandomSampler([1, 1, 1, 1, 5], 5, replacement=False,
                                     generator=ember.Generator().manual_seed(0)))
    assert sorted(out) == [0, 1, 2, 3, 4]
    assert len(WeightedRandomSampler([1, 2], 7)) == 7
    w = WeightedRandomSampler([1, 2], 7).weights
    assert isinstance(w, ember.Tensor) and w.dtype == ember.float64


def test_weighted_random_sampler_is_reproducible():
    ember.manual_seed(5)
    a = list(WeightedRandomSampler([0.2, 0.8], 30))
    ember.manual_seed(5)
    assert list(WeightedRandomSampler([0.2, 0.8], 30)) == a


@pytest.mark.parametrize("args,kwargs,msg", [
    (([1.0, 2.0], 0), {}, "num_samples should be a positive integer value, but got "
                          "num_samples=0"),
    (([1.0, 2.0], True), {}, "num_samples=True"),
    (([1.0, 2.0], 2), dict(replacement=0), "replacement should be a boolean value, but got "
                                           "replacement=0"),
    (([[1.0, 2.0]], 2), {}, r"weights should be a 1d sequence but given weights have shape "
                            r"\(1, 2\)"),
])
def test_weighted_random_sampler_argument_errors_match_torch(args, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        WeightedRandomSampler(*args, **kwargs)
    with pytest.raises(ValueError, match=msg):
        tud.WeightedRandomSampler(*args, **kwargs)


@pytest.mark.parametrize("weights,n,replacement,msg", [
    ([1.0, -1.0], 2, True, "element < 0"),
    ([1.0, float("nan")], 2, True, "inf, nan"),
    ([0.0, 0.0], 2, True, "sum of weights <= 0"),
    ([1.0, 0.0, 1.0], 4, False, "num_samples=4 without replacement from 3 weights"),
])
def test_weighted_random_sampler_bad_weights_raise_on_iteration_like_torch(
        weights, n, replacement, msg):
    with pytest.raises(RuntimeError, match=msg):
        list(WeightedRandomSampler(weights, n, replacement))
    with pytest.raises(RuntimeError):
        list(tud.WeightedRandomSampler(weights, n, replacement))


def test_sampler_base_class():
    class Evens(Sampler[int]):
        def __iter__(self):
            return iter([0, 2, 4])

    assert list(Evens()) == [0, 2, 4]
    with pytest.raises(NotImplementedError, match="Sampler must implement __iter__"):
        iter(Sampler())


def test_weighted_sampling_without_replacement_takes_zero_weights_last_like_torch():
    for seed in range(5):
        out = list(WeightedRandomSampler([1.0, 0.0, 3.0, 0.0], 4, replacement=False,
                                         generator=ember.Generator().manual_seed(seed)))
        assert sorted(out[:2]) == [0, 2] and sorted(out[2:]) == [1, 3]


def test_weighted_sampling_without_replacement_first_draw_follows_weights():
    g = ember.Generator().manual_seed(0)
    firsts = np.array([next(iter(WeightedRandomSampler([1.0, 3.0], 2, replacement=False,
                                                       generator=g))) for _ in range(4000)])
    # P(first == 1) = 3/4; the bound is 5 standard deviations.
    assert abs(np.mean(firsts == 1) - 0.75) <= 5 * np.sqrt(0.75 * 0.25 / 4000)
