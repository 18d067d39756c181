"""``shuffle``: tf.data's buffer semantics (docs of tf.data.Dataset.shuffle): the buffer
holds ``buffer_size`` elements, each output is drawn uniformly from it and replaced by the
next input element. Consequences asserted here: the output is a permutation; element
``i`` cannot come out before position ``i - buffer_size + 1`` (it is not read before
then); ``buffer_size=1`` keeps the order; a buffer covering the whole input makes every
element equally likely first; seeds reproduce; passes reshuffle unless told not to."""
from __future__ import annotations

import collections

from hypothesis import given, settings, strategies as st

import ember
from ember.data import pipeline as P


def ints(ds):
    return [int(x) for x in ds]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 40), st.integers(1, 50), st.integers(0, 2**32))
def test_shuffle_is_a_local_permutation(n, buffer_size, seed):
    out = ints(P.range(n).shuffle(buffer_size, seed=seed))
    assert sorted(out) == list(range(n))
    for position, element in enumerate(out):
        assert position >= element - buffer_size + 1


def test_buffer_of_one_keeps_order():
    assert ints(P.range(30).shuffle(1, seed=3)) == list(range(30))


def test_buffer_of_two_first_output_is_element_0_or_1_evenly():
    # With buffer_size=2 the first output is drawn from {0, 1}, each with probability 1/2.
    firsts = collections.Counter(ints(P.range(5).shuffle(2, seed=s))[0] for s in range(400))
    assert set(firsts) == {0, 1}
    assert 150 < firsts[0] < 250    # binomial(400, 1/2): 7 standard deviations of slack


def test_full_buffer_shuffle_is_uniform_over_first_position():
    n, trials = 5, 1000
    ds = P.range(n).shuffle(n, seed=7)          # each pass reshuffles
    firsts = collections.Counter(ints(ds)[0] for _ in range(trials))
    assert set(firsts) == set(range(n))
    expected = trials / n
    chi2 = sum((firsts[k] - expected) ** 2 / expected for k in range(n))
    assert chi2 < 30       # 4 degrees of freedom: p < 1e-5 for a correct shuffle


def test_seed_reproduces_and_passes_reshuffle():
    a = P.range(50).shuffle(50, seed=11)
    b = P.range(50).shuffle(50, seed=11)
    passes_a = [ints(a) for _ in range(3)]
    passes_b = [ints(b) for _ in range(3)]
    assert passes_a == passes_b
    assert len({tuple(p) for p in passes_a}) == 3


def test_reshuffle_each_iteration_false_repeats_the_order():
    ds = P.range(50).shuffle(50, seed=5, reshuffle_each_iteration=False)
    assert ints(ds) == ints(ds) != list(range(50))
    epochs = ints(P.range(20).shuffle(20, seed=5, reshuffle_each_iteration=False).repeat(2))
    assert epochs[:20] == epochs[20:]


def test_shuffle_then_repeat_reshuffles_each_epoch():
    epochs = ints(P.range(20).shuffle(20, seed=5).repeat(2))
    assert sorted(epochs[:20]) == sorted(epochs[20:]) == list(range(20))
    assert epochs[:20] != epochs[20:]


def test_without_seed_manual_seed_makes_it_reproducible():
    ember.manual_seed(123)
    first = ints(P.range(40).shuffle(40))
    ember.manual_seed(123)
    again = ints(P.range(40).shuffle(40))
    ember.manual_seed(124)
    other = ints(P.range(40).shuffle(40))
    assert first == again != other
