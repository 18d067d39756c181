"""Convolutions (1-D and 2-D, plain and transposed) and im2col/col2im (unfold/fold).

Everything runs on 2-D geometry (1-D ops add a height-1 axis). Three linear ops close
under differentiation: for ``y = conv(x, w)`` and the bilinear form ``<conv(x, w), y>``,

* ``convolution(x, w)``       -> y            (forward),
* ``conv_transpose(y, w)``    -> d/dx         (gradient w.r.t. the input),
* ``conv_weight(x, y)``       -> d/dw         (gradient w.r.t. the weight),

and the backward of each is written with the other two, so gradients of any order work.

Layout: inside the ops an image is stored channel-first and batch-last, ``(C, H, W, N)``.
im2col copies one strided slab per kernel offset (kh*kw copies) into columns laid out
``(C, kh, kw, Ho, Wo, N)``; per group that is a ``(Cg*kh*kw, Ho*Wo*N)`` matrix, so a whole
batch is one GEMM against the ``(O, Cg*kh*kw)`` weight matrix, and the weight gradient is
one GEMM too. col2im adds the slabs back the same way. With the batch innermost each slab
row is ``Wo*N`` contiguous values (``N`` when strided) instead of NCHW's ``Wo`` (or single
values), which makes these copies and adds several times faster; the price is one
transposing copy of the input and of the output each way.

The forward keeps its columns (a hidden output) and hands them to ``conv_weight`` as a
constant input, so a training step builds them once, while the columns kept by all
convolutions together stay within ``KEEP_COLS_BYTES``; past that budget the backward
rebuilds them.

3x3 stride-1 convolutions with enough channels (``_winograd.applies``) take Winograd's
F(2x2, 3x3) instead, in all three ops; their hidden output is the transformed input.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any, Iterator, Sequence

from ember.ops import _winograd
from ember.ops._batch_last import to_nchw, unaliased
from ember.ops.creation import from_numpy
from ember.ops.registry import Op, register
from ember.tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]

#: most bytes of columns (Winograd: transformed inputs) the convolutions keep alive at
#: once for their weight gradients. Kept columns live from the forward to the backward, so
#: together they add to a train step's peak memory: a ResNet-18 (CIFAR, batch 32) would
#: keep 250 MiB of them (500 MiB with im2col only, at 2 BLAS threads); with this budget
#: its peak drops by 110 MiB (1 thread) and rebuilding the rest in the backward measured
#: 0-2 % of its step time. Convolutions past the budget keep nothing; -1 keeps none.
KEEP_COLS_BYTES = 140 << 20


class _KeptColumns:
    """The bytes of columns kept now, counted when kept and uncounted when the array
    is freed (with the graph node holding it, after the backward)."""

    def __init__(self) -> None:
        self.nbytes = 0
        self._lock = threading.Lock()

    def fits(self, nbytes: int) -> bool:
        return self.nbytes + nbytes <= KEEP_COLS_BYTES

    def keep(self, cols: Any) -> Any:
        """``cols`` if they fit in the budget, counted until freed; else None."""
        n = cols.nbytes
        with self._lock:
            if not self.fits(n):
                return None
            self.nbytes += n
        try:
            weakref.finalize(cols, self._free, n).atexit = False
        except TypeError:                       # an array type without weak references
            self._free(n)
            return None
        return cols

    def _free(self, n: int) -> None:
        with self._lock:
            self.nbytes -= n


_kept = _KeptColumns()


# -- windows, padding, im2col / col2im on arrays ------------------------------------------

def _pad(xp: Any, x: Any, pad: tuple, size: tuple | None = None, value: Any = 0) -> Any:
    """``x`` (..., H, W) padded by ``pad`` = (top, bottom, left, right) with ``value``; the
    result is at least ``size`` (Hp, Wp) (extra rows/cols at the end). No copy if no pad."""
    t, b, l, r = pad
    h, w = x.shape[-2:]
    hp, wp = h + t + b, w + l + r
    if size is not None:
        hp, wp = max(hp, size[0]), max(wp, size[1])
    if (hp, wp) == (h, w):
        return x
    buf = xp.full(x.shape[:-2] + (hp, wp), value, dtype=x.dtype)
    buf[..., t:t + h, l:l + w] = x
    return buf


def _window(i: int, d: int, s: int, n: int) -> slice:
    """Rows hit by kernel offset ``i`` across ``n`` outputs (dilation ``d``, stride ``s``)."""
    return slice(i * d, i * d + s * (n - 1) + 1, s)


def offsets(k: tuple, s: tuple, d: tuple, out: tuple, lead: int) -> Iterator[tuple]:
    """``(i, j, index)`` for every kernel offset: ``index`` picks, from an array with
    ``lead`` axes before its (H, W) axes, the slab that offset meets across the outputs."""
    head = (slice(None),) * lead
    for i in range(k[0]):
        rows = _window(i, d[0], s[0], out[0])
        for j in range(k[1]):
            yield i, j, head + (rows, _window(j, d[1], s[1], out[1]))


def _im2col(xp: Any, img: Any, k: tuple, s: tuple, d: tuple, out: tuple) -> Any:
    """(A, Hp, Wp, B) -> (A, kh, kw, Ho, Wo, B): one strided slab copy per kernel offset."""
    cols = xp.empty(img.shape[:1] + tuple(k) + tuple(out) + img.shape[3:], dtype=img.dtype)
    if cols.size:
        for i, j, win in offsets(k, s, d, out, 1):
            cols[:, i, j] = img[win]
    return cols


def _col2im(xp: Any, cols: Any, size: tuple, s: tuple, d: tuple) -> Any:
    """(A, kh, kw, Ho, Wo, B) -> (A, Hp, Wp, B): slabs added back per kernel offset."""
    img = xp.zeros(cols.shape[:1] + tuple(size) + cols.shape[5:], dtype=cols.dtype)
    if cols.size:
        for i, j, win in offsets(cols.shape[1:3], s, d, cols.shape[3:5], 1):
            slab = img[win]
            xp.add(slab, cols[:, i, j], out=slab)
    return img


def _padded_size(hw: tuple, pad: tuple) -> tuple:
    return hw[0] + pad[0] + pad[1], hw[1] + pad[2] + pad[3]


def _to_cn(xp: Any, x: Any, pad: tuple = (0, 0, 0, 0)) -> Any:
    """NCHW -> (C, Hp, Wp, N), zero-padded by ``pad`` = (top, bottom, left, right)."""
    n, c, h, w = x.shape
    t, l = pad[0], pad[2]
    img = (xp.zeros if any(pad) else xp.empty)((c,) + _padded_size((h, w), pad) + (n,),
                                               dtype=x.dtype)
    img[:, t:t + h, l:l + w] = unaliased(xp, x).transpose(1, 2, 3, 0)
    return img


def _grouped(xp: Any, y: Any, groups: int) -> Any:
    """An NCHW array as (G, C/G, H*W*N)."""
    n, c, h, w = y.shape
    return _to_cn(xp, y).reshape(groups, c // groups, h * w * n)


def _cols_of(xp: Any, x: Any, k: tuple, out: tuple, stride: tuple, pad: tuple,
             dilation: tuple, groups: int) -> Any:
    """Columns of an NCHW input: (G, Cg*kh*kw, Ho*Wo*N)."""
    cols = _im2col(xp, _to_cn(xp, x, pad), k, stride, dilation, out)
    n, c = x.shape[:2]
    return cols.reshape(groups, c // groups * k[0] * k[1], out[0] * out[1] * n)


def _biased(xp: Any, y: Any, b: Any) -> Any:
    """NCHW ``y`` plus a per-channel bias (in place) when there is one."""
    if b is not None:
        xp.add(y, b[:, None, None], out=y)
    return y


def attrs_but(ctx: Any, name: str) -> dict:
    """A node's attributes without ``name`` (an adjoint's extra attribute)."""
    return {k: v for k, v in ctx.attrs.items() if k != name}


def _geom(ctx: Any) -> dict:
    a = ctx.attrs
    return {k: a[k] for k in ("stride", "pad", "dilation", "groups")}


# -- depthwise convolution (one input and one output channel per group) ----------------
# A GEMM per group would have an inner dimension of only kh*kw; kh*kw fused
# multiply-adds over whole slabs are much faster.

def _depthwise(w: Any, groups: int) -> bool:
    return groups > 1 and w.shape[0] == groups and w.shape[1] == 1


def _dw_conv(xp: Any, x: Any, w: Any, stride: tuple, pad: tuple, dilation: tuple,
             out: tuple) -> Any:
    xpad = _pad(xp, x, pad)
    y = xp.zeros(x.shape[:2] + tuple(out), dtype=x.dtype)
    tmp = xp.empty_like(y)
    for i, j, win in offsets(w.shape[2:], stride, dilation, out, 2):
        y += xp.multiply(xpad[win], w[:, 0, i, j, None, None], out=tmp)
    return y


def _dw_conv_t(xp: Any, y: Any, w: Any, stride: tuple, pad: tuple, dilation: tuple,
               size: tuple) -> Any:
    buf = xp.zeros(y.shape[:2] + _padded_size(size, pad), dtype=y.dtype)
    tmp = xp.empty_like(y)
    for i, j, win in offsets(w.shape[2:], stride, dilation, tuple(y.shape[2:]), 2):
        buf[win] += xp.multiply(y, w[:, 0, i, j, None, None], out=tmp)
    t, l = pad[0], pad[2]
    return xp.ascontiguousarray(buf[:, :, t:t + size[0], l:l + size[1]])


def _dw_conv_w(xp: Any, x: Any, y: Any, stride: tuple, pad: tuple, dilation: tuple,
               ksize: tuple) -> Any:
    xpad = _pad(xp, x, pad)
    gw = xp.empty((x.shape[1], 1) + tuple(ksize), dtype=x.dtype)
    for i, j, win in offsets(ksize, stride, dilation, tuple(y.shape[2:]), 2):
        gw[:, 0, i, j] = xp.einsum("nchw,nchw->c", xpad[win], y)
    return gw


# -- the three convolution ops ----------------------------------------------------------

class Convolution(Op):
    """``y = conv(x, w) + b`` on NCHW arrays; ``out`` is (Ho, Wo). Its hidden output is
    the columns of ``x`` (Winograd's transformed input where that path applies; None for
    depthwise or oversized ones), for the weight gradient."""

    saves = (0, 1)
    hidden = 1

    def forward(self, xp: Any, x: Any, w: Any, b: Any, *, stride: tuple, pad: tuple,
                dilation: tuple, groups: int, out: tuple) -> tuple:
        if _depthwise(w, groups):
            return _biased(xp, _dw_conv(xp, x, w, stride, pad, dilation, out), b), None
        if _winograd.applies(w.shape, stride, pad, dilation, groups, x.dtype, out):
            keep = _kept.fits(_winograd.transformed_nbytes(x.shape, out, x.dtype))
            y, v = _winograd.conv(xp, x, w, pad, out, keep)
            return _biased(xp, y, b), None if v is None else _kept.keep(v)
        o = w.shape[0]
        cols = _cols_of(xp, x, w.shape[2:], out, stride, pad, dilation, groups)
        y = xp.matmul(w.reshape(groups, o // groups, cols.shape[1]), cols)
        y = to_nchw(xp, y.reshape((o,) + tuple(out) + (x.shape[0],)), (0, 0, 0, 0), out)
        return _biased(xp, y, b), _kept.keep(cols)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, w, _ = ctx.inputs
        cols = ctx.saved[0]
        return _grads(ctx, g, _conv_t(g, w, None, size=tuple(x.shape[2:]), **_geom(ctx))
                      if ctx.edges[0] else None,
                      x, g, None if cols is None else from_numpy(cols))


class ConvTranspose(Op):
    """The adjoint of ``convolution`` in its input: (N, O, Ho, Wo) -> (N, C, *size)."""

    saves = (0, 1)

    def forward(self, xp: Any, y: Any, w: Any, b: Any, *, stride: tuple, pad: tuple,
                dilation: tuple, groups: int, size: tuple) -> Any:
        if _depthwise(w, groups):
            return _biased(xp, _dw_conv_t(xp, y, w, stride, pad, dilation, size), b)
        if _winograd.applies(w.shape, stride, pad, dilation, groups, y.dtype, size):
            return _biased(xp, _winograd.conv_input_grad(xp, y, w, pad, size), b)
        n, o, ho, wo = y.shape
        cg, kh, kw = w.shape[1:]
        wm = w.reshape(groups, o // groups, cg * kh * kw).transpose(0, 2, 1)
        cols = xp.matmul(wm, _grouped(xp, y, groups))
        img = _col2im(xp, cols.reshape(groups * cg, kh, kw, ho, wo, n),
                      _padded_size(size, pad), stride, dilation)
        return _biased(xp, to_nchw(xp, img, pad, size), b)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        y, w, _ = ctx.inputs
        return _grads(ctx, g, _conv(g, w, None, out=tuple(y.shape[2:]), **_geom(ctx))
                      if ctx.edges[0] else None, g, y, None)


def _grads(ctx: Any, g: Tensor, gdata: Any, x: Tensor, y: Tensor, cols: Any) -> tuple:
    """The gradients of ``convolution`` / ``conv_transpose`` given the data gradient:
    the weight's is ``conv_weight(x, y)`` (the pair whose bilinear form the op is)."""
    w = ctx.inputs[1]
    gw = _conv_w(x, y, cols, ksize=tuple(w.shape[2:]), **_geom(ctx)) if ctx.edges[1] else None
    return gdata, gw, g.sum((0, 2, 3)) if ctx.edges[2] else None


class ConvWeight(Op):
    """The adjoint of ``convolution`` in its weight: (x, y) -> (O, C/G, *ksize).
    ``cols`` (a constant, or None to build them) are the columns of ``x``."""

    saves = (0, 1)

    def forward(self, xp: Any, x: Any, y: Any, cols: Any, *, stride: tuple, pad: tuple,
                dilation: tuple, groups: int, ksize: tuple) -> Any:
        if groups > 1 and x.shape[1] == groups == y.shape[1]:
            return _dw_conv_w(xp, x, y, stride, pad, dilation, ksize)
        out = tuple(y.shape[2:])
        if _winograd.applies((y.shape[1], x.shape[1] // groups) + tuple(ksize), stride, pad,
                             dilation, groups, x.dtype, out):
            return _winograd.conv_weight_grad(xp, x, cols, y, pad)
        n_cols = (groups, x.shape[1] // groups * ksize[0] * ksize[1], out[0] * out[1] * x.shape[0])
        if cols is None or cols.shape != n_cols:    # none kept, or the forward's Winograd
            cols = _cols_of(xp, x, ksize, out, stride, pad, dilation, groups)
        # cols @ y^T, transposed after: OpenBLAS is several times slower on y @ cols^T
        # (its long inner dimension Ho*Wo*N on a transposed operand)
        gw = xp.matmul(cols, _grouped(xp, y, groups).transpose(0, 2, 1))
        gw = xp.ascontiguousarray(gw.transpose(0, 2, 1))
        return gw.reshape((y.shape[1], x.shape[1] // groups) + tuple(ksize))

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, y, _ = ctx.inputs
        geom = _geom(ctx)
        gx = _conv_t(y, g, None, size=tuple(x.shape[2:]), **geom) if ctx.edges[0] else None
        gy = _conv(x, g, None, out=tuple(y.shape[2:]), **geom) if ctx.edges[1] else None
        return gx, gy, None


_conv = register(Convolution())
_conv_t = register(ConvTranspose())
_conv_w = register(ConvWeight())


# -- im2col / col2im as ops (unfold / fold) --------------------------------------------

class Im2col(Op):
    """(N, C, H, W) -> (N, C*kh*kw, L), PyTorch's ``unfold`` layout."""

    saves = ()

    def forward(self, xp: Any, x: Any, *, ksize: tuple, stride: tuple, pad: tuple,
                dilation: tuple, out: tuple) -> Any:
        n, c, h, w = x.shape
        img = _pad(xp, x.reshape(n * c, h, w), pad)[..., None]
        cols = _im2col(xp, img, ksize, stride, dilation, out)
        return cols.reshape(n, c * ksize[0] * ksize[1], out[0] * out[1])

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return _col2im_op(g, size=tuple(ctx.edges[0][3][2:]), **ctx.attrs)


class Col2im(Op):
    """(N, C*kh*kw, L) -> (N, C, *size), summing overlapping blocks (``fold``)."""

    saves = ()

    def forward(self, xp: Any, cols: Any, *, size: tuple, ksize: tuple, stride: tuple,
                pad: tuple, dilation: tuple, out: tuple) -> Any:
        n = cols.shape[0]
        c = cols.shape[1] // (ksize[0] * ksize[1])
        cols = cols.reshape((n * c,) + tuple(ksize) + tuple(out) + (1,))
        img = _col2im(xp, cols, _padded_size(size, pad), stride, dilation)[..., 0]
        t, l = pad[0], pad[2]
        return xp.ascontiguousarray(img[:, t:t + size[0], l:l + size[1]]).reshape(
            (n, c) + tuple(size))

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return _im2col_op(g, **attrs_but(ctx, "size"))


_im2col_op = register(Im2col())
_col2im_op = register(Col2im())


# -- argument checks shared by the public functions -------------------------------------

def ntuple(v: Any, n: int, what: str, op: str) -> tuple:
    """An int or a length-``n`` (or length-1) sequence of ints as an ``n``-tuple."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            v = tuple(v) * n
        if len(v) != n or not all(isinstance(i, int) for i in v):
            raise RuntimeError(f"{op}: expected {what} to be a single integer value or a list "
                               f"of {n} values to match the convolution dimensions, but got "
                               f"{what}={list(v)}")
        return tuple(int(i) for i in v)
    if hasattr(v, "__index__") and not isinstance(v, bool):
        return (int(v.__index__()),) * n
    raise TypeError(f"{op}: {what} must be an int or a tuple of ints, got {v!r}")


def out_len(n: int, k: int, s: int, d: int, p0: int, p1: int) -> int:
    """Output length of a sliding window over ``n`` padded by ``p0``/``p1``."""
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def _check_tensors(op: str, x: Any, w: Any, b: Any, nd: int) -> None:
    if not isinstance(x, Tensor) or not isinstance(w, Tensor):
        raise TypeError(f"{op}: input and weight must be tensors")
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input "
                           f"to {op}, but got input of size: {list(x.shape)}")
    if w.ndim != nd + 2:
        raise RuntimeError(f"{op}: expected weight to be {nd + 2}-dimensional, but got weight "
                           f"of size {list(w.shape)}")
    if x._data.dtype.kind == "b":
        raise RuntimeError(f"{op}: not implemented for 'Bool'")
    if x._data.dtype != w._data.dtype:
        raise RuntimeError(f"{op}: expected input and weight to have the same dtype, but got "
                           f"input {x.dtype} and weight {w.dtype}")
    if b is not None:
        if not isinstance(b, Tensor):
            raise TypeError(f"{op}: bias must be a tensor or None")
        if b._data.dtype != x._data.dtype:
            raise RuntimeError(f"{op}: expected bias to have dtype {x.dtype}, but got "
                               f"{b.dtype}")


def _check_geometry(op: str, stride: tuple, dilation: tuple, groups: int) -> None:
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported, got "
                           f"stride={list(stride)}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got "
                           f"{list(dilation)}")
    if not isinstance(groups, int) or groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got groups={groups}")


def _conv_padding(op: str, padding: Any, k: tuple, stride: tuple, dilation: tuple) -> tuple:
    """(top, bottom, left, right) from an int, a tuple, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise RuntimeError(f"{op}: Invalid padding string: '{padding}'")
        if any(s != 1 for s in stride):
            raise RuntimeError(f"{op}: padding='same' is not supported for strided "
                               f"convolutions")
        pads = []
        for kk, d in zip(k, dilation):
            total = d * (kk - 1)
            pads += [total // 2, total - total // 2]    # the extra pixel goes at the end
        return tuple(pads)
    p = ntuple(padding, 2, "padding", op)
    if any(v < 0 for v in p):
        raise RuntimeError(f"{op}: negative padding is not supported, got {list(p)}")
    return (p[0], p[0], p[1], p[1])


def _lift(op: str, nd: int, input: Tensor, weight: Tensor, groups: int) -> tuple:
    """Input and weight in their batched 2-D form (1-D ops get a height-1 axis), after
    checking the weight's first dimension is a positive multiple of ``groups``."""
    x = input.unsqueeze(0) if input.ndim == nd + 1 else input
    x, w = (x.unsqueeze(-2), weight.unsqueeze(-2)) if nd == 1 else (x, weight)
    if w.shape[0] == 0 or w.shape[0] % groups:
        raise RuntimeError(f"{op}: Given groups={groups}, expected weight to be at least "
                           f"{groups} at dimension 0 and divisible by {groups}, but got weight "
                           f"of size {list(weight.shape)} instead")
    return x, w


def _unlift(y: Tensor, input: Tensor, nd: int) -> Tensor:
    """Undo ``_lift`` (or pooling's same reshaping) on a result."""
    if nd == 1:
        y = y.squeeze(-2)
    return y.squeeze(0) if input.ndim == nd + 1 else y


# -- public functions -------------------------------------------------------------------

def _convnd(nd: int, op: str, input: Tensor, weight: Tensor, bias: Tensor | None,
            stride: Any, padding: Any, dilation: Any, groups: int) -> Tensor:
    _check_tensors(op, input, weight, bias, nd)
    stride = (1,) * (2 - nd) + ntuple(stride, nd, "stride", op)
    dilation = (1,) * (2 - nd) + ntuple(dilation, nd, "dilation", op)
    if nd == 1 and not isinstance(padding, str):
        padding = (0,) + ntuple(padding, 1, "padding", op)
    _check_geometry(op, stride, dilation, groups)
    x, w = _lift(op, nd, input, weight, groups)
    o, cg = w.shape[:2]
    k = tuple(w.shape[2:])
    if x.shape[1] != cg * groups:
        raise RuntimeError(f"{op}: Given groups={groups}, weight of size {list(weight.shape)}, "
                           f"expected input{list(input.shape)} to have {cg * groups} channels, "
                           f"but got {x.shape[1]} channels instead")
    if bias is not None and tuple(bias.shape) != (o,):
        raise RuntimeError(f"{op}: Given weight of size {list(weight.shape)}, expected bias to "
                           f"be 1-dimensional with {o} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    pad = _conv_padding(op, padding, k, stride, dilation)
    hp, wp = _padded_size(tuple(x.shape[2:]), pad)
    ek = tuple(d * (kk - 1) + 1 for kk, d in zip(k, dilation))
    if hp < ek[0] or wp < ek[1]:
        sizes = (hp, wp)[2 - nd:]
        raise RuntimeError(f"{op}: Calculated padded input size per channel: "
                           f"({' x '.join(map(str, sizes))}). Kernel size: "
                           f"({' x '.join(map(str, ek[2 - nd:]))}). Kernel size can't be "
                           f"greater than actual input size")
    out = (out_len(x.shape[2], k[0], stride[0], dilation[0], pad[0], pad[1]),
           out_len(x.shape[3], k[1], stride[1], dilation[1], pad[2], pad[3]))
    y = _conv(x, w, bias, stride=stride, pad=pad, dilation=dilation, groups=groups, out=out)
    return _unlift(y, input, nd)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation) of an NCHW (or CHW) input with an
    (O, C/groups, kH, kW) weight; ``padding`` may be an int, a pair, 'valid' or 'same'.

    >>> conv2d(ember.randn(1, 3, 8, 8), ember.randn(4, 3, 3, 3), padding=1).shape
    ember.Size([1, 4, 8, 8])
    """
    return _convnd(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D convolution of an (N, C, L) (or (C, L)) input with an (O, C/groups, k) weight."""
    return _convnd(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def _conv_transposend(nd: int, op: str, input: Tensor, weight: Tensor, bias: Tensor | None,
                      stride: Any, padding: Any, output_padding: Any, groups: int,
                      dilation: Any) -> Tensor:
    _check_tensors(op, input, weight, bias, nd)
    if isinstance(padding, str):
        raise TypeError(f"{op}(): argument 'padding' must be tuple of ints, not str")
    lead = (1,) * (2 - nd)
    stride = lead + ntuple(stride, nd, "stride", op)
    dilation = lead + ntuple(dilation, nd, "dilation", op)
    p = (0,) * (2 - nd) + ntuple(padding, nd, "padding", op)
    op_ = (0,) * (2 - nd) + ntuple(output_padding, nd, "output_padding", op)
    _check_geometry(op, stride, dilation, groups)
    if any(v < 0 for v in p + op_):
        raise RuntimeError(f"{op}: negative padding is not supported")
    if any(q >= max(s, d) for q, s, d in zip(op_, stride, dilation)):
        raise RuntimeError(f"{op}: output padding must be smaller than either stride or "
                           f"dilation, but got output_padding={list(op_[2 - nd:])}, "
                           f"stride={list(stride[2 - nd:])}, "
                           f"dilation={list(dilation[2 - nd:])}")
    x, w = _lift(op, nd, input, weight, groups)
    cin, cg = w.shape[:2]
    k = tuple(w.shape[2:])
    if x.shape[1] != cin:
        raise RuntimeError(f"{op}: Given transposed=1, weight of size {list(weight.shape)}, "
                           f"expected input{list(input.shape)} to have {cin} channels, but got "
                           f"{x.shape[1]} channels instead")
    cout = cg * groups
    if bias is not None and tuple(bias.shape) != (cout,):
        raise RuntimeError(f"{op}: Given transposed=1, weight of size {list(weight.shape)}, "
                           f"expected bias to be 1-dimensional with {cout} elements, but got "
                           f"bias of size {list(bias.shape)} instead")
    size = tuple((n - 1) * s - 2 * pp + d * (kk - 1) + q + 1 for n, s, pp, d, kk, q in
                 zip(x.shape[2:], stride, p, dilation, k, op_))
    if any(v <= 0 for v in size):
        raise RuntimeError(f"{op}: Given input size per channel: {list(input.shape[-nd:])}, "
                           f"calculated output size {list(size[2 - nd:])} is too small")
    y = _conv_t(x, w, bias, stride=stride, pad=(p[0], p[0], p[1], p[1]), dilation=dilation,
                groups=groups, size=size)
    return _unlift(y, input, nd)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    """2-D transposed convolution (the gradient of ``conv2d`` w.r.t. its input) with an
    (C_in, C_out/groups, kH, kW) weight.

    >>> conv_transpose2d(ember.randn(1, 4, 5, 5), ember.randn(4, 2, 3, 3), stride=2).shape
    ember.Size([1, 2, 11, 11])
    """
    return _conv_transposend(2, "conv_transpose2d", input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    """1-D transposed convolution with a (C_in, C_out/groups, k) weight."""
    return _conv_transposend(1, "conv_transpose1d", input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def sliding_blocks(op: str, size: Sequence, kernel_size: Any, dilation: Any, padding: Any,
                   stride: Any) -> tuple:
    """Checked (ksize, stride, pad4, dilation, out) for unfold/fold over spatial ``size``."""
    k = ntuple(kernel_size, 2, "kernel_size", op)
    d = ntuple(dilation, 2, "dilation", op)
    p = ntuple(padding, 2, "padding", op)
    s = ntuple(stride, 2, "stride", op)
    if any(v <= 0 for v in k + d + s) or any(v < 0 for v in p):
        raise RuntimeError(f"{op}: kernel_size, dilation and stride must be greater than zero "
                           f"and padding non-negative, but got kernel_size={k}, "
                           f"dilation={d}, padding={p}, stride={s}")
    out = tuple(out_len(n, kk, ss, dd, pp, pp) for n, kk, ss, dd, pp in zip(size, k, s, d, p))
    if any(v < 1 for v in out):
        raise RuntimeError(f"{op}: Given input with spatial size {tuple(size)}, "
                           f"kernel_size={k}, dilation={d}, padding={p}, calculated shape of "
                           f"the array of sliding blocks as {out}, but its components must "
                           f"be at least one.")
    return k, s, (p[0], p[0], p[1], p[1]), d, out


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
           stride: Any = 1) -> Tensor:
    """Extract sliding blocks (im2col): (N, C, H, W) -> (N, C*kH*kW, L)."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"unfold: Expected 3D or 4D (batch mode) tensor, but got input of "
                           f"size {list(input.shape)}")
    x = input.unsqueeze(0) if input.ndim == 3 else input
    k, s, p, d, out = sliding_blocks("unfold", x.shape[2:], kernel_size, dilation, padding,
                                     stride)
    y = _im2col_op(x, ksize=k, stride=s, pad=p, dilation=d, out=out)
    return y.squeeze(0) if input.ndim == 3 else y


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1,
         padding: Any = 0, stride: Any = 1) -> Tensor:
    """Sum sliding blocks back into an image (col2im): (N, C*kH*kW, L) -> (N, C, *size)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"fold: Expected 2D or 3D (batch mode) tensor, but got input of "
                           f"size {list(input.shape)}")
    x = input.unsqueeze(0) if input.ndim == 2 else input
    size = ntuple(output_size, 2, "output_size", "fold")
    k, s, p, d, out = sliding_blocks("fold", size, kernel_size, dilation, padding, stride)
    if x.shape[1] % (k[0] * k[1]):
        raise RuntimeError(f"fold: Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={x.shape[1]} and "
                           f"kernel_size={k}.")
    if x.shape[2] != out[0] * out[1]:
        raise RuntimeError(f"fold: Given output_size={size}, kernel_size={k}, dilation={d}, "
                           f"padding={p[::2]}, stride={s}, expected size of input's dimension "
                           f"2 to match the calculated number of sliding blocks {out[0]} * "
                           f"{out[1]} = {out[0] * out[1]}, but got input.size(2)={x.shape[2]}.")
    y = _col2im_op(x, size=size, ksize=k, stride=s, pad=p, dilation=d, out=out)
    return y.squeeze(0) if input.ndim == 2 else y
