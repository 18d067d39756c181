"""Padding: ``pad`` with PyTorch's pad-tuple order (last dimension first) and its four
modes. Constant padding with negative amounts crops.

Constant padding is one op whose backward is the same op with the amounts negated (a pad
crops back what a pad added). The other modes gather from the input along each padded
dimension with an index map; their backward scatter-adds with the same map, and the two
ops are each other's backward, so gradients of any order work.
"""
from __future__ import annotations

from typing import Any, Sequence

from ember.ops.registry import Op, register
from ember.tensor import Tensor

__all__: list = []

_MODES = ("constant", "reflect", "replicate", "circular")


class ConstantPadNd(Op):
    """Pad (or, with negative amounts, crop) each dim by ``pads[d] = (before, after)``."""

    saves = ()

    def forward(self, xp: Any, x: Any, *, pads: tuple, value: Any) -> Any:
        crop = tuple(slice(max(-b, 0), x.shape[d] - max(-a, 0))
                     for d, (b, a) in enumerate(pads))
        x = x[crop]
        grow = tuple((max(b, 0), max(a, 0)) for b, a in pads)
        if not any(b or a for b, a in grow):
            return x.copy()
        out = xp.full(tuple(s + b + a for s, (b, a) in zip(x.shape, grow)), value, x.dtype)
        out[tuple(slice(b, b + s) for s, (b, _) in zip(x.shape, grow))] = x
        return out

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return _constant_pad(g, pads=tuple((-b, -a) for b, a in ctx.attrs["pads"]), value=0)


class PadGather(Op):
    """Pick ``x``'s entries along each dim by ``index[d]`` (None leaves a dim alone)."""

    saves = ()

    def forward(self, xp: Any, x: Any, *, index: tuple, in_shape: tuple) -> Any:
        for d, ix in enumerate(index):
            if ix is not None:
                x = xp.take(x, xp.asarray(ix, dtype="int64"), axis=d)
        return x

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return _pad_scatter(g, **ctx.attrs)


class PadScatter(Op):
    """The adjoint of :class:`PadGather`: sum ``g`` back onto ``in_shape``."""

    saves = ()

    def forward(self, xp: Any, g: Any, *, index: tuple, in_shape: tuple) -> Any:
        for d in reversed(range(len(index))):
            ix = index[d]
            if ix is None:
                continue
            shape = list(g.shape)
            shape[d] = in_shape[d]
            out = xp.zeros(shape, g.dtype)
            xp.add.at(out, (slice(None),) * d + (xp.asarray(ix, dtype="int64"),), g)
            g = out
        return g

    def backward(self, ctx: Any, gg: Tensor) -> Tensor:
        return _pad_gather(gg, **ctx.attrs)


_constant_pad = register(ConstantPadNd())
_pad_gather = register(PadGather())
_pad_scatter = register(PadScatter())


def _index_map(n: int, before: int, after: int, mode: str) -> tuple:
    """Input position of every output position along one dim of size ``n``."""
    if mode == "circular":               # wraps within what negative amounts leave
        lo, kept = max(-before, 0), n - max(-before, 0) - max(-after, 0)
        return tuple(lo + i % kept for i in range(-max(before, 0), kept + max(after, 0)))
    out = []
    for i in range(-before, n + after):
        if mode == "replicate":
            j = min(max(i, 0), n - 1)
        else:                                # reflect about the edge elements
            period = 2 * (n - 1)
            j = i % period if period else 0
            j = period - j if j >= n else j
        out.append(j)
    return tuple(out)


def _pairs(pad: Sequence, ndim: int) -> list:
    """PyTorch's flat pad tuple (last dim first) as ``(before, after)`` per padded dim,
    first padded dim first."""
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad(): argument 'pad' must be tuple of ints, but got "
                        f"{type(pad).__name__}")
    for i, p in enumerate(pad):
        if isinstance(p, bool) or not hasattr(p, "__index__"):
            raise TypeError(f"pad(): argument 'pad' must be tuple of ints, but found element "
                            f"of type {type(p).__name__} at pos {i}")
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) > 2 * ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {ndim}")
    pad = [int(p) for p in pad]
    return [(pad[2 * k], pad[2 * k + 1]) for k in reversed(range(len(pad) // 2))]


def _check_indexed(input: Tensor, pairs: list, mode: str) -> None:
    shape, ndim, k = tuple(input.shape), input.ndim, len(pairs)
    if k > 3 or ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad: padding size {2 * k} is not supported for {ndim}D input tensor in mode "
            f"'{mode}'. Supported combinations for non-constant padding: 2D or 3D input with "
            f"padding size 2, 3D or 4D input with padding size 4, 4D or 5D input with padding "
            f"size 6")
    if any(s == 0 for s in shape[1:]):
        raise RuntimeError(f"pad: expected a tensor with possibly 0 batch size and other "
                           f"non-zero dimensions for mode '{mode}', but got: {list(shape)}")
    for (b, a), d in zip(pairs, range(ndim - k, ndim)):
        n = shape[d]
        if n + b + a < 1:
            raise RuntimeError(f"pad: input (size {n} at dimension {d}) is too small for "
                               f"padding ({b}, {a}) in mode '{mode}': calculated output "
                               f"size {n + b + a}")
        if mode == "reflect" and (b >= n or a >= n):
            raise RuntimeError(f"pad: padding size should be less than the corresponding input "
                               f"dimension in mode 'reflect', but got: padding ({b}, {a}) at "
                               f"dimension {d} of input {list(shape)}")
        kept = n - max(-b, 0) - max(-a, 0)
        if mode == "circular" and (b > kept or a > kept):
            raise RuntimeError(f"pad: padding value causes wrapping around more than once "
                               f"(padding ({b}, {a}) at dimension {d} of input {list(shape)}, {kept} "
                               f"entries left after cropping)")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: float | None = None) -> Tensor:
    """Pad ``input``; ``pad = (left, right, top, bottom, ...)`` starts at the last dim.

    ``mode`` is ``'constant'`` (fill with ``value``, default 0; negative amounts crop),
    ``'reflect'`` (mirror without repeating the edge), ``'replicate'`` (repeat the edge) or
    ``'circular'`` (wrap around). ``pad(ember.ones(2, 3), (1, 1))`` has shape ``(2, 5)``.
    """
    if mode not in _MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r} (expected one of "
                                  f"{', '.join(_MODES)})")
    pairs = _pairs(pad, input.ndim)
    shape = tuple(input.shape)
    lead = input.ndim - len(pairs)
    for (b, a), d in zip(pairs, range(lead, input.ndim)):
        if shape[d] + min(b, 0) + min(a, 0) < 0:
            raise RuntimeError(f"pad: negative padding ({b}, {a}) crops more than the size "
                               f"{shape[d]} of dimension {d} (the cropped length would be "
                               f"negative)")
    if mode == "constant":
        fill = 0 if value is None else value
        if isinstance(fill, Tensor):
            fill = fill.item()
        return _constant_pad(input, pads=((0, 0),) * lead + tuple(pairs), value=fill)
    if value is not None:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    _check_indexed(input, pairs, mode)
    index = (None,) * lead + tuple(_index_map(shape[lead + i], b, a, mode)
                                   for i, (b, a) in enumerate(pairs))
    return _pad_gather(input, index=index, in_shape=shape)
