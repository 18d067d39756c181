"""One-call conformance checks: an Ember op against PyTorch (the oracle), forward and
backward, plus float64 finite-difference gradcheck and gradgradcheck.

Write the op once as ``fn(m, *xs)`` where ``m`` is the ``ember`` or ``torch`` module, so
the same lambda runs on both::

    check(lambda m, x, y: m.add(x, y, alpha=2), a, b)

Inputs are NumPy arrays (or Python scalars, passed through unchanged). Floating arrays
require grad unless listed in ``nondiff``.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pytest
import torch
from hypothesis import strategies as st
import hypothesis.extra.numpy as hnp

import ember

TOL = {  # dtype name -> (rtol, atol)
    "float16": (1e-2, 1e-2),
    "bfloat16": (5e-2, 5e-2),
    "float32": (1e-4, 1e-5),
    "float64": (1e-7, 1e-9),
}


def to_ember(a: Any, requires_grad: bool = False) -> Any:
    if isinstance(a, np.ndarray):
        t = ember.from_numpy(a.copy(order="K") if a.flags.writeable else a)
        return t.requires_grad_(requires_grad) if requires_grad else t
    return a


def to_torch(a: Any, requires_grad: bool = False) -> Any:
    if isinstance(a, np.ndarray):
        t = torch.from_numpy(a.copy(order="K"))
        return t.requires_grad_(requires_grad) if requires_grad else t
    return a


def _flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_flat(o))
        return res
    return [out]


def _np(t: Any) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        t = t.detach()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.numpy(force=True)
    if isinstance(t, ember.Tensor):
        a = t.detach().numpy()
        return a.astype(np.float32) if a.dtype.kind == "V" else a
    return np.asarray(t)


def _dtype_name(t: Any) -> str:
    if isinstance(t, torch.Tensor):
        return str(t.dtype).replace("torch.", "")
    return t.dtype.name


def assert_close(e: Any, t: Any, rtol: float | None = None, atol: float | None = None,
                 what: str = "output") -> None:
    """An Ember result equals a torch result: same shape, same dtype, values within the
    dtype's tolerance (exact for integer and bool results)."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{what}: expected a Tensor, got {type(e)}"
        assert tuple(e.shape) == tuple(t.shape), \
            f"{what}: shape {tuple(e.shape)} != torch {tuple(t.shape)}"
        assert _dtype_name(e) == _dtype_name(t), \
            f"{what}: dtype {_dtype_name(e)} != torch {_dtype_name(t)}"
        r, a = TOL.get(_dtype_name(t), (0, 0))
        en, tn = _np(e), _np(t)
        if tn.dtype.kind in "fV" or en.dtype.kind in "fV":
            np.testing.assert_allclose(en.astype(np.float64), tn.astype(np.float64),
                                       rtol=rtol if rtol is not None else r,
                                       atol=atol if atol is not None else a,
                                       equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(en, tn, err_msg=what)
    else:
        if isinstance(e, ember.Tensor):
            e = e.item()
        assert e == t or (e != e and t != t), f"{what}: {e!r} != torch {t!r}"


def check(fn: Callable, *inputs: Any, nondiff: Sequence[int] = (), grad: bool = True,
          gradcheck: bool = True, gradgrad: bool = True, rtol: float | None = None,
          atol: float | None = None, grad_rtol: float | None = None,
          grad_atol: float | None = None, seed: int = 0) -> None:
    """Check ``fn`` on Ember against torch: forward, backward with a random upstream
    gradient, and (float64 inputs) gradcheck and gradgradcheck of the Ember version."""
    diff = [i for i, a in enumerate(inputs) if isinstance(a, np.ndarray) and
            a.dtype.kind == "f" and i not in nondiff and grad]
    e_in = [to_ember(a, i in diff) for i, a in enumerate(inputs)]
    t_in = [to_torch(a, i in diff) for i, a in enumerate(inputs)]
    e_out, t_out = _flat(fn(ember, *e_in)), _flat(fn(torch, *t_in))
    assert len(e_out) == len(t_out), f"{len(e_out)} outputs, torch gives {len(t_out)}"
    for k, (eo, to) in enumerate(zip(e_out, t_out)):
        assert_close(eo, to, rtol, atol, what=f"forward output {k}")
    if not diff:
        return
    pairs = [(eo, to) for eo, to in zip(e_out, t_out)
             if isinstance(to, torch.Tensor) and to.requires_grad]
    for eo, _ in pairs:
        assert eo.requires_grad, "Ember output does not require grad where torch's does"
    if not pairs:
        return
    rng = np.random.default_rng(seed)
    ups = [rng.standard_normal(tuple(to.shape)).astype(_np(to).dtype) for _, to in pairs]
    t_grads = torch.autograd.grad([to for _, to in pairs], [t_in[i] for i in diff],
                                  [torch.from_numpy(u).to(to.dtype) for u, (_, to) in
                                   zip(ups, pairs)], allow_unused=True)
    e_grads = ember.autograd.grad([eo for eo, _ in pairs], [e_in[i] for i in diff],
                                  [ember.from_numpy(u).to(eo.dtype) for u, (eo, _) in
                                   zip(ups, pairs)], allow_unused=True)
    for i, eg, tg in zip(diff, e_grads, t_grads):
        if tg is None:
            assert eg is None or not np.any(_np(eg)), f"grad of input {i}: torch has none"
            continue
        assert eg is not None, f"grad of input {i}: Ember has none, torch has one"
        assert_close(eg, tg, grad_rtol if grad_rtol is not None else rtol,
                     grad_atol if grad_atol is not None else atol, what=f"grad of input {i}")
    if gradcheck and all(inputs[i].dtype == np.float64 for i in diff):
        def efn(*xs: Any) -> Any:
            full = list(e_in)
            for i, x in zip(diff, xs):
                full[i] = x
            return fn(ember, *full)
        xs = [to_ember(inputs[i], True) for i in diff]
        ember.autograd.gradcheck(efn, xs)
        if gradgrad:
            ember.autograd.gradgradcheck(efn, xs)


# -- hypothesis strategies ---------------------------------------------------------------

def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 0,
           max_side: int = 4) -> st.SearchStrategy:
    """Array shapes, including 0-d and size-0 ones."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable(n: int = 2, min_dims: int = 0, max_dims: int = 4, min_side: int = 0,
                  max_side: int = 4) -> st.SearchStrategy:
    """``n`` shapes that broadcast together (tuple of shapes)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims,
                                             max_dims=max_dims, min_side=min_side,
                                             max_side=max_side).map(lambda r: r.input_shapes)


def arrays(draw: Any, shape: tuple, dtype: Any = np.float64, low: float = -3.0,
           high: float = 3.0) -> np.ndarray:
    """A random array of ``shape`` (drawn from a hypothesis seed: fast and shrinkable)."""
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.uniform(low, high, shape).astype(dtype)
    if dtype.kind == "b":
        return np.asarray(rng.random(shape) < 0.5)
    return np.asarray(rng.integers(int(low), int(high) + 1, shape).astype(dtype))


def noncontiguous(a: np.ndarray) -> np.ndarray:
    """The same values in a non-contiguous (Fortran-ordered) layout when ndim >= 2."""
    return np.asfortranarray(a) if a.ndim >= 2 else a


FLOAT_DTYPES = (np.float32, np.float64)


def draw_array(data: Any, dtype: Any = np.float64, **shape_kw: Any) -> tuple:
    """Draw a shape (``shapes(**shape_kw)``) and a random array of it: ``(shape, array)``."""
    shape = data.draw(shapes(**shape_kw))
    return shape, arrays(data.draw, shape, dtype)


def draw_dim(data: Any, ndim: int) -> int:
    """A valid dim (negative allowed) for an ``ndim``-d tensor (0-d accepts -1 and 0)."""
    m = max(ndim, 1)
    return data.draw(st.integers(-m, m - 1))


def draw_shape_dim(data: Any, **shape_kw: Any) -> tuple:
    """Draw a shape (``shapes(**shape_kw)``) and a valid dim of it: ``(shape, dim)``."""
    shape = data.draw(shapes(**shape_kw))
    return shape, draw_dim(data, len(shape))


def with_size(shape: tuple, dim: int, size: int) -> tuple:
    """``shape`` with its ``dim`` entry replaced by ``size``."""
    s = list(shape)
    s[dim] = size
    return tuple(s)


def distinct(draw: Any, shape: tuple, dtype: Any) -> np.ndarray:
    """Values without ties (a shuffled range, scaled), so that max/sort indices and
    gradients are determined."""
    n = int(np.prod(shape))
    perm = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1))).permutation(n)
    return ((perm - n / 2) * 0.37).reshape(shape).astype(dtype)


def check_error(fn: Callable, exc: type, msg: str) -> None:
    """``fn(m)`` raises ``exc`` under torch, and under Ember with a message matching
    ``msg``."""
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc, match=msg):
        fn(ember)
