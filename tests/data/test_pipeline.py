"""ember.data.pipeline: constructors, element-wise transformations, length transformations,
cardinality and argument errors. Expected values are written from tf.data's documented
semantics (cited per test) and computed with NumPy/Python independently of the pipeline."""
from __future__ import annotations

import collections

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ember
from ember.data import DataLoader, IterableDataset
from ember.data import pipeline as P


def values(ds):
    """Every element as plain Python (tensors -> lists/numbers), structure kept."""
    def plain(x):
        if isinstance(x, tuple):
            return tuple(plain(v) for v in x)
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        return x.tolist() if isinstance(x, ember.Tensor) else x
    return [plain(e) for e in ds]


# -- from_tensor_slices / from_tensors --------------------------------------------------
def test_from_tensor_slices_slices_every_component_along_axis_0():
    x = np.arange(12.0).reshape(4, 3)
    y = ember.tensor([5, 6, 7, 8])
    ds = P.from_tensor_slices((x, y))
    out = list(ds)
    assert len(out) == 4 and all(type(e) is tuple for e in out)
    for i, (a, b) in enumerate(out):
        assert isinstance(a, ember.Tensor) and isinstance(b, ember.Tensor)
        np.testing.assert_array_equal(a.numpy(), x[i])
        assert a.dtype == ember.float64 and b.dtype == ember.int64 and b.item() == 5 + i


def test_from_tensor_slices_keeps_dicts_and_text():
    ds = P.from_tensor_slices({"name": ["ab", "c"], "v": [[1.0, 2.0], [3.0, 4.0]],
                               "raw": np.array([b"x", b"yz"])})
    assert values(ds) == [{"name": "ab", "v": [1.0, 2.0], "raw": b"x"},
                          {"name": "c", "v": [3.0, 4.0], "raw": b"yz"}]


def test_from_tensor_slices_list_is_one_tensor_with_ember_dtypes():
    # tf.data treats a list as one tensor; Ember's dtype rules are PyTorch's.
    ints = list(P.from_tensor_slices([[1, 2], [3, 4]]))
    assert [t.tolist() for t in ints] == [[1, 2], [3, 4]] and ints[0].dtype == ember.int64
    assert list(P.from_tensor_slices([0.5, 1.5]))[0].dtype == ember.float32


def test_from_tensor_slices_namedtuple_kept():
    Pair = collections.namedtuple("Pair", "x y")
    (first, *_) = P.from_tensor_slices(Pair(np.zeros(3), np.ones(3)))
    assert type(first) is Pair and first.y.item() == 1.0


def test_from_tensor_slices_mismatched_first_dims_names_sizes():
    with pytest.raises(ValueError, match=r"from_tensor_slices.*sizes \[3, 2\]"):
        P.from_tensor_slices((np.zeros(3), np.zeros((2, 5))))


def test_from_tensor_slices_bad_inputs():
    with pytest.raises(ValueError, match="from_tensor_slices.*first dimension"):
        P.from_tensor_slices(np.float32(3.0))
    with pytest.raises(ValueError, match="from_tensor_slices.*empty structure"):
        P.from_tensor_slices(())
    with pytest.raises(TypeError, match="from_tensor_slices.*type object"):
        P.from_tensor_slices((np.zeros(2), object()))
    with pytest.raises(ValueError, match="from_tensor_slices.*rectangular"):
        P.from_tensor_slices([[1, 2], [3]])


def test_from_tensors_is_one_element():
    ds = P.from_tensors((np.zeros((2, 3)), "label"))
    assert len(ds) == 1
    ((x, s),) = list(ds)
    assert x.shape == (2, 3) and s == "label"


# -- from_generator ---------------------------------------------------------------------
def test_from_generator_calls_generator_anew_each_pass_with_args():
    calls = []

    def gen(n, scale):
        calls.append((n, scale))
        for i in range(n):
            yield i * scale, np.full(i, i)

    ds = P.from_generator(gen, args=(3, 10))
    assert values(ds) == [(0, []), (10, [1]), (20, [2, 2])]
    assert values(ds) == values(ds)
    assert calls == [(3, 10)] * 3
    assert ds.cardinality().item() == P.UNKNOWN_CARDINALITY


def test_from_generator_signature_casts_and_checks():
    sig = (P.TensorSpec((), ember.float32), P.TensorSpec((None, 2), ember.int32))
    ds = P.from_generator(lambda: iter([(1, [[1, 2]]), (2, np.zeros((0, 2), np.int64))]),
                          output_signature=sig)
    (a, b), (c, d) = list(ds)
    assert a.dtype == ember.float32 and b.dtype == ember.int32 and d.shape == (0, 2)
    old = P.from_generator(lambda: iter([(1, [[1, 2]])]), (ember.float32, ember.int32),
                           ((), (None, 2)))
    assert values(old) == [(1.0, [[1, 2]])]


def test_from_generator_signature_errors():
    sig = P.TensorSpec((2,), ember.int64)
    with pytest.raises(ValueError, match=r"shape \[3\] where an element of shape \[2\]"):
        list(P.from_generator(lambda: iter([[1, 2, 3]]), output_signature=sig))
    with pytest.raises(TypeError, match="could not be converted to the expected type int64"):
        list(P.from_generator(lambda: iter([[1.5, 2.5]]), output_signature=sig))
    with pytest.raises(TypeError, match="did not match the expected structure"):
        list(P.from_generator(lambda: iter([1]), output_signature=(sig, sig)))
    with pytest.raises(TypeError, match="from_generator: generator must be a callable"):
        P.from_generator(iter([1]))


# -- range / zip ------------------------------------------------------------------------
@settings(deadline=None)
@given(st.integers(-20, 20), st.integers(-20, 20), st.integers(-5, 5).filter(bool))
def test_range_matches_python_range(start, stop, step):
    ds = P.range(start, stop, step)
    expected = list(range(start, stop, step))
    assert values(ds) == expected and len(ds) == len(expected)


def test_range_output_type_and_errors():
    assert list(P.range(2, output_type=ember.float32))[1].dtype == ember.float32
    with pytest.raises(ValueError, match="range: step must not be zero"):
        P.range(0, 5, 0)
    with pytest.raises(TypeError, match="range: expected 1 to 3 arguments"):
        P.range()


def test_zip_tuple_dict_and_shortest():
    a, b = P.range(3), P.range(10, 12)
    assert values(P.zip(a, b)) == [(0, 10), (1, 11)]
    assert values(P.zip((a, b))) == [(0, 10), (1, 11)]
    assert values(P.zip({"x": a, "y": (b, a)})) == [{"x": 0, "y": (10, 0)},
                                                    {"x": 1, "y": (11, 1)}]
    assert P.zip(a, b).cardinality().item() == 2
    assert P.zip(a, b.repeat()).cardinality().item() == 3
    with pytest.raises(TypeError, match="zip: expected Pipelines.*list"):
        P.zip(a, [1, 2])


# -- map / filter / enumerate -----------------------------------------------------------
def test_map_unpacks_tuples_but_not_dicts():
    # tf.data: a tuple element is passed as positional arguments; a dict as one argument.
    ds = P.from_tensor_slices((np.arange(3), np.arange(3) * 10)).map(lambda a, b: a + b)
    assert values(ds) == [0, 11, 22]
    ds = P.from_tensor_slices({"a": np.arange(2)}).map(lambda d: {"b": d["a"] * 2})
    assert values(ds) == [{"b": 0}, {"b": 2}]


def test_map_converts_outputs_lists_become_tuples():
    ds = P.range(2).map(lambda x: [x, np.float64(1.5), "s", 3])
    out = list(ds)
    assert type(out[0]) is tuple
    x, f, s, i = out[1]
    assert x.item() == 1 and f.dtype == ember.float64 and s == "s" and i.dtype == ember.int64
    with pytest.raises(TypeError, match="map: cannot make a component .*NoneType"):
        list(P.range(2).map(lambda x: None))


def test_map_error_propagates_with_original_traceback():
    def explode(x):
        if x.item() == 2:
            raise KeyError("boom at 2")
        return x

    with pytest.raises(KeyError, match="boom at 2") as info:
        list(P.range(5).map(explode))
    assert "explode" in [f.name for f in info.traceback]


def test_filter_keeps_true_elements():
    ds = P.from_tensor_slices((np.arange(10), np.arange(10) % 3)).filter(lambda x, r: r == 0)
    assert [x for x, _ in values(ds)] == [0, 3, 6, 9]
    assert values(P.range(6).filter(lambda x: bool(x.item() > 3))) == [4, 5]
    assert ds.cardinality().item() == P.UNKNOWN_CARDINALITY


def test_filter_predicate_must_return_bool_scalar():
    with pytest.raises(ValueError, match=r"filter: predicate must return a bool.*int64"):
        list(P.range(3).filter(lambda x: x))
    with pytest.raises(ValueError, match=r"filter: .*shape \[2\]"):
        list(P.range(3).filter(lambda x: ember.tensor([True, False])))
    with pytest.raises(TypeError, match="filter: predicate must be callable"):
        P.range(3).filter(3)


def test_enumerate_counts_from_start():
    assert values(P.from_tensor_slices(["a", "b"]).enumerate(start=3)) == [(3, "a"), (4, "b")]


# -- repeat / take / skip / concatenate -------------------------------------------------
@settings(deadline=None)
@given(st.integers(0, 6), st.integers(-1, 8), st.integers(-1, 8), st.integers(0, 3))
def test_take_skip_repeat_match_list_slicing(n, take, skip, count):
    base = list(range(n))
    ds = P.range(n).repeat(count).skip(skip).take(take)
    expected = base * count
    expected = [] if skip == -1 else expected[skip:]
    expected = expected if take == -1 else expected[:take]
    assert values(ds) == expected
    assert ds.cardinality().item() == len(expected)


def test_repeat_forever_and_empty():
    assert values(P.range(2).repeat().take(5)) == [0, 1, 0, 1, 0]
    assert values(P.range(0).repeat()) == []   # tf: repeating nothing forever is nothing
    assert P.range(2).repeat().cardinality().item() == P.INFINITE_CARDINALITY
    assert P.range(2).repeat(-1).take(3).cardinality().item() == 3


def test_concatenate():
    ds = P.range(2).concatenate(P.range(5, 7))
    assert values(ds) == [0, 1, 5, 6] and len(ds) == 4
    with pytest.raises(TypeError, match="concatenate: expected a Pipeline, got list"):
        P.range(2).concatenate([1])


def test_apply_and_as_numpy_iterator():
    ds = P.range(6).apply(lambda d: d.filter(lambda x: x % 2 == 0))
    out = list(ds.as_numpy_iterator())
    assert all(isinstance(a, np.ndarray) for a in out) and [int(a) for a in out] == [0, 2, 4]
    with pytest.raises(TypeError, match="apply: transformation_func must return a Pipeline"):
        P.range(2).apply(lambda d: [1])


# -- cardinality / len ------------------------------------------------------------------
def test_cardinality_rules_from_tf_docs():
    assert P.range(10).batch(3).cardinality().item() == 4
    assert P.range(10).batch(3, drop_remainder=True).cardinality().item() == 3
    assert P.range(10).shuffle(3).prefetch(1).cache().cardinality().item() == 10
    assert P.range(3).repeat().batch(2).cardinality().item() == P.INFINITE_CARDINALITY
    assert P.range(3).batch(2).unbatch().cardinality().item() == P.UNKNOWN_CARDINALITY
    assert P.range(3).repeat().skip(2).cardinality().item() == P.INFINITE_CARDINALITY
    assert P.range(3).filter(lambda x: True).take(2).cardinality().item() == \
        P.UNKNOWN_CARDINALITY


def test_len_raises_type_error_when_infinite_or_unknown():
    assert len(P.range(7).skip(2)) == 5
    with pytest.raises(TypeError, match="The dataset is infinite."):
        len(P.range(2).repeat())
    with pytest.raises(TypeError, match="The dataset length is unknown."):
        len(P.range(2).filter(lambda x: True))
    assert bool(P.range(0).filter(lambda x: True))


@pytest.mark.parametrize("make, match", [
    (lambda: P.range(3).batch(0), r"batch: batch_size must be >= 1, got 0"),
    (lambda: P.range(3).batch(-4), r"batch: batch_size must be >= 1, got -4"),
    (lambda: P.range(3).padded_batch(0), r"padded_batch: batch_size must be >= 1, got 0"),
    (lambda: P.range(3).shuffle(0), r"shuffle: buffer_size must be >= 1, got 0"),
    (lambda: P.range(3).prefetch(0), r"prefetch: buffer_size must be >= 1, got 0"),
    (lambda: P.range(3).prefetch(-5), r"prefetch: buffer_size must be >= 1, got -5"),
    (lambda: P.range(3).repeat(-2), r"repeat: count must be >= -1, got -2"),
    (lambda: P.range(3).take(-3), r"take: count must be >= -1, got -3"),
    (lambda: P.range(3).skip(-3), r"skip: count must be >= -1, got -3"),
    (lambda: P.range(3).map(len, num_parallel_calls=0),
     r"map: num_parallel_calls must be >= 1, got 0"),
])
def test_bad_arguments_raise_value_error_naming_transformation(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_non_integer_arguments_raise_type_error():
    with pytest.raises(TypeError, match="batch: batch_size must be an int, got 2.5"):
        P.range(3).batch(2.5)
    with pytest.raises(TypeError, match="map: map_func must be callable"):
        P.range(3).map("f")


# -- integration ------------------------------------------------------------------------
def test_pipeline_is_an_iterable_dataset_for_dataloader():
    ds = P.from_tensor_slices(np.arange(10.0)).batch(4)
    assert isinstance(ds, IterableDataset)
    got = [b.tolist() for b in DataLoader(ds, batch_size=None)]
    assert got == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0]]


def test_training_style_loop_over_x_y_batches():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 3)).astype(np.float32), rng.integers(0, 2, 20)
    ds = P.from_tensor_slices((x, y)).shuffle(20, seed=1).batch(8).prefetch(P.AUTOTUNE)
    seen_x, seen_y = [], []
    for xb, yb in ds:
        seen_x.append(xb.numpy())
        seen_y.append(yb.numpy())
    assert [len(b) for b in seen_y] == [8, 8, 4]
    order = np.lexsort(np.concatenate(seen_x).T)
    np.testing.assert_array_equal(np.concatenate(seen_x)[order], x[np.lexsort(x.T)])
    # rows and labels stay paired
    pairs = {tuple(r): int(l) for r, l in zip(np.concatenate(seen_x), np.concatenate(seen_y))}
    assert pairs == {tuple(r): int(l) for r, l in zip(x, y)}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-100, 100), max_size=12))
def test_map_filter_match_python(xs):
    ds = P.from_tensor_slices(np.array(xs, dtype=np.int64)) if xs else P.range(0)
    ds = ds.map(lambda v: v * 3).filter(lambda v: v % 2 == 0)
    assert values(ds) == [v * 3 for v in xs if (v * 3) % 2 == 0]
