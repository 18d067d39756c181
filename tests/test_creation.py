"""Creation and random ops against torch: values, dtype inference, errors, seeding."""
import numpy as np
import pytest
import torch

import ember
from conformance import assert_close


def both(fn):
    """Run ``fn(m)`` with m=ember and m=torch and compare the results."""
    assert_close(fn(ember), fn(torch), rtol=0, atol=0)


def same_error(fn, match=None):
    """fn(torch) raises some error type; fn(ember) raises the same type."""
    with pytest.raises(Exception) as te:
        fn(torch)
    with pytest.raises(te.type, match=match):
        fn(ember)


# -- tensor() and friends ------------------------------------------------------------------

TENSOR_DATA = [
    [1, 2], [1.0, 2], [True, False], [1, True], [[1, 2.5], [3, 4]], 3, 2.5, True, [],
    [[]], np.array([1.0, 2.0]), np.array([1, 2], np.int32), np.array([1, 2], np.uint8),
    np.float64(2.0), np.float32(2.0), np.int16(3), [np.float64(1.0), 2], [np.int32(1), 2],
    [np.float16(1), 2], [np.float16(1), 2.0], [[np.int8(1)], [np.uint8(2)]],
    np.zeros((2, 0)), [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
]


@pytest.mark.filterwarnings("ignore::UserWarning")     # torch: "list of ndarrays is slow"
@pytest.mark.parametrize("i", range(len(TENSOR_DATA)))
def test_tensor_dtype_inference(i):
    both(lambda m: m.tensor(TENSOR_DATA[i]))
    both(lambda m: m.as_tensor(TENSOR_DATA[i]))


@pytest.mark.filterwarnings("ignore::UserWarning")     # torch: "use detach().clone()"
def test_tensor_from_tensors():
    both(lambda m: m.tensor([m.tensor(1.0, dtype=m.float64), 2.0]))
    both(lambda m: m.tensor([m.tensor(1), m.tensor(2)]))
    both(lambda m: m.tensor(m.tensor([1, 2], dtype=m.int16)))
    same_error(lambda m: m.tensor([m.ones(2), m.zeros(2)]), "one element")


@pytest.mark.parametrize("dtype", ["float64", "float16", "int32", "bool", "uint8"])
def test_tensor_explicit_dtype(dtype):
    both(lambda m: m.tensor([0, 1.5, 2], dtype=getattr(m, dtype)))


def test_tensor_errors():
    same_error(lambda m: m.tensor([[1, 2], [3]]))
    same_error(lambda m: m.tensor("a"))
    same_error(lambda m: m.tensor([1e10], dtype=m.int32))
    same_error(lambda m: m.tensor([float("nan")], dtype=m.int64))


def test_tensor_copies_but_from_numpy_and_as_tensor_share():
    a = np.zeros(3, np.float32)
    t = ember.tensor(a)
    s = ember.as_tensor(a)
    f = ember.from_numpy(a)
    a[0] = 1
    assert t[0].item() == 0 and s[0].item() == 1 and f[0].item() == 1
    x = ember.ones(2)
    assert ember.as_tensor(x) is x
    assert ember.as_tensor(x, dtype=ember.float64).dtype == ember.float64
    with pytest.raises(TypeError, match="from_numpy"):
        ember.from_numpy([1, 2])
    with pytest.raises(TypeError, match="complex"):
        ember.from_numpy(np.ones(2, np.complex64))


def test_tensor_requires_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    assert x.requires_grad and x.is_leaf


# -- filled --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["zeros", "ones"])
def test_zeros_ones(name):
    both(lambda m: getattr(m, name)(2, 3))
    both(lambda m: getattr(m, name)((2, 3)))
    both(lambda m: getattr(m, name)([4]))
    both(lambda m: getattr(m, name)(()))
    both(lambda m: getattr(m, name)(0, 3))
    both(lambda m: getattr(m, name)(2, dtype=m.int32))
    both(lambda m: getattr(m, name)(2, dtype=m.bool))
    same_error(lambda m: getattr(m, name)(-1), "negative")
    same_error(lambda m: getattr(m, name)(2.5))
    assert getattr(ember, name)(2, requires_grad=True).requires_grad


def test_empty():
    for e, t in [(ember.empty(2, 3), torch.empty(2, 3)),
                 (ember.empty((0,), dtype=ember.int64), torch.empty((0,), dtype=torch.int64))]:
        assert e.shape == t.shape and e.dtype.name == str(t.dtype)[6:]
    same_error(lambda m: m.empty(-2))


@pytest.mark.parametrize("value", [2, 2.5, True, -3, np.float64(1.5), np.int64(4)])
def test_full_dtype_inference(value):
    both(lambda m: m.full((2, 2), value))
    both(lambda m: m.full((3,), value, dtype=m.float64))
    both(lambda m: m.full((), value))


def test_full_errors_and_int_cast():
    both(lambda m: m.full((2, 2), 3.5, dtype=m.int64))
    same_error(lambda m: m.full(3, 1.0))
    same_error(lambda m: m.full((-1,), 1.0), "negative")


def test_scalar_tensor():
    both(lambda m: m.scalar_tensor(3))
    both(lambda m: m.scalar_tensor(2.5, dtype=m.float64))


@pytest.mark.parametrize("args", [(3,), (2, 4), (0,), (3, 0), (1, 1)])
@pytest.mark.parametrize("dtype", [None, "int32", "bool", "float64"])
def test_eye(args, dtype):
    both(lambda m: m.eye(*args, dtype=getattr(m, dtype) if dtype else None))


def test_eye_errors():
    same_error(lambda m: m.eye(-1))
    same_error(lambda m: m.eye(2, -1))


ARANGE = [(5,), (2, 7), (0, 1, 0.1), (0, 1, 0.3), (1.5,), (-3, 3, 2), (10, 0, -3),
          (0, 5.5, 1.5), (0.5, 5.7, 1.3), (-0.5, 3), (0, 0), (3, 3, -1), (1e-3, 1e-2, 1e-3),
          (np.int64(5),), (0, 2.0), (-2.5, 2.5, 0.5)]


@pytest.mark.parametrize("args", ARANGE)
@pytest.mark.parametrize("dtype", [None, "int64", "float64", "int32", "float32"])
def test_arange(args, dtype):
    def fn(m):
        return m.arange(*args, dtype=getattr(m, dtype) if dtype else None)
    try:
        t = fn(torch)
    except Exception as e:
        with pytest.raises(type(e) if isinstance(e, RuntimeError) else Exception):
            fn(ember)
        return
    assert_close(fn(ember), t, rtol=1e-6 if dtype != "float64" else 1e-12, atol=0)


def test_arange_tensor_args_and_errors():
    both(lambda m: m.arange(m.tensor(3)))
    both(lambda m: m.arange(m.tensor(3.0)))
    same_error(lambda m: m.arange(0, 5, 0), "step")
    same_error(lambda m: m.arange(5, 0, 1), "bound")


@pytest.mark.parametrize("steps", [0, 1, 2, 5, 7, 10, 33])
@pytest.mark.parametrize("ends", [(0, 1), (-1, 1), (0.1, 7.3), (3, -1), (-5, 2.2)])
@pytest.mark.parametrize("dtype", [None, "float64", "float16"])
def test_linspace_logspace(steps, ends, dtype):
    def fn(m, name, **kw):
        return getattr(m, name)(*ends, steps, dtype=getattr(m, dtype) if dtype else None, **kw)
    tol = {None: 0, "float64": 0, "float16": 2e-3}[dtype]
    assert_close(fn(ember, "linspace"), fn(torch, "linspace"), rtol=tol, atol=tol)
    r = 5e-3 if dtype == "float16" else 1e-6
    assert_close(fn(ember, "logspace"), fn(torch, "logspace"), rtol=r, atol=0)
    assert_close(fn(ember, "logspace", base=2.0), fn(torch, "logspace", base=2.0), rtol=r,
                 atol=0)


def test_linspace_int_and_errors():
    both(lambda m: m.linspace(0, 10, 5, dtype=m.int64))
    both(lambda m: m.linspace(m.tensor(0.0), m.tensor(1.0), 3))
    same_error(lambda m: m.linspace(0, 1, -1), "steps")


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like"])
def test_like(name):
    for dt in ("int32", "float64", "bool"):
        for kw in ({}, {"dtype": "float16"}):
            e = getattr(ember, name)(ember.ones((2, 3), dtype=dt),
                                     **{k: getattr(ember, v) for k, v in kw.items()})
            t = getattr(torch, name)(torch.ones((2, 3), dtype=getattr(torch, dt)),
                                     **{k: getattr(torch, v) for k, v in kw.items()})
            if name == "empty_like":
                assert e.shape == t.shape and e.dtype.name == str(t.dtype)[6:]
            else:
                assert_close(e, t)
    assert getattr(ember, name)(ember.ones(2), requires_grad=True).requires_grad


def test_full_like():
    both(lambda m: m.full_like(m.ones(2, dtype=m.int32), 7))
    both(lambda m: m.full_like(m.ones(2, dtype=m.int32), 7.9))
    both(lambda m: m.full_like(m.ones(2), 7, dtype=m.float64))


# -- random --------------------------------------------------------------------------------

def test_rand_randn_statistics():
    ember.manual_seed(0)
    u = ember.rand(200_000).numpy().astype(np.float64)
    n = ember.randn(200_000).numpy().astype(np.float64)
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    assert abs(n.mean()) < 0.01 and abs(n.std() - 1) < 0.01
    assert abs(np.mean(np.abs(n) < 1) - 0.6827) < 0.005


def test_random_dtypes_and_shapes():
    for fn in ("rand", "randn"):
        both(lambda m: getattr(m, fn)(2, 3).shape)
        assert getattr(ember, fn)((2, 0)).shape == (2, 0)
        assert getattr(ember, fn)(3, dtype=ember.float64).dtype == ember.float64
        assert getattr(ember, fn)(3, requires_grad=True).requires_grad
        same_error(lambda m: getattr(m, fn)(2, dtype=m.int64))
        same_error(lambda m: getattr(m, fn)(-1), "negative")
    assert ember.rand_like(ember.ones(2, dtype=ember.float64)).dtype == ember.float64
    assert ember.randn_like(ember.ones(2, 2)).shape == (2, 2)
    same_error(lambda m: m.rand_like(m.ones(2, dtype=m.int64)))


def test_randint_bounds_and_dtype():
    ember.manual_seed(1)
    r = ember.randint(3, 10, (10_000,))
    assert r.dtype == ember.int64 and r.min().item() == 3 and r.max().item() == 9
    r = ember.randint(5, (4, 4))
    assert r.shape == (4, 4) and 0 <= r.min().item() and r.max().item() < 5
    assert ember.randint(0, 10, size=(3,)).shape == (3,)
    assert ember.randint(0, 10, (3,), dtype=ember.float32).dtype == ember.float32
    assert ember.randint_like(ember.ones(2), 5).dtype == ember.float32
    v = ember.randint_like(ember.ones(1000, dtype=ember.int32), 2, 4)
    assert v.dtype == ember.int32 and set(v.tolist()) == {2, 3}
    same_error(lambda m: m.randint(5, 3, (2,)), "from")


def test_randperm_is_permutation():
    ember.manual_seed(2)
    for n in (0, 1, 10, 1000):
        p = ember.randperm(n)
        assert p.dtype == ember.int64 and sorted(p.tolist()) == list(range(n))
    assert ember.randperm(5, dtype=ember.int32).dtype == ember.int32
    assert ember.randperm(1000).tolist() != list(range(1000))
    same_error(lambda m: m.randperm(-1))


def test_normal_variants():
    ember.manual_seed(3)
    x = ember.normal(2.0, 3.0, (100_000,)).numpy()
    assert abs(x.mean() - 2) < 0.05 and abs(x.std() - 3) < 0.05
    m = ember.normal(ember.zeros(2, dtype=ember.float64), 1.0)
    assert m.shape == (2,) and m.dtype == ember.float64
    s = ember.normal(ember.tensor([0.0, 100.0]), ember.tensor([1e-6, 1e-6]))
    np.testing.assert_allclose(s.numpy(), [0, 100], atol=1e-3)
    assert ember.normal(0.0, ember.ones(3, 1)).shape == torch.normal(0.0, torch.ones(3, 1)).shape
    same_error(lambda m: m.normal(2.0, 3.0))
    with pytest.raises(RuntimeError, match="std"):
        ember.normal(0.0, -1.0, (2,))


def _draws(**kw):
    return [ember.rand(3, **kw), ember.randn(3, **kw), ember.randint(0, 100, (3,), **kw),
            ember.randperm(5, **kw), ember.normal(0.0, 1.0, (3,), **kw)]


def _same(a, b):
    return all(x.tolist() == y.tolist() for x, y in zip(a, b))


def test_manual_seed_reproducible():
    ember.manual_seed(123)
    a = _draws()
    ember.manual_seed(123)
    b = _draws()
    assert _same(a, b)
    ember.manual_seed(124)
    assert not _same(a, _draws())
    assert ember.initial_seed() == 124


def test_generator_argument_independent_of_global():
    g = ember.Generator().manual_seed(7)
    a = _draws(generator=g)
    ember.manual_seed(0)
    ember.rand(10)
    g.manual_seed(7)
    assert _same(a, _draws(generator=g))
    assert g.initial_seed() == 7


def test_generator_state_round_trip():
    g = ember.Generator().manual_seed(5)
    g.manual_seed(5)
    _draws(generator=g)
    state = g.get_state()
    assert isinstance(state, ember.Tensor) and state.dtype == ember.uint8
    a = _draws(generator=g)
    g.set_state(state)
    assert _same(a, _draws(generator=g))
    h = ember.Generator().set_state(state)      # a fresh generator continues the same way
    g.set_state(state)
    assert _same(_draws(generator=g), _draws(generator=h))
    s = ember.get_rng_state()
    a = _draws()
    ember.set_rng_state(s)
    assert _same(a, _draws())
    with pytest.raises(RuntimeError, match="set_state"):
        g.set_state(ember.tensor([1, 2, 3], dtype=ember.uint8))


def test_seed_returns_new_seed():
    s = ember.seed()
    assert isinstance(s, int) and ember.initial_seed() == s
