"""ember.nn.utils against torch.nn.utils: gradient clipping (returned norm and the clipped
.grad, in place) and the parameter <-> vector conversions."""
import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import ember
import ember.nn.utils as U
from conformance import arrays, assert_close, shapes
from ember.nn.parameter import Parameter

NORM_TYPES = [1, 2, 3, 2.5, 0.5, math.inf, "inf", 0]


def _params(arrays_, with_grad):
    """Matching Ember and torch parameter lists; ``grad`` set from the arrays where
    ``with_grad`` is true."""
    es, ts = [], []
    for a, g in zip(arrays_, with_grad):
        e = Parameter(ember.from_numpy(np.zeros_like(a)))
        t = torch.nn.Parameter(torch.zeros(a.shape, dtype=getattr(torch, a.dtype.name)))
        if g:
            e.grad, t.grad = ember.from_numpy(a.copy()), torch.from_numpy(a.copy())
        es.append(e)
        ts.append(t)
    return es, ts


def _assert_grads_equal(es, ts):
    for i, (e, t) in enumerate(zip(es, ts)):
        if t.grad is None:
            assert e.grad is None
        else:
            assert_close(e.grad, t.grad, what=f"grad {i}")


@st.composite
def _grad_arrays(draw, max_n=3):
    n = draw(st.integers(1, max_n))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shps = [draw(shapes(max_dims=3, min_side=1)) for _ in range(n)]
    scale = draw(st.sampled_from([0.01, 1.0, 30.0]))
    return ([arrays(draw, s, dtype, -scale, scale) for s in shps],
            [draw(st.booleans()) for _ in range(n - 1)] + [True])


@given(data=_grad_arrays(), norm_type=st.sampled_from(NORM_TYPES),
       max_norm=st.sampled_from([1e-3, 0.5, 2.0, 1e4]))
def test_clip_grad_norm_matches_torch(data, norm_type, max_norm):
    es, ts = _params(*data)
    total_e = U.clip_grad_norm_(es, max_norm, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type)
    assert_close(total_e, total_t, what="total norm")
    _assert_grads_equal(es, ts)


@given(data=_grad_arrays(), clip=st.sampled_from([0.0, 1e-3, 0.5, 5.0]))
def test_clip_grad_value_matches_torch(data, clip):
    es, ts = _params(*data)
    assert U.clip_grad_value_(es, clip) is None
    torch.nn.utils.clip_grad_value_(ts, clip)
    _assert_grads_equal(es, ts)


@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_clip_single_tensor_and_generator_and_mixed_dtypes(norm_type):
    a32 = np.linspace(-3, 5, 12, dtype=np.float32).reshape(3, 4)
    a64 = np.array([7.0, -1.0])
    for make in (lambda ps: ps[0], lambda ps: iter(ps), lambda ps: (p for p in ps)):
        es, ts = _params([a32, a64], [True, True])
        assert_close(U.clip_grad_norm_(make(es), 1.0, norm_type),
                     torch.nn.utils.clip_grad_norm_(make(ts), 1.0, norm_type))
        _assert_grads_equal(es, ts)


def test_clip_keeps_grad_tensor_and_parameter():
    (e,), _ = _params([np.full((2, 3), 4.0)], [True])
    g, v = e.grad, e._version
    U.clip_grad_norm_(e, 1.0)
    U.clip_grad_value_(e, 0.1)
    assert e.grad is g and e._version == v and e.requires_grad
    assert e.grad.grad_fn is None


def test_nothing_to_clip():
    es, ts = _params([np.ones(3, np.float32)], [False])
    assert_close(U.clip_grad_norm_(es, 1.0), torch.nn.utils.clip_grad_norm_(ts, 1.0))
    assert_close(U.clip_grad_norm_([], 1.0), torch.nn.utils.clip_grad_norm_([], 1.0))
    with pytest.warns(UserWarning, match="empty generator"):
        U.clip_grad_norm_((p for p in []), 1.0)
    U.clip_grad_value_([], 1.0)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_error_if_nonfinite(bad, norm_type):
    a = np.array([1.0, bad, 2.0])
    es, ts = _params([a], [True])
    with pytest.raises(RuntimeError) as te:
        torch.nn.utils.clip_grad_norm_(ts, 1.0, norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="^" + re.escape(str(te.value)) + "$"):
        U.clip_grad_norm_(es, 1.0, norm_type, error_if_nonfinite=True)
    _assert_grads_equal(es, ts)                     # nothing was clipped
    assert_close(U.clip_grad_norm_(es, 1.0, norm_type),
                 torch.nn.utils.clip_grad_norm_(ts, 1.0, norm_type))
    _assert_grads_equal(es, ts)                     # scaled by the non-finite norm


@pytest.mark.parametrize("foreach", [None, True, False])
def test_foreach_accepted(foreach):
    es, ts = _params([np.arange(6.0)], [True])
    assert_close(U.clip_grad_norm_(es, 1.0, foreach=foreach),
                 torch.nn.utils.clip_grad_norm_(ts, 1.0, foreach=foreach))


def test_get_total_norm_and_clip_grads_with_norm():
    es, ts = _params([np.arange(6.0), -np.arange(3.0)], [True, True])
    total_e = U.get_total_norm([p.grad for p in es], 3.0)
    total_t = torch.nn.utils.get_total_norm([p.grad for p in ts], 3.0)
    assert_close(total_e, total_t)
    U.clip_grads_with_norm_(es, 0.5, total_e)
    torch.nn.utils.clip_grads_with_norm_(ts, 0.5, total_t)
    _assert_grads_equal(es, ts)


def test_clip_grad_norm_deprecated_alias():
    es, ts = _params([np.arange(4.0)], [True])
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        total = U.clip_grad_norm(es, 1.0)
    with pytest.warns(FutureWarning):
        assert_close(total, torch.nn.utils.clip_grad_norm(ts, 1.0))


# -- parameters <-> vector ---------------------------------------------------------------

@given(data=st.data())
def test_parameters_to_vector_and_back(data):
    n = data.draw(st.integers(1, 3))
    arrs = [arrays(data.draw, data.draw(shapes(max_dims=3)), np.float64) for _ in range(n)]
    es = [Parameter(ember.from_numpy(a.copy())) for a in arrs]
    ts = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrs]
    ve, vt = U.parameters_to_vector(es), torch.nn.utils.parameters_to_vector(ts)
    assert_close(ve, vt)

    (ve * ember.arange(ve.numel(), dtype=ember.float64)).sum().backward()
    (vt * torch.arange(vt.numel(), dtype=torch.float64)).sum().backward()
    _assert_grads_equal(es, ts)

    new = np.arange(vt.numel(), dtype=np.float64) * 0.5
    ne, nt = ember.from_numpy(new.copy()), torch.from_numpy(new.copy())
    assert U.vector_to_parameters(ne, es) is None
    torch.nn.utils.vector_to_parameters(nt, ts)
    for e, t in zip(es, ts):
        assert isinstance(e, Parameter) and e.requires_grad
        assert_close(e.detach(), t.detach())
    if new.size:                                  # parameters share memory with the vector
        ne[-1] = 100.0
        nt[-1] = 100.0
        assert_close(U.parameters_to_vector(es).detach(),
                     torch.nn.utils.parameters_to_vector(ts).detach())


@pytest.mark.parametrize("vec", [[1.0, 2.0], np.zeros(4), 3.0])
def test_vector_to_parameters_needs_a_tensor(vec):
    with pytest.raises(TypeError) as te:
        torch.nn.utils.vector_to_parameters(vec, [torch.nn.Parameter(torch.zeros(2))])
    want = str(te.value).replace("torch.Tensor", "ember.Tensor")
    with pytest.raises(TypeError, match="^" + re.escape(want) + "$"):
        U.vector_to_parameters(vec, [Parameter(ember.zeros(2))])


def test_vector_too_short_and_empty_list():
    with pytest.raises(RuntimeError):
        torch.nn.utils.vector_to_parameters(torch.zeros(3), [torch.zeros(2, 2)])
    with pytest.raises(RuntimeError, match=r"\[2, 2\].*size 3"):
        U.vector_to_parameters(ember.zeros(3), [Parameter(ember.zeros(2, 2))])
    with pytest.raises(ValueError):
        torch.nn.utils.parameters_to_vector([])
    with pytest.raises(ValueError, match="non-empty"):
        U.parameters_to_vector([])
