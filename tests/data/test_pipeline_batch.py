"""``batch``, ``padded_batch`` and ``unbatch`` against NumPy: a batch is ``np.stack`` of
consecutive elements per component (tf.data.Dataset.batch), a padded batch pads each
component at the end of each dimension to the longest in the batch or to the given shape
(tf.data.Dataset.padded_batch), and unbatch splits along the first dimension."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ember
from ember.data import pipeline as P


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 13), st.integers(1, 6), st.booleans(),
       st.lists(st.integers(1, 3), max_size=2))
def test_batch_is_numpy_stack_of_consecutive_elements(n, batch_size, drop, inner):
    x = np.arange(n * int(np.prod(inner, dtype=int)), dtype=np.float32).reshape(n, *inner)
    y = np.arange(n) * 10
    ds = P.from_tensor_slices((x, {"y": y})).batch(batch_size, drop_remainder=drop)
    starts = range(0, n, batch_size)
    expected = [(x[s:s + batch_size], y[s:s + batch_size]) for s in starts
                if not drop or s + batch_size <= n]
    got = list(ds)
    assert len(got) == len(expected) == ds.cardinality().item()
    for (bx, by), (ex, ey) in zip(got, expected):
        assert type(by) is dict
        np.testing.assert_array_equal(bx.numpy(), ex)
        np.testing.assert_array_equal(by["y"].numpy(), ey)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 13), st.integers(1, 6))
def test_unbatch_inverts_batch(n, batch_size):
    x = np.arange(n * 2).reshape(n, 2)
    names = [f"s{i}" for i in range(n)]
    ds = P.from_tensor_slices((x, names)).batch(batch_size).unbatch()
    got = [(a.tolist(), s) for a, s in ds]
    assert got == [(list(r), s) for r, s in zip(x.tolist(), names)]


def test_batch_text_becomes_list_and_shapes_must_match():
    (batch,) = P.from_tensor_slices(["a", "b", "c"]).batch(3)
    assert batch == ["a", "b", "c"]
    ragged = P.from_generator(lambda: iter([[1, 2], [3]])).batch(2)
    with pytest.raises(ValueError, match=r"batch: .*component 0: the first element had "
                                         r"shape \[2\] and element 1 had shape \[1\]"):
        list(ragged)


def _pad_to(arrays, shape, value):
    """Independent NumPy padding: a full array of `value` with each element's values in
    its top-left corner."""
    out = np.full((len(arrays), *shape), value, dtype=arrays[0].dtype)
    for i, a in enumerate(arrays):
        out[(i, *[slice(0, d) for d in a.shape])] = a
    return out


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(1, 3)), min_size=1, max_size=9),
       st.integers(1, 4), st.integers(-5, 5))
def test_padded_batch_pads_to_longest_in_batch(shapes, batch_size, fill):
    rng = np.random.default_rng(0)
    arrays = [rng.integers(1, 100, size=s) for s in shapes]
    ds = P.from_generator(lambda: iter(arrays)).padded_batch(batch_size, padding_values=fill)
    for k, got in enumerate(ds):
        chunk = arrays[k * batch_size:(k + 1) * batch_size]
        longest = tuple(max(a.shape[d] for a in chunk) for d in range(2))
        np.testing.assert_array_equal(got.numpy(), _pad_to(chunk, longest, fill))


def test_padded_batch_fixed_shapes_structures_and_defaults():
    def gen():
        for i in range(1, 4):
            yield {"ids": np.arange(i), "word": "w" * i}, np.full((i, 2), float(i))

    ds = P.from_generator(gen).padded_batch(
        2, padded_shapes=({"ids": [5], "word": []}, (None, 3)),
        padding_values=({"ids": -1, "word": "?"}, 0.5))
    (f1, l1), (f2, l2) = list(ds)
    np.testing.assert_array_equal(f1["ids"].numpy(), [[0, -1, -1, -1, -1], [0, 1, -1, -1, -1]])
    assert f1["word"] == ["w", "ww"] and f2["word"] == ["www"]
    np.testing.assert_array_equal(
        l1.numpy(), _pad_to([np.full((1, 2), 1.0), np.full((2, 2), 2.0)], (2, 3), 0.5))
    assert l2.shape == (1, 3, 3)
    # defaults: pad with 0 (and '' for text) to the longest
    text = P.from_tensor_slices([["a", "b"], ["c", "d"]]).map(lambda s: s)
    (tb,) = P.from_generator(lambda: iter([["a"], ["b", "c"]])).padded_batch(2)
    assert tb == [["a", ""], ["b", "c"]]
    assert list(text.padded_batch(2))[0] == [["a", "b"], ["c", "d"]]


def test_padded_batch_errors():
    gen = lambda: iter([np.zeros(3), np.zeros(4)])  # noqa: E731
    with pytest.raises(ValueError, match=r"padded_batch: cannot pad component 0 to shape "
                                         r"\[3\]: dimension 0 of an element is 4"):
        list(P.from_generator(gen).padded_batch(2, padded_shapes=[3]))
    with pytest.raises(ValueError, match=r"padded_batch: the padded shape \[4, 1\] .*rank 2"):
        list(P.from_generator(gen).padded_batch(2, padded_shapes=[4, 1]))
    mixed = lambda: iter([np.zeros(3), np.zeros((1, 1))])  # noqa: E731
    with pytest.raises(ValueError, match=r"padded_batch: component 0 has elements of "
                                         r"different ranks \[1, 2\]"):
        list(P.from_generator(mixed).padded_batch(2))
    pairs = P.from_tensor_slices((np.zeros((2, 2)), np.zeros((2, 2))))
    with pytest.raises(ValueError, match=r"padded_batch: padded_shapes \[\[2\]\] does not "
                                         r"match the structure"):
        list(pairs.padded_batch(2, padded_shapes=[[2]]))
    with pytest.raises(TypeError, match="padded_batch: component 0 holds text"):
        list(P.from_tensor_slices([["a"]]).padded_batch(1, padding_values=0))


def test_unbatch_errors():
    with pytest.raises(ValueError, match="unbatch: component 0 is a scalar"):
        list(P.range(3).unbatch())
    with pytest.raises(ValueError, match=r"unbatch: .*different first dimensions \[2, 3\]"):
        list(P.from_tensors((np.zeros(2), np.zeros(3))).unbatch())


def test_batch_keeps_dtypes():
    (b,) = P.from_tensor_slices(np.arange(4, dtype=np.int16)).batch(4)
    assert b.dtype == ember.int16
    (b,) = P.from_tensor_slices([True, False]).batch(2)
    assert b.dtype == ember.bool
