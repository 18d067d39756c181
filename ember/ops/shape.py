"""Shape ops: reshape/view, expand, permute/transpose, squeeze/unsqueeze, flatten,
movedim, unflatten, narrow, diagonal, repeat/tile, flip, roll, triu/tril, ...

Where PyTorch returns a view these do too (sharing memory and the version counter with
their input); flip, roll, repeat, tile, triu, tril and diag return copies, as in PyTorch.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.ops._util import norm_dim, shape_arg
from ember.ops.creation import clone
from ember.ops.indexing import indexed
from ember.ops.registry import Op, register, tensor_method
from ember.tensor import Tensor

__all__ = ["reshape", "view", "expand", "expand_as", "broadcast_to", "broadcast_shapes",
           "permute", "transpose", "swapaxes", "swapdims", "squeeze", "unsqueeze", "flatten",
           "t", "unflatten", "movedim", "moveaxis", "repeat", "tile", "flip", "fliplr",
           "flipud", "roll", "narrow", "diagonal", "diag", "diag_embed", "triu", "tril",
           "ravel", "atleast_1d", "atleast_2d", "atleast_3d"]


def _infer_shape(shape: tuple, numel: int, op: str) -> tuple:
    """Resolve one -1 in ``shape``; raise like PyTorch when the sizes disagree."""
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"{op}: invalid shape dimension {min(shape)}")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size "
                               f"{numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class Reshape(Op):
    view = True
    saves = ()

    def forward(self, xp: Any, x: Any, *, shape: tuple, strict: bool = False) -> Any:
        if strict:
            try:
                return xp.reshape(x, shape, copy=False)
            except ValueError:
                raise RuntimeError(
                    f"view size is not compatible with input tensor's size and stride (at "
                    f"least one dimension spans across two contiguous subspaces): input "
                    f"shape {list(x.shape)}, view shape {list(shape)}. Use .reshape(...) "
                    f"instead.") from None
        return x.reshape(shape)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return reshape(g, ctx.edges[0][3])


class Expand(Op):
    view = True
    saves = ()

    def forward(self, xp: Any, x: Any, *, shape: tuple) -> Any:
        if x.ndim == 0 and xp is np:
            # a read-only zero-stride view; ~10x cheaper than np.broadcast_to for this case
            out = np.ndarray(shape, x.dtype, buffer=x, strides=(0,) * len(shape))
            out.flags.writeable = False
            return out
        return xp.broadcast_to(x, shape)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return g.sum_to_size(ctx.edges[0][3])


class Permute(Op):
    view = True
    saves = ()

    def forward(self, xp: Any, x: Any, *, dims: tuple) -> Any:
        return xp.transpose(x, dims)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        dims = ctx.attrs["dims"]
        inv = [0] * len(dims)
        for i, d in enumerate(dims):
            inv[d] = i
        return _permute(g, dims=tuple(inv))


_reshape = register(Reshape())
_expand = register(Expand())
_permute = register(Permute())


@tensor_method()
def reshape(input: Tensor, *shape: Any) -> Tensor:
    """``input`` with a new shape (one dim may be -1); a view when possible, else a copy."""
    shape = _infer_shape(shape_arg(shape, "reshape"), input.numel(), "reshape")
    if shape == tuple(input.shape):
        return input if not input.requires_grad else _reshape(input, shape=shape)
    return _reshape(input, shape=shape)


@tensor_method()
def view(input: Tensor, *shape: Any) -> Tensor:
    """A view with a new shape; raises when the memory layout does not allow one.
    ``view(dtype)`` is not supported."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)) and \
            not hasattr(shape[0], "__index__"):
        raise TypeError("view(dtype) is not supported; use .to(dtype)")
    shape = _infer_shape(shape_arg(shape, "view"), input.numel(), "view")
    return _reshape(input, shape=shape, strict=True)


@tensor_method()
def expand(input: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes`` without copying; -1 keeps a dimension."""
    sizes = shape_arg(sizes, "expand")
    shape = tuple(input.shape)
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                           f"greater or equal to the number of dimensions in the tensor "
                           f"({len(shape)})")
    lead = len(sizes) - len(shape)
    out = []
    for i, s in enumerate(sizes):
        cur = shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing "
                                   f"dimension {i}")
            s = cur
        elif cur is not None and cur != 1 and cur != s:
            raise RuntimeError(f"expand: The expanded size of the tensor ({s}) must match the "
                               f"existing size ({cur}) at non-singleton dimension {i}.  Target "
                               f"sizes: {list(sizes)}.  Tensor sizes: {list(shape)}")
        out.append(s)
    out = tuple(out)
    if out == shape:
        return input
    return _expand(input, shape=out)


@tensor_method()
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, tuple(other.shape))


def broadcast_to(input: Tensor, size: Any) -> Tensor:
    return expand(input, tuple(size))


tensor_method("broadcast_to")(broadcast_to)


@tensor_method()
def permute(input: Tensor, *dims: Any) -> Tensor:
    """Reorder dimensions: ``x.permute(2, 0, 1)``."""
    dims = shape_arg(dims, "permute")
    n = input.ndim
    if len(dims) != n:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                           f"does not match the length of the desired ordering of dimensions "
                           f"i.e. input.dim() = {n} is not equal to len(dims) = {len(dims)}"
                           .replace("(sparse_coo)", ""))
    dims = tuple(norm_dim(d, n, "permute") for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError(f"permute: repeated dim in {list(dims)}")
    if dims == tuple(range(n)):
        return input
    return _permute(input, dims=dims)


@tensor_method()
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    n = input.ndim
    if n == 0:
        norm_dim(dim0, n, "transpose")
        norm_dim(dim1, n, "transpose")
        return input
    d0, d1 = norm_dim(dim0, n, "transpose"), norm_dim(dim1, n, "transpose")
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(input, tuple(dims))


swapaxes = swapdims = transpose
tensor_method("swapaxes", "swapdims")(transpose)


@tensor_method()
def t(input: Tensor) -> Tensor:
    """Transpose a matrix (0-d and 1-d tensors come back unchanged)."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else input


@tensor_method()
def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Remove size-1 dimensions (all, or those in ``dim``)."""
    shape = tuple(input.shape)
    if dim is None:
        dims = {i for i, s in enumerate(shape) if s == 1}
    else:
        dlist = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = {norm_dim(d, len(shape), "squeeze") for d in dlist}
        dims = {d for d in dims if d < len(shape) and shape[d] == 1}
    if not dims:
        return input
    return _reshape(input, shape=tuple(s for i, s in enumerate(shape) if i not in dims))


@tensor_method()
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dimension at ``dim``."""
    shape = list(input.shape)
    d = norm_dim(dim, len(shape) + 1, "unsqueeze")
    shape.insert(d, 1)
    return _reshape(input, shape=tuple(shape))


@tensor_method()
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` into one."""
    shape = tuple(input.shape)
    if not shape:
        return reshape(input, (1,))
    s = norm_dim(start_dim, len(shape), "flatten")
    e = norm_dim(end_dim, len(shape), "flatten")
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    new = shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:]
    return input if new == shape else _reshape(input, shape=new)


@tensor_method()
def unflatten(input: Tensor, dim: int, sizes: Any) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one may be -1); a view.
    ``x.unflatten(1, (2, 3))`` turns shape (4, 6) into (4, 2, 3)."""
    sizes = shape_arg(tuple(sizes), "unflatten")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    shape = tuple(input.shape)
    d = norm_dim(dim, len(shape), "unflatten")
    if not shape:
        raise IndexError("unflatten: Dimension specified as 0 but tensor has no dimensions")
    try:
        sizes = _infer_shape(sizes, shape[d], "unflatten")
    except RuntimeError:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({shape[d]}) in the input tensor") from None
    return _reshape(input, shape=shape[:d] + sizes + shape[d + 1:])


def _dim_list(dims: Any, ndim: int, op: str, what: str) -> list:
    dims = [dims] if isinstance(dims, int) else list(dims)
    out = [norm_dim(d, ndim, op) for d in dims]
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: repeated dim in `{what}` ({dims})")
    return out


@tensor_method("movedim", "moveaxis")
def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    """Move dims ``source`` to positions ``destination`` (ints or sequences); a view."""
    n = input.ndim
    src = _dim_list(source, n, "movedim", "source")
    dst = _dim_list(destination, n, "movedim", "destination")
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) "
                           f"should contain the same number of dims as destination ({dst} "
                           f"dims)")
    order = [None] * max(n, 1)
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(n) if i not in src)
    order = [next(rest) if o is None else o for o in order][:n]
    return permute(input, tuple(order))


moveaxis = movedim


class Repeat(Op):
    saves = ()

    def forward(self, xp: Any, x: Any, *, reps: tuple) -> Any:
        return xp.tile(x, reps)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        reps = ctx.attrs["reps"]
        shape = (1,) * (len(reps) - len(ctx.edges[0][3])) + tuple(ctx.edges[0][3])
        split = []
        for r, s in zip(reps, shape):
            split += [r, s]
        return g.reshape(tuple(split)).sum(tuple(range(0, 2 * len(reps), 2))) \
            .reshape(ctx.edges[0][3])


_repeat = register(Repeat())


@tensor_method()
def repeat(input: Tensor, *sizes: Any) -> Tensor:
    """Tile ``input`` ``sizes[i]`` times along each dim (PyTorch semantics: ``sizes`` may add
    leading dims but not be shorter than ``input.ndim``). ``ember.tensor([1, 2]).repeat(2)``
    is ``tensor([1, 2, 1, 2])``."""
    sizes = shape_arg(sizes, "repeat")
    if len(sizes) < input.ndim:
        raise RuntimeError("repeat: Number of dimensions of repeat dims can not be smaller "
                           "than number of dimensions of tensor")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: Trying to create tensor with negative dimension "
                           f"{min(sizes)}: {list(sizes)}")
    return _repeat(input, reps=sizes)


@tensor_method()
def tile(input: Tensor, dims: Any) -> Tensor:
    """Like :func:`repeat`, but ``dims`` shorter than ``input.ndim`` is padded with 1s."""
    dims = shape_arg(tuple(dims), "tile")
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


class Flip(Op):
    saves = ()

    def forward(self, xp: Any, x: Any, *, dims: tuple) -> Any:
        return xp.flip(x, dims).copy()

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return _flip(g, dims=ctx.attrs["dims"])


class Roll(Op):
    saves = ()

    def forward(self, xp: Any, x: Any, *, shifts: tuple, dims: tuple) -> Any:
        return xp.roll(x, shifts, dims)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        a = ctx.attrs
        return _roll(g, shifts=tuple(-s for s in a["shifts"]), dims=a["dims"])


_flip = register(Flip())
_roll = register(Roll())


@tensor_method()
def flip(input: Tensor, *dims: Any) -> Tensor:
    """A copy with the order of elements reversed along ``dims``."""
    dims = shape_arg(dims, "flip")
    dl = [norm_dim(d, input.ndim, "flip") for d in dims]
    if len(set(dl)) != len(dl):
        raise RuntimeError(f"flip: dim {dl[0]} appears multiple times in the list of dims")
    return _flip(input, dims=tuple(d for d in dl if d < input.ndim))


@tensor_method()
def fliplr(input: Tensor) -> Tensor:
    """Flip dim 1 (left/right); needs at least 2 dims."""
    if input.ndim < 2:
        raise RuntimeError("fliplr: Input must be >= 2-d.")
    return _flip(input, dims=(1,))


@tensor_method()
def flipud(input: Tensor) -> Tensor:
    """Flip dim 0 (up/down); needs at least 1 dim."""
    if input.ndim < 1:
        raise RuntimeError("flipud: Input must be >= 1-d.")
    return _flip(input, dims=(0,))


@tensor_method()
def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Rotate elements along ``dims`` by ``shifts`` (ints or tuples of equal length); with
    ``dims=None`` the tensor is rolled as if flattened."""
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: "
                               f"{len(shifts)}, dims:0")
        return _roll(input.reshape(-1), shifts=shifts, dims=(0,)).view(tuple(input.shape))
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    if input.ndim == 0:
        raise IndexError("roll: Dimension specified as 0 but tensor has no dimensions")
    return _roll(input, shifts=shifts, dims=tuple(norm_dim(d, input.ndim, "roll")
                                                  for d in dims))


@tensor_method()
def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """The view ``input[..., start:start + length, ...]`` along ``dim`` (``start`` may be
    negative or a 0-d tensor)."""
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = norm_dim(dim, input.ndim, "narrow")
    n = input.shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(f"narrow: start out of range (expected to be in range of [{-n}, {n}], "
                         f"but got {start})")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start < 0:
        start += n
    if start + length > n:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                           f"size ({n}).")
    return indexed(input, (slice(None),) * d + (slice(start, start + length),))


def _diag_view(xp: Any, x: Any, offset: int, d1: int, d2: int) -> Any:
    """The (writable when ``x`` is) strided view of a diagonal, last dim the diagonal."""
    start = [0] * x.ndim
    start[d2 if offset >= 0 else d1] = abs(offset)
    n = max(0, min(x.shape[d1] - start[d1], x.shape[d2] - start[d2]))
    if n == 0:
        start = [0] * x.ndim
    base = x[tuple(slice(s, None) for s in start)]
    keep = [i for i in range(x.ndim) if i not in (d1, d2)]
    return xp.lib.stride_tricks.as_strided(
        base, tuple(x.shape[i] for i in keep) + (n,),
        tuple(x.strides[i] for i in keep) + (x.strides[d1] + x.strides[d2],))


class Diagonal(Op):
    view = True
    saves = ()

    def forward(self, xp: Any, x: Any, *, offset: int, dim1: int, dim2: int) -> Any:
        return _diag_view(xp, x, offset, dim1, dim2)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return _diag_scatter(g, shape=ctx.edges[0][3], **ctx.attrs)


class DiagScatter(Op):
    """Zeros of ``shape`` with ``g`` written on a diagonal (the inverse of ``diagonal``)."""

    saves = ()

    def forward(self, xp: Any, g: Any, *, shape: tuple, offset: int, dim1: int,
                dim2: int) -> Any:
        out = xp.zeros(shape, g.dtype)
        _diag_view(xp, out, offset, dim1, dim2)[...] = g
        return out

    def backward(self, ctx: Any, gg: Tensor) -> Tensor:
        a = ctx.attrs
        return _diagonal(gg, offset=a["offset"], dim1=a["dim1"], dim2=a["dim2"])


_diagonal = register(Diagonal())
_diag_scatter = register(DiagScatter())


def _diag_dims(ndim: int, dim1: int, dim2: int, op: str) -> tuple:
    d1, d2 = norm_dim(dim1, ndim, op), norm_dim(dim2, ndim, op)
    if d1 == d2:
        raise RuntimeError(f"{op}: diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


@tensor_method()
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The view of the ``offset`` diagonal of the (``dim1``, ``dim2``) planes, appended as
    the last dim."""
    if input.ndim < 2:
        norm_dim(1, input.ndim, "diagonal")
    d1, d2 = _diag_dims(input.ndim, dim1, dim2, "diagonal")
    return _diagonal(input, offset=int(offset), dim1=d1, dim2=d2)


@tensor_method()
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A tensor whose (``dim1``, ``dim2``) planes have ``input``'s last dim on their
    ``offset`` diagonal and zeros elsewhere."""
    n = input.ndim + 1
    d1, d2 = _diag_dims(n, dim1, dim2, "diag_embed")
    size = input.shape[-1] + abs(offset) if input.ndim else 1 + abs(offset)
    rest = iter(input.shape[:-1])
    shape = tuple(size if i in (d1, d2) else next(rest) for i in range(n))
    return _diag_scatter(input, shape=shape, offset=int(offset), dim1=d1, dim2=d2)


@tensor_method()
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-D input: a square matrix with ``input`` on the ``diagonal``-th diagonal; 2-D
    input: a copy of that diagonal."""
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return clone(_diagonal(input, offset=int(diagonal), dim1=0, dim2=1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


class _Triangle(Op):
    saves = ()

    def forward(self, xp: Any, x: Any, *, diagonal: int) -> Any:
        return getattr(xp, self.name)(x, diagonal)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return self(g, diagonal=ctx.attrs["diagonal"])


class Triu(_Triangle):
    pass


class Tril(_Triangle):
    pass


_triu = register(Triu())
_tril = register(Tril())


def _triangle(op: Op, input: Tensor, diagonal: int) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"{op.name}: input tensor must have at least 2 dimensions")
    return op(input, diagonal=int(diagonal))


@tensor_method()
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle (on and above the ``diagonal``-th diagonal) of the last two dims;
    the rest is zero."""
    return _triangle(_triu, input, diagonal)


@tensor_method()
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (on and below the ``diagonal``-th diagonal) of the last two dims."""
    return _triangle(_tril, input, diagonal)


@tensor_method()
def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor (a view when the layout allows)."""
    return reshape(input, -1)


def _view_as(self: Tensor, other: Tensor) -> Tensor:
    return view(self, tuple(other.shape))


def _reshape_as(self: Tensor, other: Tensor) -> Tensor:
    return reshape(self, tuple(other.shape))


Tensor.view_as = _view_as
Tensor.reshape_as = _reshape_as


def _atleast(tensors: tuple, n: int, pads: dict) -> Any:
    """Reshape each tensor with fewer than ``n`` dims as ``pads[ndim](shape)``; one tensor
    in gives one out, several (or a sequence) give a tuple."""
    one = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and not one:
        tensors = tuple(tensors[0])
    out = tuple(t if t.ndim >= n else reshape(t, pads[t.ndim](tuple(t.shape)))
                for t in tensors)
    return out[0] if one else out


def atleast_1d(*tensors: Tensor) -> Any:
    """Each tensor with at least 1 dim (0-d becomes shape (1,)); one tensor in, one out."""
    return _atleast(tensors, 1, {0: lambda s: (1,)})


def atleast_2d(*tensors: Tensor) -> Any:
    """Each tensor with at least 2 dims: () becomes (1, 1) and (n,) (1, n)."""
    return _atleast(tensors, 2, {0: lambda s: (1, 1), 1: lambda s: (1,) + s})


def atleast_3d(*tensors: Tensor) -> Any:
    """Each tensor with at least 3 dims: (n,) becomes (1, n, 1) and (m, n) (m, n, 1)."""
    return _atleast(tensors, 3, {0: lambda s: (1, 1, 1), 1: lambda s: (1,) + s + (1,),
                                 2: lambda s: s + (1,)})


def broadcast_shapes(*shapes: Any) -> tuple:
    """The shape that ``shapes`` broadcast to, or PyTorch's RuntimeError."""
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    n = max((len(s) for s in shapes), default=0)
    out = [1] * n
    for s in shapes:
        for i, v in enumerate(s, n - len(s)):
            if v != 1 and out[i] != 1 and v != out[i]:
                raise RuntimeError(f"The size of tensor a ({out[i]}) must match the size of "
                                   f"tensor b ({v}) at non-singleton dimension {i}")
            if out[i] == 1:
                out[i] = v
    from ember.tensor import Size
    return Size(out)
