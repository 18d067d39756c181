"""Linear algebra: matmul (1-D, 2-D and batched with broadcasting), its strict variants
(mm, bmm, mv, dot), products built on it (outer, inner, tensordot, kron, the ``add*``
family) and einsum.

Only ``matmul``, ``einsum``, the fused ``linear`` and ``gemm`` (the 2-D product with
transpose flags that their backwards use) are ops; everything else composes them with
shape ops, so every gradient is differentiable again. Like PyTorch, products do
not promote: both operands must have the same dtype.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from ember.ops.creation import eye, ones
from ember.ops.inplace import inplace_method
from ember.ops.registry import Op, operator_method, register, tensor_method
from ember.tensor import Tensor

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger",
           "tensordot", "kron", "einsum", "addmm", "addmv", "addr", "baddbmm", "addbmm"]


def _same_dtype(name: str, *ts: Tensor) -> None:
    """Refuse mixed dtypes, and bool, as PyTorch's BLAS-backed products do."""
    for t in ts:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected Tensor arguments, got {type(t).__name__}")
    d = ts[0].dtype
    for t in ts[1:]:
        if t.dtype != d:
            raise RuntimeError(f"{name}: expected all arguments to have the same dtype, but "
                               f"got {d.name} and {t.dtype.name}")
    if ts[0]._data.dtype.kind == "b":
        raise NotImplementedError(f"{name}: not implemented for bool tensors")


def _rows(t: Any) -> Any:
    """``t`` (an array or a Tensor) as a matrix: all leading dims flattened into rows
    (size-0 safe)."""
    return t if t.ndim == 2 else t.reshape(math.prod(t.shape[:-1]), t.shape[-1])


def _broadcast_batch(name: str, a: tuple, b: tuple, sa: tuple, sb: tuple) -> None:
    for x, y in zip(reversed(a), reversed(b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"{name}: batch dimensions of shapes {sa} and {sb} cannot be "
                               f"broadcast together: {x} != {y}")


def _matrices(a: Any, b: Any) -> bool:
    """True when ``a @ b`` is a valid product of two 2-D tensors of one (non-bool) dtype."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        ad, bd = a._data, b._data
        return ad.ndim == 2 == bd.ndim and ad.shape[1] == bd.shape[0] and \
            ad.dtype == bd.dtype and ad.dtype.kind != "b"
    return False


class Matmul(Op):
    """``a @ b`` with NumPy's (and PyTorch's) rules for 1-D and batched operands."""

    def check(self, a: Tensor, b: Tensor) -> None:
        if _matrices(a, b):             # fast path: the usual case passes every check below
            return
        _same_dtype("matmul", a, b)
        sa, sb = tuple(a.shape), tuple(b.shape)
        if not sa or not sb:
            raise RuntimeError(f"matmul: both arguments to matmul need to be at least 1D, but "
                               f"they are {len(sa)}D and {len(sb)}D")
        k1, k2 = sa[-1], (sb[-2] if len(sb) > 1 else sb[0])
        if k1 != k2:
            raise RuntimeError(f"matmul: cannot multiply shapes {sa} and {sb}: {k1} != {k2}")
        _broadcast_batch("matmul", sa[:-2], sb[:-2], sa, sb)

    def forward(self, xp: Any, a: Any, b: Any) -> Any:
        if a.ndim > 2 and b.ndim == 2:     # one large GEMM instead of a batch of small ones
            return xp.matmul(_rows(a), b).reshape(a.shape[:-1] + b.shape[1:])
        return xp.matmul(a, b)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        # Gradients come out with the broadcast batch shape; the engine sums them down.
        a, b = ctx.inputs
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if ctx.edges[0] else None), (g * a if ctx.edges[1] else None)
        if a.ndim == 1:                      # (k) @ (..., k, n) -> (..., n)
            if ctx.edges[0]:
                ga = matmul(g.unsqueeze(-2), b.mT).squeeze(-2)
            if ctx.edges[1]:
                gb = a.unsqueeze(-1) * g.unsqueeze(-2)
            return ga, gb
        if b.ndim == 1:                      # (..., m, k) @ (k) -> (..., m)
            if ctx.edges[0]:
                ga = g.unsqueeze(-1) * b
            if ctx.edges[1]:
                gb = matmul(a.mT, g.unsqueeze(-1)).squeeze(-1)
            return ga, gb
        if a.ndim > 2 and b.ndim == 2:       # one GEMM over all rows, as in forward
            if ctx.edges[0]:
                ga = gemm(_rows(g), b, trans_b=True).reshape(tuple(a.shape))
            if ctx.edges[1]:
                gb = gemm(_rows(a), _rows(g), trans_a=True)
            return ga, gb
        if a.ndim == 2 and b.ndim == 2:
            return (gemm(g, b, trans_b=True) if ctx.edges[0] else None,
                    gemm(a, g, trans_a=True) if ctx.edges[1] else None)
        return (matmul(g, b.mT) if ctx.edges[0] else None,
                matmul(a.mT, g) if ctx.edges[1] else None)


class Gemm(Op):
    """``op(a) @ op(b)`` for 2-D ``a`` and ``b``, ``op`` transposing where ``trans_a`` /
    ``trans_b`` says (ONNX's Gemm without the scaling). Backwards use it so that a
    transposed operand reaches BLAS as a flag, never as a copy or an extra op; its own
    gradients are again ``gemm`` calls. Internal: callers guarantee shapes and dtypes."""

    def forward(self, xp: Any, a: Any, b: Any, *, trans_a: bool = False,
                trans_b: bool = False) -> Any:
        return xp.matmul(a.T if trans_a else a, b.T if trans_b else b)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        # c = A' @ B' with A' = op(a), B' = op(b): dA' = g @ B'.T and dB' = A'.T @ g,
        # transposed back where the operand itself was transposed.
        a, b = ctx.inputs
        ta, tb = ctx.attrs.get("trans_a", False), ctx.attrs.get("trans_b", False)
        ga = gb = None
        if ctx.edges[0]:
            ga = gemm(b, g, trans_a=tb, trans_b=True) if ta else gemm(g, b, trans_b=not tb)
        if ctx.edges[1]:
            gb = gemm(g, a, trans_a=True, trans_b=ta) if tb else gemm(a, g, trans_a=not ta)
        return ga, gb


matmul = register(Matmul())
gemm = register(Gemm())
tensor_method("matmul")(matmul)
Tensor.__matmul__ = operator_method(matmul)
Tensor.__rmatmul__ = operator_method(matmul, reflected=True)


def _need_dims(name: str, what: str, t: Tensor, nd: int, words: str) -> None:
    if t.ndim != nd:
        raise RuntimeError(f"{name}: {what} must be {words}, got a {t.ndim}-D tensor of shape "
                           f"{tuple(t.shape)}")


@tensor_method()
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product of two 2-D tensors (no broadcasting): ``(n, m) @ (m, p) -> (n, p)``."""
    if _matrices(input, mat2):
        return matmul(input, mat2)
    _same_dtype("mm", input, mat2)
    _need_dims("mm", "self", input, 2, "a matrix")
    _need_dims("mm", "mat2", mat2, 2, "a matrix")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied "
                           f"({input.shape[0]}x{input.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    return matmul(input, mat2)


@tensor_method()
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of 3-D tensors with equal batch sizes:
    ``(b, n, m) @ (b, m, p) -> (b, n, p)``."""
    _check_bmm("bmm", input, mat2)
    return matmul(input, mat2)


def _check_bmm(name: str, batch1: Tensor, batch2: Tensor) -> None:
    _same_dtype(name, batch1, batch2)
    _need_dims(name, "batch1", batch1, 3, "a 3D tensor")
    _need_dims(name, "batch2", batch2, 3, "a 3D tensor")
    b, _, m = batch1.shape
    if tuple(batch2.shape[:2]) != (b, m):
        raise RuntimeError(f"{name}: Expected size for first two dimensions of batch2 tensor "
                           f"to be: [{b}, {m}] but got: [{batch2.shape[0]}, "
                           f"{batch2.shape[1]}].")


def _check_by_vector(name: str, a: Tensor, v: Tensor, a_ndim: int, bad_dims: Any,
                     bad_size: Any) -> None:
    """Checks of ``a @ v`` for an ``a_ndim``-D ``a`` and a vector ``v`` (mv, dot); the
    messages are callables, built only when raised."""
    _same_dtype(name, a, v)
    if a.ndim != a_ndim or v.ndim != 1:
        raise RuntimeError(f"{name}: {bad_dims()}")
    if a.shape[-1] != v.shape[0]:
        raise RuntimeError(f"{name}: {bad_size()}")


@tensor_method()
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product: ``(n, m) @ (m,) -> (n,)``."""
    _check_by_vector("mv", input, vec, 2,
                     lambda: f"vector + matrix @ vector expected, got a {input.ndim}-D matrix "
                             f"and a {vec.ndim}-D vector",
                     lambda: f"size mismatch, got mat ({input.shape[0]}x{input.shape[1]}), "
                             f"vec ({vec.shape[0]})")
    return matmul(input, vec)


@tensor_method()
def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same length (a 0-d tensor)."""
    _check_by_vector("dot", input, tensor, 1,
                     lambda: f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D "
                             f"tensors",
                     lambda: "inconsistent tensor size, expected tensor [{0}] and src [{1}] to "
                             "have the same number of elements, but got {0} and {1} elements "
                             "respectively".format(input.shape[0], tensor.shape[0]))
    return matmul(input, tensor)


@tensor_method()
def vdot(input: Tensor, other: Tensor) -> Tensor:
    """``dot`` with the first argument conjugated (the same as ``dot`` for real tensors)."""
    return dot(input, other)


@tensor_method()
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors: ``out[i, j] = input[i] * vec2[j]`` (promotes)."""
    for name, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return input.unsqueeze(1) * vec2


ger = outer
tensor_method("ger")(outer)


def _dim_list(dims: Any, ndim: int, name: str) -> list:
    if not isinstance(dims, (list, tuple)) or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in dims):
        raise TypeError(f"{name}: dims must be an int or a pair of lists of ints, got "
                        f"{dims!r}")
    out = []
    for d in dims:
        if not -ndim <= d < ndim:
            raise IndexError(f"{name}: Dimension out of range (expected to be in range of "
                             f"[{-ndim}, {ndim - 1}], but got {d})")
        out.append(d % ndim)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{name}: dim {list(dims)} appears multiple times in the list of "
                           f"dims")
    return out


def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Any = None) -> Tensor:
    """Contract ``a``'s dims ``dims[0]`` with ``b``'s dims ``dims[1]``; an int ``d``
    contracts the last ``d`` dims of ``a`` with the first ``d`` of ``b``.

    >>> tensordot(ones(2, 3), ones(3, 4), dims=1).shape
    ember.Size([2, 4])
    """
    if out is not None:
        raise TypeError("tensordot: out= is not supported")
    _same_dtype("tensordot", a, b)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int) and not isinstance(dims, bool):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a.ndim or dims > b.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got "
                               f"dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    elif isinstance(dims, (list, tuple)) and len(dims) == 2:
        da, db = _dim_list(dims[0], a.ndim, "tensordot"), _dim_list(dims[1], b.ndim,
                                                                    "tensordot")
    else:
        raise TypeError(f"tensordot: dims must be an int or a pair of lists of ints, got "
                        f"{dims!r}")
    if len(da) != len(db):
        raise RuntimeError("tensordot: both dimension lists should have same length")
    sa, sb = tuple(a.shape), tuple(b.shape)
    for i, j in zip(da, db):
        if sa[i] != sb[j]:
            raise RuntimeError(f"tensordot: contracted dimensions need to match, but first has "
                               f"size {sa[i]} in dim {i} and second has size {sb[j]} in dim "
                               f"{j}")
    fa = [i for i in range(a.ndim) if i not in da]
    fb = [j for j in range(b.ndim) if j not in db]
    m, k, n = (math.prod(sa[i] for i in fa), math.prod(sa[i] for i in da),
               math.prod(sb[j] for j in fb))
    a2 = a.permute(fa + da).reshape(m, k)
    b2 = b.permute(db + fb).reshape(k, n)
    return matmul(a2, b2).reshape(tuple(sa[i] for i in fa) + tuple(sb[j] for j in fb))


@tensor_method()
def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum of products over the last dims: shape ``input.shape[:-1] + other.shape[:-1]``;
    a 0-d argument multiplies instead."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    _same_dtype("inner", input, other)
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, dims=([-1], [-1]))


@tensor_method()
def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product; the shorter shape is padded with leading 1s (promotes)."""
    n = max(input.ndim, other.ndim)
    sa = (1,) * (n - input.ndim) + tuple(input.shape)
    sb = (1,) * (n - other.ndim) + tuple(other.shape)
    a = input.reshape(tuple(x for s in sa for x in (s, 1)))
    b = other.reshape(tuple(x for s in sb for x in (1, s)))
    return (a * b).reshape(tuple(x * y for x, y in zip(sa, sb)))


# -- the add* family: beta * input + alpha * (product) ------------------------------------

def _scaled_sum(name: str, input: Tensor, prod: Tensor, beta: Any, alpha: Any) -> Tensor:
    if not prod.is_floating_point() and (isinstance(alpha, float) or isinstance(beta, float)):
        raise RuntimeError(f"{name}: For integral input tensors, arguments beta and alpha "
                           f"must not be floating point numbers.")
    _same_dtype(name, input, prod)
    inp = input.expand(tuple(prod.shape))
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:                  # input is ignored (even its NaNs), as in PyTorch
        return prod
    return prod + (inp if beta == 1 else inp * beta)


@tensor_method()
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1,
          alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``; ``input`` broadcasts to the product."""
    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


@tensor_method()
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


@tensor_method()
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    _same_dtype("addr", vec1, vec2)
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


@tensor_method()
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1,
            alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


@tensor_method()
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1,
           alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``, as one matrix product."""
    _check_bmm("addbmm", batch1, batch2)
    b, n, m = batch1.shape
    p = batch2.shape[2]
    prod = mm(batch1.permute(1, 0, 2).reshape(n, b * m), batch2.reshape(b * m, p))
    return _scaled_sum("addbmm", input, prod, beta, alpha)


for _name in ("addmm", "addmv", "addr", "baddbmm", "addbmm"):
    inplace_method(globals()[_name])


# -- einsum ----------------------------------------------------------------------------------

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _einsum_err(msg: str) -> RuntimeError:
    return RuntimeError(f"einsum(): {msg}")


def _parse_einsum(equation: str, shapes: Sequence[tuple]) -> str:
    """Check ``equation`` against the operand shapes and rewrite it in explicit form
    (``"in,in->out"``) with each ``...`` replaced by letters."""
    eq = equation.replace(" ", "")
    for i, c in enumerate(eq):
        if c not in _LETTERS and c not in ".,->":
            raise _einsum_err(f"invalid subscript given at index {i} in the equation string, "
                              f"subscripts must be in [a-zA-Z]")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) < len(shapes):
        raise _einsum_err("more operands were provided than specified in the equation")
    if len(terms) > len(shapes):
        raise _einsum_err("fewer operands were provided than specified in the equation")
    for term in terms + ([rhs] if arrow else []):
        if term.replace("...", "", 1).count(".") or "-" in term or ">" in term:
            raise _einsum_err(f"found an invalid subscript term {term!r}: '.' may only "
                              f"appear as one '...' per term")
    unused = [c for c in _LETTERS if c not in eq]
    ell_nd = []
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        n = len(term.replace("...", ""))
        if "..." in term:
            if n > len(shape):
                raise _einsum_err(f"the number of subscripts in the equation ({n}) is more than "
                                  f"the number of dimensions ({len(shape)}) for operand {i}")
            ell_nd.append(len(shape) - n)
        elif n != len(shape):
            raise _einsum_err(f"the number of subscripts in the equation ({n}) does not match "
                              f"the number of dimensions ({len(shape)}) for operand {i} and no "
                              f"ellipsis was given")
        else:
            ell_nd.append(0)
    ell = "".join(unused[:max(ell_nd, default=0)])
    terms = [t.replace("...", ell[len(ell) - k:] if k else "") for t, k in zip(terms, ell_nd)]
    sizes: dict = {}
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        own: dict = {}
        for c, s in zip(term, shape):
            what = "dimension covered by ellipsis" if c in ell else f"subscript {c}"
            if c in own and own[c] != s:
                raise _einsum_err(f"{what} is repeated for operand {i} but the sizes don't "
                                  f"match, {s} != {own[c]}")
            own[c] = s
            prev = sizes.get(c, 1)
            if s != prev and s != 1 and prev != 1:
                raise _einsum_err(f"{what} has size {s} for operand {i} which does not "
                                  f"broadcast with previously seen size {prev}")
            sizes[c] = s if prev == 1 else prev
    if arrow:
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise _einsum_err(f"output subscript {c} appears more than once in the output")
            if c not in sizes:
                raise _einsum_err(f"output subscript {c} does not appear in the equation for "
                                  f"any input operand")
    else:
        counts = "".join(terms)
        out = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1
                                   and c not in ell))
    return ",".join(terms) + "->" + out


def _split(equation: str) -> tuple:
    lhs, out = equation.split("->")
    return lhs.split(","), out


class Einsum(Op):
    """Einstein summation over an explicit, ellipsis-free equation (see ``einsum``)."""

    def forward(self, xp: Any, *ops: Any, equation: str) -> Any:
        big = len(ops) > 2 or sum(o.size for o in ops) > 4096
        return xp.einsum(equation, *ops, optimize=big)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        terms, out = _split(ctx.attrs["equation"])
        ops = ctx.inputs
        sizes: dict = {}
        for term, t in zip(terms, ops):
            for c, s in zip(term, t.shape):
                sizes[c] = sizes.get(c, 1) if s == 1 else s
        return tuple(_einsum_grad(i, terms, out, g, ops, sizes) if e else None
                     for i, e in enumerate(ctx.edges))


def _einsum_grad(i: int, terms: list, out: str, g: Tensor, ops: tuple, sizes: dict) -> Tensor:
    """The gradient for operand ``i`` is another einsum: of ``g`` with the other operands,
    plus identity matrices that put it on the diagonals where ``terms[i]`` repeats a
    letter and vectors of ones that broadcast it over letters only operand ``i`` has."""
    subs = [out] + [t for j, t in enumerate(terms) if j != i]
    args = [g] + [o for j, o in enumerate(ops) if j != i]
    fresh = iter(c for c in _LETTERS if c not in "".join(terms) + out)
    have = set("".join(subs))
    res = ""
    for c in terms[i]:
        if c not in res:
            res += c
            if c not in have:
                subs.append(c)
                args.append(ones(sizes[c], dtype=g.dtype))
        else:
            f = next(fresh)
            res += f
            subs.append(c + f)
            args.append(eye(sizes[c], dtype=g.dtype))
    return _einsum(*args, equation=",".join(subs) + "->" + res)


_einsum = register(Einsum())


def _sublist(args: tuple) -> tuple:
    """Translate ``einsum(op1, [0, 1], op2, [1, 2], [0, 2])`` to equation form."""
    def term(sub: Any) -> str:
        return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sub)
    pairs = args[:len(args) // 2 * 2]
    lhs = ",".join(term(s) for s in pairs[1::2])
    return (lhs + "->" + term(args[-1]) if len(args) % 2 else lhs), list(pairs[0::2])


def einsum(*args: Any) -> Tensor:
    """Einstein summation, as ``torch.einsum``: ``einsum("bij,bjk->bik", a, b)``.

    Supports implicit output (letters seen once, sorted), ``...`` (broadcast), repeated
    letters (diagonals and traces), size-1 broadcasting, operands passed as a list, and
    the sublist form ``einsum(a, [0, 1], b, [1, 2])``. Differentiable to any order.
    """
    if not args:
        raise TypeError("einsum(): must specify the equation string and at least one operand")
    if isinstance(args[0], str):
        equation, ops = args[0], list(args[1:])
        if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
            ops = list(ops[0])
    else:
        equation, ops = _sublist(args)
    if not ops:
        raise TypeError("einsum(): must provide at least one operand")
    _same_dtype("einsum", *ops)
    eq = _parse_einsum(equation, [tuple(o.shape) for o in ops])
    return _einsum(*ops, equation=eq)


# -- linear (nn.functional.linear): a fused op -------------------------------------------

class Linear(Op):
    """``input @ weight.T + bias`` with ``weight`` of shape ``(out, in)`` (or ``(in,)``).

    Any leading dims of ``input`` are flattened into one GEMM, forward and backward, so
    the weight gradient is a single product rather than a batch summed afterwards.
    """

    saves = None    # backward reads every input (some only for shapes)

    def check(self, x: Tensor, w: Tensor, b: Any = None) -> None:
        if isinstance(x, Tensor) and isinstance(w, Tensor):     # fast path: the usual case
            xd, wd = x._data, w._data
            if wd.ndim == 2 and xd.ndim >= 1 and xd.shape[-1] == wd.shape[1] and \
                    xd.dtype == wd.dtype and xd.dtype.kind != "b" and \
                    (b is None or (isinstance(b, Tensor) and b._data.shape == wd.shape[:1]
                                   and b._data.dtype == xd.dtype)):
                return
        _same_dtype("linear", *(t for t in (x, w, b) if t is not None))
        if x.ndim == 0 or w.ndim == 0 or w.ndim > 2:
            raise RuntimeError(f"linear: expected input with at least 1 dim and a 1-D or 2-D "
                               f"weight, got shapes {tuple(x.shape)} and {tuple(w.shape)}")
        if x.shape[-1] != w.shape[-1]:
            raise RuntimeError(f"linear: input shape {tuple(x.shape)} does not match weight "
                               f"shape {tuple(w.shape)}: expected input.shape[-1] == "
                               f"{w.shape[-1]}, got {x.shape[-1]}")
        if b is not None:          # as in PyTorch, bias broadcasts to (rows, out_features)
            out = (math.prod(x.shape[:-1]),) + tuple(w.shape[:-1])
            pad = (1,) * (len(out) - b.ndim) + tuple(b.shape)
            if b.ndim > len(out) or any(s != 1 and s != o for s, o in zip(pad, out)):
                raise RuntimeError(f"linear: bias of shape {tuple(b.shape)} does not "
                                   f"broadcast to the output shape "
                                   f"{tuple(x.shape[:-1]) + tuple(w.shape[:-1])}")

    def forward(self, xp: Any, x: Any, w: Any, b: Any = None) -> Any:
        out = xp.matmul(_rows(x), w.T)
        out = out.reshape(x.shape[:-1] + w.shape[:-1])
        if b is not None:
            out += b
        return out

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, w, b = ctx.inputs
        g2 = _rows(g.unsqueeze(-1) if w.ndim == 1 else g)          # (rows, out)
        w2 = w.unsqueeze(0) if w.ndim == 1 else w                  # (out, in)
        gx = gw = gb = None
        if ctx.edges[0]:
            gx = gemm(g2, w2)
            if x.ndim != 2:
                gx = gx.reshape(tuple(x.shape))
        if ctx.edges[1]:
            gw = gemm(g2, _rows(x), trans_a=True)
            if w.ndim == 1:
                gw = gw.reshape(tuple(w.shape))
        if ctx.edges[2]:
            # the usual (out,) bias: sum the rows here; other broadcasts: the engine does
            gb = g2.sum(0) if tuple(b.shape) == tuple(w.shape[:-1]) and b.ndim else g
        return gx, gw, gb


linear = register(Linear())
