"""``ember.func.vmap``: vectorize a per-example function over a batch dimension.

The function runs once, on batched tensors that look like single examples; every op it
applies is batched by the rules in ``ember.func._batching_rules*`` (see
``ember.func._batching`` for the mechanism).
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from ember.func import _batching_rules  # noqa: F401  (fills the rule table)
from ember.func._batching import Level, Logical, batched, is_batched_at
from ember.tensor import Tensor

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")
_UNSET: Any = object()


def vmap(func: Callable, in_axes: Any = 0, out_axes: Any = 0, *, randomness: str = "error",
         chunk_size: int | None = None, in_dims: Any = _UNSET,
         out_dims: Any = _UNSET) -> Callable:
    """``func`` mapped over a dimension of its inputs, as ``torch.func.vmap``.

    ``in_axes`` (alias ``in_dims``) says which dim of each positional argument is
    mapped: an int for all, or a tuple with one entry per argument, each an int, None
    (not mapped) or a nested structure matching that argument (tuples, lists, dicts).
    Keyword arguments are passed unmapped. ``out_axes`` (alias ``out_dims``) says where
    the mapped dim goes in each output; None returns an output that does not depend on
    the mapped inputs as it is. Inside ``func`` tensors look like one example
    (``x.shape`` hides the mapped dim). Random ops (dropout) raise with
    ``randomness='error'``, draw one sample for the whole batch with ``'same'`` and one
    per example with ``'different'``. ``chunk_size`` maps at most that many examples at
    a time. ``vmap`` nests and composes with ``ember.func.grad`` (``vmap(grad(f))``
    gives per-example gradients) and with ``ember.compile``.

    >>> vmap(ember.dot)(ember.ones(5, 3), ember.ones(5, 3))
    tensor([3., 3., 3., 3., 3.])
    """
    if in_dims is not _UNSET:
        in_axes = in_dims
    if out_dims is not _UNSET:
        out_axes = out_dims
    if not callable(func):
        raise TypeError(f"vmap: func must be callable, got {type(func).__name__}")
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got "
                         f"{chunk_size})")

    @functools.wraps(func)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        return _call(func, in_axes, out_axes, randomness, chunk_size, args, kwargs)
    return mapped


def _name(func: Callable) -> str:
    return getattr(func, "__name__", None) or getattr(func, "name", None) or \
        type(func).__name__


def _call(func: Callable, in_axes: Any, out_axes: Any, randomness: str,
          chunk_size: int | None, args: tuple, kwargs: dict) -> Any:
    name = _name(func)
    where = f"vmap({name}, in_dims={in_axes}, ...)(<inputs>)"
    if not isinstance(in_axes, (int, tuple)) or isinstance(in_axes, bool):
        raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) "
                         f"tuple matching the structure of inputs, got: {type(in_axes)}.")
    if not args:
        raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add "
                         f"inputs, or you are trying to vmap over a function with no inputs. "
                         f"The latter is unsupported.")
    leaves, spec = flatten(args)
    axes = broadcast_prefix(in_axes, args)
    if axes is None:
        raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has structure {spec_repr(flatten(in_axes)[1])} but inputs "
                         f"has structure {spec_repr(spec)}.")
    sizes, dims = [], []
    for leaf, ax in zip(leaves, axes):
        if ax is None:
            dims.append(None)
            continue
        if not isinstance(ax, int) or isinstance(ax, bool):
            raise ValueError(f"{where}: Got in_dim={ax} for an input but in_dim must be either "
                             f"an integer dimension or None.")
        if not isinstance(leaf, Tensor):
            raise ValueError(f"{where}: Got in_dim={ax} for an input but the input is of type "
                             f"{type(leaf)}. We cannot vmap over non-Tensor arguments, please "
                             f"use None as the respective in_dim")
        n = leaf.dim()
        if not -n <= ax < n:
            raise ValueError(f"{where}: Got in_dim={ax} for some input, but that input is a "
                             f"Tensor of dimensionality {n} so expected in_dim to satisfy "
                             f"-{n} <= in_dim < {n}.")
        dims.append(ax % n)
        sizes.append(leaf.shape[ax])
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    size = sizes[0]
    if chunk_size is None or chunk_size >= size:
        return _run(func, name, out_axes, randomness, size, leaves, dims, spec, kwargs)
    return _chunked(func, name, out_axes, randomness, size, chunk_size, leaves, dims, spec,
                    kwargs)


def _run(func: Callable, name: str, out_axes: Any, randomness: str, size: int, leaves: list,
         dims: list, spec: Any, kwargs: dict) -> Any:
    """One vmap call over the whole of ``leaves`` (mapped where ``dims`` is not None)."""
    phys = [leaf if d is None else (leaf if d == 0 else leaf.movedim(d, 0))
            for leaf, d in zip(leaves, dims)]
    with Level(size, randomness) as level:
        inner = [p if d is None else _wrap_input(p, level) for p, d in zip(phys, dims)]
        out = func(*unflatten(spec, inner), **kwargs)
    return _unwrap(out, out_axes, level, name)


def _wrap_input(phys: Tensor, level: Level) -> Tensor:
    """An input as the function sees it. It requires grad when its physical tensor does,
    so that a transform inside (``grad(vmap(grad(f)))``) links to the outer graph."""
    t = batched(phys, level)
    t._rg = phys.requires_grad
    return t


def _unwrap(out: Any, out_axes: Any, level: Level, name: str) -> Any:
    """The function's outputs with the mapped dim put where ``out_axes`` says."""
    leaves, spec = flatten(out)
    out_axes = _single(out_axes, out)
    _check_out_axes(out_axes, name)
    axes = broadcast_prefix(out_axes, out)
    if axes is None:
        raise ValueError(f"vmap({name}, ..., out_dims={out_axes})(<inputs>): out_dims is not "
                         f"compatible with the structure of `outputs`. out_dims has structure "
                         f"{spec_repr(flatten(out_axes)[1])} but outputs has structure "
                         f"{spec_repr(spec)}.")
    res = []
    for leaf, ax in zip(leaves, axes):
        here = is_batched_at(leaf, level)
        if isinstance(leaf, Tensor) and leaf._data.__class__ is Logical and not here and \
                not leaf._data._level.alive:
            raise RuntimeError(f"vmap({name}, ...): returned a batched tensor of an inner vmap "
                               f"that has already returned")
        if ax is None:
            if here:
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor "
                                 f"when out_dim is None")
            res.append(leaf)
            continue
        if not isinstance(leaf, Tensor):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                             f"{type(leaf)}. Did you mean to set out_dims= to None for output?")
        if here:
            p = leaf._data._phys
        else:
            p = leaf.expand((level.size,) + tuple(leaf.shape))
        n = p.dim()
        if not -n <= ax < n:
            raise IndexError(f"vmap({name}, ...): Dimension out of range (expected out_dim to "
                             f"be in range of [{-n}, {n - 1}], but got {ax})")
        ax %= n
        res.append(p if ax == 0 else p.movedim(0, ax))
    return unflatten(spec, res)


def _single(out_axes: Any, out: Any) -> Any:
    """``out_axes`` of one entry for a function returning one tensor means that entry."""
    if isinstance(out_axes, tuple) and len(out_axes) == 1 and not isinstance(out, tuple):
        return out_axes[0]
    return out_axes


def _check_out_axes(out_axes: Any, name: str) -> None:
    leaves, _ = flatten(out_axes)
    if not isinstance(out_axes, (int, tuple, list, dict)) and out_axes is not None or \
            any(not (a is None or (isinstance(a, int) and not isinstance(a, bool)))
                for a in leaves):
        raise ValueError(f"vmap({name}, ..., out_dims={out_axes}): `out_dims` must be an int, "
                         f"None or a python collection of ints representing where in the "
                         f"outputs the vmapped dimension should appear.")


def _chunked(func: Callable, name: str, out_axes: Any, randomness: str, size: int,
             chunk: int, leaves: list, dims: list, spec: Any, kwargs: dict) -> Any:
    """Map ``chunk`` examples at a time and join the outputs along their mapped dims."""
    from ember import random as _random
    from ember.ops.joining import cat
    state = _random.get_rng_state() if randomness == "same" else None
    outs = []
    for start in range(0, size, chunk):
        n = min(chunk, size - start)
        part = [leaf if d is None else leaf.narrow(d, start, n) for leaf, d in zip(leaves, dims)]
        if state is not None:
            _random.set_rng_state(state)     # every chunk draws the same sample
        outs.append(_run(func, name, out_axes, randomness, n, part, dims, spec, kwargs))
    flat = [flatten(o)[0] for o in outs]
    spec_out = flatten(outs[0])[1]
    axes = broadcast_prefix(_single(out_axes, outs[0]), outs[0])
    joined = []
    for k, ax in enumerate(axes):
        parts = [f[k] for f in flat]
        joined.append(parts[0] if ax is None else cat(parts, ax))
    return unflatten(spec_out, joined)


# -- nested arguments (tuples, lists, dicts, named tuples) -----------------------------------

def _children(tree: Any) -> tuple | None:
    """``(kind, keys, children)`` of a container, None for a leaf."""
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree), None, list(tree)
    if isinstance(tree, (tuple, list)):
        return type(tree), None, list(tree)
    if isinstance(tree, dict):
        return dict, list(tree), list(tree.values())
    return None


def flatten(tree: Any) -> tuple[list, Any]:
    """The leaves of a nested structure, and its spec (None for a leaf)."""
    node = _children(tree)
    if node is None:
        return [tree], None
    kind, keys, kids = node
    leaves, specs = [], []
    for k in kids:
        sub, s = flatten(k)
        leaves += sub
        specs.append(s)
    return leaves, (kind, keys, specs)


def unflatten(spec: Any, leaves: list) -> Any:
    """The structure ``spec`` describes, filled with ``leaves`` in order."""
    it = iter(leaves)

    def build(s: Any) -> Any:
        if s is None:
            return next(it)
        kind, keys, specs = s
        kids = [build(c) for c in specs]
        if kind is dict:
            return dict(zip(keys, kids))
        if hasattr(kind, "_fields"):
            return kind(*kids)
        return kind(kids)
    return build(spec)


def broadcast_prefix(prefix: Any, tree: Any) -> list | None:
    """One value of ``prefix`` per leaf of ``tree``: a leaf of ``prefix`` (an int or None)
    covers a whole subtree; containers must match. None when they do not."""
    pnode = _children(prefix)
    if pnode is None:
        return [prefix] * len(flatten(tree)[0])
    tnode = _children(tree)
    if tnode is None or pnode[0] is not tnode[0] and not (
            issubclass(tnode[0], tuple) and pnode[0] is tuple):
        return None
    if pnode[0] is dict:
        if set(pnode[1]) != set(tnode[1]):
            return None
        pairs = [(prefix[k], tree[k]) for k in tnode[1]]
    else:
        if len(pnode[2]) != len(tnode[2]):
            return None
        pairs = list(zip(pnode[2], tnode[2]))
    out: list = []
    for p, t in pairs:
        sub = broadcast_prefix(p, t)
        if sub is None:
            return None
        out += sub
    return out


def spec_repr(spec: Any) -> str:
    """A structure as PyTorch prints it in vmap's errors (``*`` for a leaf)."""
    if spec is None:
        return "*"
    kind, keys, specs = spec
    return f"TreeSpec({kind.__name__}, {keys}, [{', '.join(spec_repr(s) for s in specs)}])"
