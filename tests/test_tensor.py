"""The Tensor object itself: attributes, conversions, memory sharing and printing,
compared with torch."""
import numpy as np
import pytest
import torch

import ember
from conformance import assert_close

RNG = np.random.default_rng(0)

REPR_CASES = [
    [1, 2, 3], [-1, 20, 300], [2.0046, -1.0319, 0.4627], [1.0, 2.0], [-1.0, 2.0], [0.0, 0.0],
    [-0.0, 1.0], [1e-5, 1.0], [1e10, 1.0], [1e8, 1.0], [123456.0, 1.0], [0.1, 0.2, 100.0],
    [1e-3, 2e-3], [float("nan"), 1.0, float("inf")], [float("nan")], [float("-inf"), 2.0],
    [float("nan"), 1.5, -2.25], [[1.5, 2], [3, 4]], [True, False], 3.5, 3, -2.0, 1e-8,
    12345678.0, [], [[]], np.arange(24.0).reshape(2, 3, 4), np.arange(2000.0), np.arange(2000),
    np.arange(12).reshape(3, 4) - 5, RNG.standard_normal((3, 4)), RNG.standard_normal(40),
    RNG.standard_normal((5, 40)), RNG.standard_normal((2, 3, 4)) * 1000,
    np.arange(10000).reshape(100, 100), RNG.standard_normal((20, 60)),
    RNG.standard_normal((3, 400, 2)), np.zeros((2, 0, 3)),
]


def _pair(data, dtype=None):
    tdt = getattr(torch, dtype) if dtype else None
    return ember.tensor(data, dtype=dtype), torch.tensor(data, dtype=tdt)


def _same_repr(e, t):
    assert repr(e) == repr(t).replace("torch.", "ember.")


@pytest.mark.parametrize("i", range(len(REPR_CASES)))
@pytest.mark.parametrize("dtype", [None, "float64", "int32", "float16", "bfloat16", "uint8",
                                   "bool"])
def test_repr_matches_torch(i, dtype):
    data = REPR_CASES[i]
    if dtype is not None and isinstance(data, np.ndarray) and data.size > 100:
        return                                   # one dtype is enough for the big ones
    try:
        t = torch.tensor(data, dtype=getattr(torch, dtype) if dtype else None)
    except RuntimeError:                          # e.g. 1e10 does not fit int32
        with pytest.raises(RuntimeError):
            ember.tensor(data, dtype=dtype)
        return
    _same_repr(ember.tensor(data, dtype=dtype), t)


def test_repr_grad_suffixes_and_line_wrapping():
    e = ember.tensor([1.5, -2.0], requires_grad=True)
    t = torch.tensor([1.5, -2.0], requires_grad=True)
    _same_repr(e, t)
    _same_repr(e.detach(), t.detach())
    # a long last line pushes the suffixes onto new lines, as in torch
    data = RNG.standard_normal(8)
    e = ember.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    _same_repr(e, t)
    head = repr(e * 2).split("grad_fn")[0]
    assert head == repr(t * 2).replace("torch.", "ember.").split("grad_fn")[0]
    assert "grad_fn=<MulBackward0>" in repr(e * 2)


def test_repr_with_default_dtype_float64(default_float64):
    for data in ([1.5, 2.0], np.float32([1.5, 2.0]), []):
        _same_repr(ember.tensor(data), torch.tensor(data))


def test_str_and_format():
    x = ember.tensor(2.5)
    assert str(x) == repr(x)
    assert f"{x:.2f}" == "2.50"


def test_attributes():
    e, t = _pair(np.arange(6.0).reshape(2, 3))
    assert e.shape == t.shape == (2, 3) and isinstance(e.shape, ember.Size)
    assert repr(e.shape) == "ember.Size([2, 3])"
    assert e.ndim == e.dim() == 2
    assert e.numel() == t.numel() == 6
    assert e.size() == (2, 3) and e.size(1) == 3 and e.size(-1) == 3
    assert e.dtype == ember.float64 and e.device == ember.device("cpu") and e.device == "cpu"
    assert e.stride() == t.stride() and e.is_contiguous()
    assert e.is_leaf and e.grad is None and e.grad_fn is None and not e.requires_grad
    with pytest.raises(IndexError, match="size.*range"):
        e.size(2)
    assert e.shape[1:] == (3,) and isinstance(e.shape[1:], ember.Size)
    assert ember.tensor(3.0).shape == () and ember.tensor(3.0).ndim == 0


def test_requires_grad_and_leaf():
    x = ember.ones(2).requires_grad_()
    assert x.requires_grad and x.is_leaf
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2], requires_grad=True)
    x.requires_grad = False
    assert not x.requires_grad
    d = y.detach()
    assert d.is_leaf and not d.requires_grad


def test_numpy_item_tolist_array():
    e, t = _pair([[1.5, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    assert e.tolist() == t.tolist()
    assert ember.tensor(2.5).item() == torch.tensor(2.5).item()
    assert isinstance(ember.tensor(3).item(), int)
    assert isinstance(ember.tensor(True).item(), bool)
    assert ember.tensor([7]).item() == 7
    with pytest.raises(RuntimeError, match="4 elements"):
        e.item()
    np.testing.assert_array_equal(np.asarray(e), t.numpy())
    assert np.asarray(e, dtype=np.float64).dtype == np.float64
    with pytest.raises(RuntimeError, match="requires grad"):
        ember.ones(2, requires_grad=True).numpy()
    assert ember.tensor([1.5], dtype=ember.bfloat16).item() == 1.5
    assert ember.tensor([1.5], dtype=ember.bfloat16).tolist() == [1.5]
    assert float(ember.tensor(2.5)) == 2.5 and int(ember.tensor(3)) == 3
    assert [0, 1, 2][ember.tensor(1)] == 1


def test_numpy_shares_memory():
    x = ember.zeros(3)
    x.numpy()[0] = 5
    assert x[0].item() == 5
    a = np.zeros(3, np.float32)
    y = ember.from_numpy(a)
    a[1] = 7
    assert y.tolist() == [0, 7, 0]


def test_dlpack_zero_copy_both_ways():
    x = ember.arange(4.0)
    t = torch.from_dlpack(x)
    t[0] = 10
    assert x[0].item() == 10                       # torch write shows in ember
    x.add_(1)
    assert t.tolist() == [11.0, 2.0, 3.0, 4.0]     # ember write shows in torch
    tt = torch.arange(3.0)
    e = ember.from_dlpack(tt)
    e.mul_(2)
    assert tt.tolist() == [0.0, 2.0, 4.0]
    tt[2] = -1
    assert e.tolist() == [0.0, 2.0, -1.0]
    a = np.ones(2)
    ea = ember.from_dlpack(a)
    ea.add_(1)
    assert a.tolist() == [2.0, 2.0] and ea.dtype == ember.float64
    n = np.from_dlpack(x)
    n[1] = 0
    assert x[1].item() == 0
    with pytest.raises(RuntimeError, match="requires grad"):
        torch.from_dlpack(ember.ones(2, requires_grad=True))


@pytest.mark.parametrize("meth,dtype", [("float", "float32"), ("double", "float64"),
                                        ("long", "int64"), ("int", "int32"),
                                        ("bool", "bool"), ("half", "float16"),
                                        ("short", "int16"), ("byte", "uint8"),
                                        ("char", "int8"), ("bfloat16", "bfloat16")])
def test_dtype_conversion_methods(meth, dtype):
    data = [[-1.5, 0.0], [2.7, 3.2]]
    if dtype == "uint8":
        data = [[1.5, 0.0], [2.7, 3.2]]
    e, t = _pair(data)
    assert_close(getattr(e, meth)(), getattr(t, meth)())
    assert_close(e.to(dtype), t.to(getattr(torch, dtype)))
    assert_close(e.to(dtype=getattr(ember, dtype)), t.to(dtype=getattr(torch, dtype)))


def test_to_returns_self_when_unchanged_and_copies_when_asked():
    x = ember.ones(2)
    assert x.to(ember.float32) is x and x.to("cpu") is x and x.float() is x
    c = x.to(ember.float32, copy=True)
    assert c is not x
    c.add_(1)
    assert x.tolist() == [1.0, 1.0]
    assert x.to(ember.zeros(1, dtype=ember.float64)).dtype == ember.float64
    assert x.to("cpu", ember.int64).dtype == ember.int64


def test_to_dtype_is_differentiable():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    y.sum().backward()
    assert x.grad.dtype == ember.float32 and x.grad.tolist() == [3.0, 3.0]


def test_clone_and_contiguous():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None and c.data_ptr() != x.data_ptr()
    (c * ember.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert x.grad.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    y = ember.clone(x.detach())
    y.add_(1)
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert x.contiguous() is x
    t = x.detach().t()
    assert not t.is_contiguous()
    tc = t.contiguous()
    assert tc.is_contiguous() and tc.tolist() == t.tolist()
    assert tc.stride() == torch.tensor([[1.0, 2.0], [3.0, 4.0]]).t().contiguous().stride()
    g = x.t().contiguous()
    assert g.grad_fn is not None


@pytest.mark.parametrize("name,args", [("new_zeros", ((2, 3),)), ("new_ones", (2, 3)),
                                       ("new_full", ((2,), 2.5)), ("new_empty", ((0, 2),)),
                                       ("new_tensor", ([1, 2],))])
@pytest.mark.parametrize("dtype", ["float64", "int32"])
def test_new_factories(name, args, dtype):
    e = ember.ones(1, dtype=dtype)
    t = torch.ones(1, dtype=getattr(torch, dtype))
    er, tr = getattr(e, name)(*args), getattr(t, name)(*args)
    assert er.dtype.name == str(tr.dtype).replace("torch.", "")
    assert tuple(er.shape) == tuple(tr.shape)
    if name != "new_empty":
        assert er.tolist() == tr.tolist()
    er = getattr(e, name)(*args, dtype=ember.float16)
    assert er.dtype == ember.float16
    r = e.new_zeros(2, dtype=ember.float32, requires_grad=True)
    assert r.requires_grad and r.is_leaf


def test_len_iter_bool_errors():
    x = ember.arange(3)
    assert len(x) == 3 and [v.item() for v in x] == [0, 1, 2]
    with pytest.raises(TypeError):
        len(ember.tensor(1.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(ember.ones(2))
    assert bool(ember.tensor([1.0]))


def test_deepcopy_and_no_pickle():
    import copy
    import pickle
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = copy.deepcopy(x)
    assert y.requires_grad and y.tolist() == x.tolist() and y.data_ptr() != x.data_ptr()
    with pytest.raises(TypeError):
        pickle.dumps(x)
    with pytest.raises(RuntimeError, match="leaves"):
        copy.deepcopy(x * 2)


def test_tensor_constructor():
    assert ember.Tensor(2, 3).shape == (2, 3) and ember.Tensor(2, 3).dtype == ember.float32
    assert_close(ember.Tensor([1, 2]), torch.Tensor([1, 2]))
    assert ember.Tensor().shape == (0,)
    assert ember.is_tensor(ember.ones(1)) and not ember.is_tensor(np.ones(1))


def test_data_property_shares_storage():
    x = ember.ones(2, requires_grad=True)
    d = x.data
    assert not d.requires_grad
    d.add_(1)
    assert x.tolist() == [2.0, 2.0]
    x.data = ember.zeros(2)
    assert x.tolist() == [0.0, 0.0] and x.requires_grad


@pytest.mark.parametrize("opts", [dict(precision=2), dict(threshold=5, edgeitems=1),
                                  dict(linewidth=30), dict(sci_mode=True),
                                  dict(profile="short"), dict(profile="full")])
def test_set_printoptions_matches_torch(opts):
    from ember.tensor_repr import set_printoptions
    data = [[1.23456, -2.5, 1000.125, 3.0, 4.5, 5.0, 6.25, 7.0]] * 3
    try:
        set_printoptions(**opts)
        torch.set_printoptions(**opts)
        _same_repr(*_pair(data))
        _same_repr(*_pair(np.arange(1200.0)))
    finally:
        set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
