"""ember.save -> ember.load gives back exactly what was saved: every dtype, 0-d, size-0 and
non-contiguous tensors, every container and plain value, key types and order."""
import io
import math
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, strategies as st

import ember
from ember.io import load, save
from checkpoint_helpers import assert_same, roundtrip

DTYPES = [ember.float16, ember.bfloat16, ember.float32, ember.float64, ember.int8,
          ember.int16, ember.int32, ember.int64, ember.uint8, ember.bool]


def _values(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape) * 100
    if dtype == ember.bool:
        return ember.tensor(a > 0)
    if dtype.is_floating_point:
        a.flat[:3] = [math.nan, -math.inf, -0.0][:a.size]
    return ember.tensor(a).to(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (2, 3, 4)], ids=str)
def test_every_dtype_and_shape(tmp_path, dtype, shape):
    t = _values(dtype, shape)
    assert_same(roundtrip(t, tmp_path), t)
    assert_same(roundtrip({"w": t, "nested": [t, (t,)]}, tmp_path),
                {"w": t, "nested": [t, (t,)]})


def test_non_contiguous_tensors(tmp_path):
    base = _values(ember.float32, (4, 6))
    views = {"T": base.T, "step": base[:, ::2], "0-d": base[1, 2]}
    assert not views["T"].is_contiguous() and not views["step"].is_contiguous()
    assert_same(roundtrip(views, tmp_path), views)


def test_plain_values_and_containers(tmp_path):
    obj = {"none": None, "t": True, "f": False, "int": -(2 ** 70), "zero": 0,
           "floats": [0.1, -0.0, 1e308, 5e-324, math.inf, -math.inf, math.nan],
           "str": "héllo \u2603 \"quoted\" \n", "empty": ["", [], (), {}, OrderedDict()],
           "tuple": (1, (2.5, [None, ()])), "list": [1, [2, (3,)]]}
    assert_same(roundtrip(obj, tmp_path), obj)


def test_key_types_and_order_round_trip(tmp_path):
    obj = {"b": 1, 3: 2, "a": 3, -1: 4, None: 5, True: 6, 2.5: 7, "3": 8, math.inf: 9}
    got = roundtrip(obj, tmp_path)
    assert_same(got, obj)
    assert 3 in got and "3" in got and got[3] == 2 and got["3"] == 8
    od = OrderedDict([("z", 1), ("y", OrderedDict([(2, "x")]))])
    got = roundtrip(od, tmp_path)
    assert type(got) is OrderedDict and type(got["y"]) is OrderedDict
    assert_same(got, od)


def test_tuple_and_list_stay_distinct(tmp_path):
    obj = [(1, 2), [1, 2], ([],), [()]]
    assert_same(roundtrip(obj, tmp_path), obj)


def test_optimizer_like_state_dict_round_trips_exactly(tmp_path):
    t = _values(ember.float32, (2, 3))
    obj = {"state": {0: {"step": ember.tensor(3.), "exp_avg": t},
                     1: {"step": ember.tensor(3.), "exp_avg": t * 2}},
           "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8,
                             "foreach": None, "amsgrad": False, "params": [0, 1]}]}
    assert_same(roundtrip(obj, tmp_path), obj)


def test_loaded_tensors_are_fresh_and_writable(tmp_path):
    w = _values(ember.float32, (3,)).requires_grad_()
    got = roundtrip({"w": w, "same": w}, tmp_path)
    assert not got["w"].requires_grad
    got["w"].add_(1)                     # writable, and saved twice: not shared
    assert_same(got["same"], w.detach())
    assert got["w"].numpy().base is not got["same"].numpy().base


def test_parameters_and_subclasses_save_as_tensors(tmp_path):
    p = ember.nn.Parameter(ember.ones(2))
    got = roundtrip({"p": p}, tmp_path)
    assert type(got["p"]) is ember.Tensor
    assert_same(got["p"], p.detach())


def test_rng_state_restores_the_same_draws(tmp_path):
    ember.manual_seed(123)
    ember.randn(7)
    save({"rng": ember.get_rng_state(), "epoch": 4}, tmp_path / "rng.safetensors")
    expected = ember.randn(5)
    ember.manual_seed(999)
    ember.set_rng_state(load(tmp_path / "rng.safetensors")["rng"])
    assert np.array_equal(ember.randn(5).numpy(), expected.numpy())


def test_file_objects_and_map_location(tmp_path):
    obj = {"a": _values(ember.float64, (2, 2)), "n": 1}
    buf = io.BytesIO()
    save(obj, buf)
    buf.seek(0)
    assert_same(load(buf, map_location="cpu", weights_only=False), obj)
    with open(tmp_path / "f.safetensors", "wb") as f:
        save(obj, f)
    with open(tmp_path / "f.safetensors", "rb") as f:
        assert_same(load(f, ember.device("cpu")), obj)
    assert_same(load(str(tmp_path / "f.safetensors")), obj)


def test_bad_arguments():
    with pytest.raises(TypeError, match="map_location"):
        load(io.BytesIO(), map_location={"cuda:0": "cpu"})
    with pytest.raises(TypeError, match="binary mode"):
        load(io.StringIO("text"))
    with pytest.raises(TypeError, match="writable binary file"):
        save({}, 3)


@pytest.mark.parametrize("obj, match", [
    ({"optimizer": {"param_groups": [{"lr_lambda": lambda e: e}]}},
     r"type 'function' at \['optimizer'\]\['param_groups'\]\[0\]\['lr_lambda'\]"),
    ([1, np.float32(1.0)], r"type 'numpy.float32' at \[1\]"),
    (object(), "type 'object' at the top level"),
    ({(1, 2): 3}, r"dict key of type 'tuple' at the top level"),
    ({"s": {1, 2}}, r"type 'set' at \['s'\]"),
    ({"a": np.zeros(2)}, r"type 'numpy.ndarray' at \['a'\]"),
])
def test_unsupported_objects_raise_type_error_naming_the_path(tmp_path, obj, match):
    with pytest.raises(TypeError, match=match):
        save(obj, tmp_path / "x.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_self_containing_and_too_deep_objects_raise(tmp_path):
    loop = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match=r"contains itself at \[1\]"):
        save(loop, tmp_path / "x.safetensors")
    deep = []
    for _ in range(150):
        deep = [deep]
    with pytest.raises(ValueError, match="deeper than 100"):
        save(deep, tmp_path / "x.safetensors")
    ok = []
    for _ in range(99):
        ok = [ok]
    assert_same(roundtrip(ok, tmp_path), ok)


def test_tensor_names_are_dotted_paths_and_unique(tmp_path):
    from safetensors import safe_open
    t = ember.zeros(1)
    save({"a.b": t, "a": {"b": t}, "__metadata__": t, "l": [t, {"x": t}]},
         tmp_path / "n.safetensors")
    with safe_open(tmp_path / "n.safetensors", "np") as f:
        assert sorted(f.keys()) == sorted(["a.b", "a.b#1", "__metadata__#1", "l.0", "l.1.x"])
    save(t, tmp_path / "n.safetensors")
    with safe_open(tmp_path / "n.safetensors", "np") as f:
        assert list(f.keys()) == ["tensor"]


_scalars = (st.none() | st.booleans() | st.integers() | st.text(max_size=8) |
            st.floats(allow_nan=True, allow_infinity=True))
_keys = st.text(max_size=4) | st.integers(-3, 3) | st.none() | st.booleans() | \
    st.floats(allow_nan=False)


@st.composite
def _tensors(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(st.lists(st.integers(0, 3), max_size=3))
    return _values(dtype, tuple(shape), seed=draw(st.integers(0, 100)))


_objects = st.recursive(
    _scalars | _tensors(),
    lambda inner: (st.lists(inner, max_size=3) | st.lists(inner, max_size=3).map(tuple) |
                   st.dictionaries(_keys, inner, max_size=3) |
                   st.dictionaries(_keys, inner, max_size=3).map(OrderedDict)),
    max_leaves=12)


@given(obj=_objects)
def test_any_nested_object_round_trips(obj):
    buf = io.BytesIO()
    save(obj, buf)
    assert_same(load(io.BytesIO(buf.getvalue())), obj)
