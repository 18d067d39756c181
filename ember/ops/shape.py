"""Shape ops: reshape/view, expand, permute/transpose, squeeze/unsqueeze, flatten.

Where NumPy returns a view these do too, sharing memory and the version counter with
their input, as PyTorch's views do.
"""
from __future__ import annotations

import math
from typing import Any

from ember.ops._util import norm_dim, shape_arg
from ember.ops.registry import Op, register, tensor_method
from ember.tensor import Tensor

__all__ = ["reshape", "view", "expand", "expand_as", "broadcast_to", "permute", "transpose",
           "swapaxes", "swapdims", "squeeze", "unsqueeze", "flatten", "t"]


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
