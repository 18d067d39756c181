"""Function transforms in the torch.func / JAX style, built on ``ember.autograd.grad``:
``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd`` and ``hessian``.

Each call of a transformed function is one *level*: it enables grad, gives ``func``
fresh differentiable copies of the inputs, differentiates with ``ember.autograd.grad``
and hands back results cut from its own graph. An input that already carries a graph of
an outer level (an outer transform, or plain autograd) gets a fresh alias *linked* to it
(``x.view_as(x)``) instead of a detached copy, and the level differentiates with
``create_graph=True`` whenever its function touches such an outer graph, so outer levels
can differentiate the results again: ``grad(grad(f))``, ``jacfwd(jacrev(f))``.

Forward mode (``jvp``, ``jacfwd``) uses the double-vjp trick: ``g(u) = J^T u`` is linear
in a dummy cotangent ``u``, so its vjp with the tangent ``t`` is ``J t``.
"""
from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any, Callable

import ember
from ember.autograd import enable_grad, is_grad_enabled
from ember.autograd import grad as autograd_grad
from ember.tensor import Tensor

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacrev", "jacfwd", "hessian"]

# -- pytrees: tuples, lists, namedtuples, dicts and None are nodes, everything else a leaf --

_LEAF = "*"


def _flatten(tree: Any) -> tuple[list, Any]:
    """The leaves of ``tree`` in order and a hashable spec of its structure."""
    leaves: list = []

    def go(t: Any) -> Any:
        kind = type(t)
        if t is None:
            return (kind, None, ())
        if kind in (tuple, list) or (isinstance(t, tuple) and hasattr(t, "_fields")):
            return (kind, None, tuple(go(c) for c in t))
        if kind is dict or kind is OrderedDict:
            return (kind, tuple(t), tuple(go(c) for c in t.values()))
        leaves.append(t)
        return _LEAF

    return leaves, go(tree)


def _unflatten(leaves: list, spec: Any) -> Any:
    """Rebuild the structure ``spec`` (from :func:`_flatten`) around ``leaves``."""
    it = iter(leaves)

    def go(s: Any) -> Any:
        if s == _LEAF:
            return next(it)
        kind, keys, children = s
        if kind is type(None):
            return None
        values = [go(c) for c in children]
        if keys is not None:
            return kind(zip(keys, values))
        return kind(*values) if hasattr(kind, "_fields") else kind(values)

    return go(spec)


def _spec_str(spec: Any) -> str:
    """``(*, [*, *])``-style picture of a structure, for error messages."""
    if spec == _LEAF:
        return "*"
    kind, keys, children = spec
    if kind is type(None):
        return "None"
    parts = [_spec_str(c) for c in children]
    if keys is not None:
        return "{" + ", ".join(f"{k!r}: {p}" for k, p in zip(keys, parts)) + "}"
    if kind is list:
        return "[" + ", ".join(parts) + "]"
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


# -- argnums -----------------------------------------------------------------------------

def _check_argnums(argnums: Any, nargs: int, api: str) -> Any:
    """``argnums`` validated against ``nargs`` positional inputs, negatives wrapped."""
    def one(a: Any) -> int:
        if not isinstance(a, int) or isinstance(a, bool):
            raise RuntimeError(f"{api}: argnum must be int, got: {type(a)}")
        if -nargs <= a < nargs:
            return a % nargs
        raise RuntimeError(f"{api}: Got argnum={a}, but only {nargs} positional inputs")

    if isinstance(argnums, tuple):
        if not argnums:
            raise RuntimeError(f"{api}: argnums must be non-empty")
        out = tuple(one(a) for a in argnums)
        if len(set(out)) != len(out):
            raise RuntimeError(f"{api}: argnums elements must be unique, got {argnums}")
        return out
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        return one(argnums)
    raise RuntimeError(f"{api}: argnums must be int or Tuple[int, ...], got: {type(argnums)}")


def _pick(args: tuple, argnums: Any) -> Any:
    return args[argnums] if isinstance(argnums, int) else tuple(args[i] for i in argnums)


def _replace(args: tuple, argnums: Any, new: Any) -> tuple:
    if isinstance(argnums, int):
        return args[:argnums] + (new,) + args[argnums + 1:]
    swap = dict(zip(argnums, new))
    return tuple(swap.get(i, a) for i, a in enumerate(args))


# -- checks shared by the transforms ----------------------------------------------------

def _split_aux(out: Any, has_aux: bool, api: str) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) "
                           f"if has_aux is True")
    return out


def _check_outputs(outs: list, api: str) -> None:
    """Outputs of ``f`` for vjp/jvp/jacobians: non-empty, tensors, floating point."""
    if not outs:
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output "
                           f"(got output = {outs})")
    for o in outs:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got "
                               f"unsupported type {type(o)}")
        if not o.is_floating_point():
            raise RuntimeError(f"{api}: All outputs of f must be floating-point Tensors, "
                               f"got Tensor with dtype {o.dtype} and shape {tuple(o.shape)}")


def _check_tensors(items: list, api: str, argname: str) -> None:
    if not items:
        raise RuntimeError(f"{api}: Expected {argname} to contain at least one Tensor.")
    for t in items:
        if not isinstance(t, Tensor):
            raise RuntimeError(f"{api}: Expected {argname} to only contain Tensors, got "
                               f"{type(t)}")


# -- one level of differentiation --------------------------------------------------------

class _Level:
    """One call of a transformed function (see the module docstring)."""

    def __init__(self, api: str):
        self.api = api
        self.own: dict[int, Tensor] = {}     # id -> this level's fresh leaves (kept alive)
        self.clean: dict[int, Any] = {}      # id -> node known not to reach an outer graph

    def __enter__(self) -> "_Level":
        # a transform ignores a no_grad around it (its result must not depend on it) but
        # its results join an outer graph only where grad was enabled outside
        self.outer_grad = is_grad_enabled()
        self._mode = enable_grad()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._mode.__exit__(*exc)

    def leaf(self, t: Tensor) -> Tensor:
        """Register ``t`` (a new tensor) as a differentiable leaf of this level."""
        t = t.requires_grad_()
        self.own[id(t)] = t
        return t

    def fresh(self, x: Any) -> Tensor:
        """The differentiable stand-in for input ``x``."""
        if not isinstance(x, Tensor):
            raise ValueError(f"{self.api}: Thing passed to transform API must be Tensor, "
                             f"got {type(x)}")
        if x.requires_grad and self.outer_grad:
            return x.view_as(x)             # linked to the outer graph
        try:
            return self.leaf(x.detach())
        except RuntimeError as e:
            raise RuntimeError(f"{self.api}: cannot differentiate with respect to a "
                               f"{x.dtype} input of shape {tuple(x.shape)}: {e}") from None

    def fresh_tree(self, tree: Any) -> Any:
        leaves, spec = _flatten(tree)
        return _unflatten([self.fresh(x) for x in leaves], spec)

    def reaches_outer(self, tensors: list) -> bool:
        """Whether any of ``tensors`` depends on a differentiable leaf that is not this
        level's own (so results must keep their graph for an outer level)."""
        stack = []
        for t in tensors:
            if not (isinstance(t, Tensor) and t.requires_grad):
                continue
            if t.grad_fn is None:
                if id(t) not in self.own:
                    return True
            elif id(t.grad_fn) not in self.clean:
                stack.append(t.grad_fn)
        seen: dict[int, Any] = {}
        while stack:
            fn = stack.pop()
            if id(fn) in seen:
                continue
            seen[id(fn)] = fn
            for nxt, _ in fn.next_functions:
                if nxt is None or id(nxt) in self.clean:
                    continue
                var = getattr(nxt, "variable", None)      # AccumulateGrad: a leaf
                if var is not None:
                    if var.requires_grad and id(var) not in self.own:
                        return True
                else:
                    stack.append(nxt)
        self.clean.update(seen)          # holding the nodes keeps their ids unique
        return False

    def export(self, tree: Any, keep_graph: bool) -> Any:
        """``tree`` with each tensor cut from this level's graph, except tensors that
        depend on an outer graph when ``keep_graph``."""
        leaves, spec = _flatten(tree)
        out = [t.detach() if isinstance(t, Tensor) and t.requires_grad and
               not (keep_graph and self.reaches_outer([t])) else t for t in leaves]
        return _unflatten(out, spec)

    def pull(self, outs: list, ins: list, cots: list | None, create_graph: bool,
             retain_graph: bool = True) -> list:
        """``J^T cot`` for each of ``ins`` (zeros where ``ins`` is unused)."""
        cots = cots if cots is not None else [None] * len(outs)
        pairs = [(o, c) for o, c in zip(outs, cots) if o.requires_grad]
        got = [None] * len(ins)
        if pairs:
            os_, cs = zip(*pairs)
            got = autograd_grad(list(os_), ins, None if cots[0] is None else list(cs),
                                retain_graph=retain_graph, create_graph=create_graph,
                                allow_unused=True)
        return [ember.zeros_like(i) if g is None else g for g, i in zip(got, ins)]

    def linearize(self, outs: list, ins: list) -> Callable[[list, bool], list]:
        """A function ``push(tangents, create_graph)`` giving ``J t`` for each output
        (None where an output does not depend on the inputs); a tangent may be None
        (zero)."""
        diff = [k for k, o in enumerate(outs) if o.requires_grad]
        us = [self.leaf(ember.zeros_like(outs[k])) for k in diff]
        gs = [None] * len(ins)
        if diff:
            gs = autograd_grad([outs[k] for k in diff], ins, us, retain_graph=True,
                               create_graph=True, allow_unused=True)

        def push(tangents: list, create_graph: bool) -> list:
            pairs = [(g, t) for g, t in zip(gs, tangents)
                     if g is not None and t is not None and g.requires_grad]
            res: list = [None] * len(outs)
            if pairs:
                got = autograd_grad([g for g, _ in pairs], us, [t for _, t in pairs],
                                    retain_graph=True, create_graph=create_graph,
                                    allow_unused=True)
                for k, r in zip(diff, got):
                    res[k] = r
            return res

        return push


# -- the transforms ----------------------------------------------------------------------

def _grad_and_value(func: Callable, argnums: Any, has_aux: bool, args: tuple, kwargs: dict,
                    api: str) -> tuple[Any, Any, Any]:
    argnums = _check_argnums(argnums, len(args), api)
    with _Level(api) as lv:
        diff = lv.fresh_tree(_pick(args, argnums))
        out, aux = _split_aux(func(*_replace(args, argnums, diff), **kwargs), has_aux, api)
        if not isinstance(out, Tensor):
            raise RuntimeError(f"{api}: Expected f(*args) to return a Tensor, got {type(out)}")
        if out.dim() != 0:
            raise RuntimeError(f"{api}: Expected f(*args) to return a scalar Tensor, got "
                               f"tensor with {out.dim()} dims (shape {tuple(out.shape)}). "
                               f"Maybe you wanted to use the vjp or jacrev APIs instead?")
        ins, spec = _flatten(diff)
        keep = lv.outer_grad and lv.reaches_outer([out])
        grads = lv.pull([out], ins, None, create_graph=keep, retain_graph=keep)
        return (lv.export(_unflatten(grads, spec), keep), lv.export(out, keep),
                lv.export(aux, lv.outer_grad))


def grad(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """The function computing the gradient of scalar-valued ``func`` w.r.t. the
    positional argument(s) ``argnums`` (a pytree of tensors each; a tuple of argnums gives
    a tuple of gradients). With ``has_aux`` ``func`` returns ``(output, aux)`` and the
    result is ``(gradient, aux)``. Composes with every transform: ``grad(grad(f))``.

    >>> import ember.func as func
    >>> func.grad(lambda x: (x ** 3).sum())(ember.tensor([1.0, 2.0]))   # [3., 12.]
    """
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, _, aux = _grad_and_value(func, argnums, has_aux, args, kwargs, "grad(f)(*args)")
        return (g, aux) if has_aux else g
    return wrapper


def value_and_grad(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """Like :func:`grad`, but the function returns ``(value, gradient)`` (JAX's order;
    ``((value, aux), gradient)`` with ``has_aux``), running ``func`` only once.

    >>> import ember.func as func
    >>> value, g = func.value_and_grad(lambda x: (x ** 2).sum())(ember.tensor([3.0]))
    """
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value, aux = _grad_and_value(func, argnums, has_aux, args, kwargs,
                                        "value_and_grad(f)(*args)")
        return ((value, aux), g) if has_aux else (value, g)
    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """Run ``func(*primals)`` and return ``(output, vjp_fn)`` (``(output, vjp_fn, aux)``
    with ``has_aux``). ``vjp_fn(cotangents)`` takes a pytree shaped like ``output`` and
    returns the tuple of vector-Jacobian products, one per primal; it can be called many
    times.

    >>> import ember.func as func
    >>> out, vjp_fn = func.vjp(ember.sin, ember.tensor([0.0, 1.0]))
    >>> (g,) = vjp_fn(ember.ones(2))          # cos(x)
    """
    api = "vjp(f, *primals)"
    with _Level(api) as lv:
        diff = lv.fresh_tree(primals)
        out, aux = _split_aux(func(*diff), has_aux, api)
        outs, out_spec = _flatten(out)
        _check_outputs(outs, api)
        ins, in_spec = _flatten(diff)
        outer = lv.outer_grad and lv.reaches_outer(outs)
        value, aux = lv.export(out, outer), lv.export(aux, lv.outer_grad)

    def vjp_fn(cotangents: Any, retain_graph: bool = True,
               create_graph: bool | None = None) -> tuple:
        cots, spec = _flatten(cotangents)
        if spec != out_spec:
            raise RuntimeError(f"vjp_fn: Expected pytree structure of cotangents to be the "
                               f"same as pytree structure of outputs to the function. "
                               f"cotangents: {_spec_str(spec)}, primal output: "
                               f"{_spec_str(out_spec)}")
        _check_tensors(cots, "vjp_fn", "cotangents")
        if create_graph is None:
            create_graph = is_grad_enabled() and (
                outer or any(c.requires_grad for c in cots))
        grads = lv.pull(outs, ins, cots, create_graph, retain_graph)
        return lv.export(_unflatten(grads, in_spec), create_graph)

    return (value, vjp_fn, aux) if has_aux else (value, vjp_fn)


def jvp(func: Callable, primals: tuple, tangents: tuple, *, strict: bool = False,
        has_aux: bool = False) -> tuple:
    """Run ``func(*primals)`` and return ``(output, jvp_out)``: the Jacobian of ``func``
    at ``primals`` times ``tangents`` (a pytree shaped like ``primals``); with
    ``has_aux``, ``(output, jvp_out, aux)``. With ``strict`` an output independent of the
    inputs is an error instead of a zero tangent.

    >>> import ember.func as func
    >>> out, t = func.jvp(lambda x: x ** 2, (ember.tensor([3.0]),), (ember.tensor([1.0]),))
    """
    api = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{api}: Expected primals to be a tuple. E.g. it should be valid "
                           f"to call f(*primals).")
    ps, p_spec = _flatten(primals)
    ts, t_spec = _flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(f"{api}: Expected primals and tangents to have the same python "
                           f"structure. Got primals with structure {_spec_str(p_spec)} and "
                           f"tangents with structure {_spec_str(t_spec)}")
    _check_tensors(ps, api, "primals")
    _check_tensors(ts, api, "tangents")
    for i, (p, t) in enumerate(zip(ps, ts)):
        if p.shape != t.shape:
            raise RuntimeError(f"{api}: tangent {i} has shape {tuple(t.shape)} but its "
                               f"primal has shape {tuple(p.shape)}")
    with _Level(api) as lv:
        ins = [lv.fresh(p) for p in ps]
        out, aux = _split_aux(func(*_unflatten(ins, p_spec)), has_aux, api)
        outs, out_spec = _flatten(out)
        _check_outputs(outs, api)
        outer = lv.outer_grad and (lv.reaches_outer(outs) or
                                   any(t.requires_grad for t in ts))
        pushed = lv.linearize(outs, ins)(ts, outer)
        if strict and any(t is None for t in pushed):
            raise RuntimeError(f"{api}, strict=True: The output of f is independent of the "
                               f"inputs. This is not allowed with strict=True.")
        pushed = [ember.zeros_like(o) if t is None else t for t, o in zip(pushed, outs)]
        res = (lv.export(out, outer), lv.export(_unflatten(pushed, out_spec), outer))
        return res + (lv.export(aux, lv.outer_grad),) if has_aux else res


def _jacobian(func: Callable, argnums: Any, has_aux: bool, args: tuple, api: str,
              forward: bool) -> Any:
    """The Jacobian of ``func`` w.r.t. ``args[argnums]``: per output (pytree), a pytree
    like the differentiated inputs of blocks shaped ``output.shape + input.shape``."""
    argnums = _check_argnums(argnums, len(args), api)
    with _Level(api) as lv:
        diff = lv.fresh_tree(_pick(args, argnums))
        out, aux = _split_aux(func(*_replace(args, argnums, diff)), has_aux, api)
        outs, out_spec = _flatten(out)
        _check_outputs(outs, api)
        ins, in_spec = _flatten(diff)
        outer = lv.outer_grad and lv.reaches_outer(outs)
        blocks = (_forward_blocks if forward else _reverse_blocks)(lv, outs, ins, outer)
        jac = _unflatten([_unflatten(row, in_spec) for row in blocks], out_spec)
        jac = lv.export(jac, outer)
        return (jac, lv.export(aux, lv.outer_grad)) if has_aux else jac


def _zero_block(o: Tensor, i: Tensor) -> Tensor:
    return ember.zeros(tuple(o.shape) + tuple(i.shape), dtype=i.dtype)


def _reverse_blocks(lv: _Level, outs: list, ins: list, outer: bool) -> list:
    """Row by row: one vjp per output element with a one-hot cotangent."""
    blocks = []
    for o in outs:
        n = o.numel()
        if n == 0 or not o.requires_grad:
            blocks.append([_zero_block(o, i) for i in ins])
            continue
        basis = ember.eye(n, dtype=o.dtype)
        rows = [lv.pull([o], ins, [basis[k].reshape(o.shape)], outer) for k in range(n)]
        blocks.append([ember.stack([r[j] for r in rows]).reshape(tuple(o.shape) +
                                                                 tuple(i.shape))
                       for j, i in enumerate(ins)])
    return blocks


def _forward_blocks(lv: _Level, outs: list, ins: list, outer: bool) -> list:
    """Column by column: one jvp per input element with a one-hot tangent."""
    push = lv.linearize(outs, ins)
    cols_per_in = []                  # [input][element] -> list over outputs
    for j, i in enumerate(ins):
        n = i.numel()
        basis = ember.eye(n, dtype=i.dtype) if n else None
        cols_per_in.append([push([basis[k].reshape(i.shape) if jj == j else None
                                  for jj in range(len(ins))], outer) for k in range(n)])
    blocks = []
    for m, o in enumerate(outs):
        row = []
        for j, i in enumerate(ins):
            cols = [c[m] for c in cols_per_in[j]]
            if not cols or all(c is None for c in cols):
                row.append(_zero_block(o, i))
                continue
            cols = [ember.zeros_like(o) if c is None else c for c in cols]
            row.append(ember.stack(cols, dim=o.dim()).reshape(tuple(o.shape) +
                                                               tuple(i.shape)))
        blocks.append(row)
    return blocks


def jacrev(func: Callable, argnums: Any = 0, *, has_aux: bool = False) -> Callable:
    """The function computing the Jacobian of ``func`` w.r.t. ``args[argnums]`` in reverse
    mode (one vjp per output element). Output structure as torch.func: per output, the
    block ``output.shape + input.shape`` (a tuple over argnums when argnums is a tuple);
    with ``has_aux``, ``(jacobian, aux)``.

    >>> import ember.func as func
    >>> func.jacrev(ember.sin)(ember.tensor([0.0, 1.0]))    # diag(cos(x))
    """
    @functools.wraps(func)
    def wrapper(*args: Any) -> Any:
        return _jacobian(func, argnums, has_aux, args, "jacrev(f)(*args)", forward=False)
    return wrapper


def jacfwd(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """Like :func:`jacrev` (same results and structure), computed column by column with
    :func:`jvp` (one per input element): the better choice when inputs are fewer than
    outputs.

    >>> import ember.func as func
    >>> func.jacfwd(lambda x: x ** 2)(ember.tensor([1.0, 2.0]))   # diag(2x)
    """
    @functools.wraps(func)
    def wrapper(*args: Any) -> Any:
        return _jacobian(func, argnums, has_aux, args, "jacfwd(f)(*args)", forward=True)
    return wrapper


def hessian(func: Callable, argnums: Any = 0) -> Callable:
    """The function computing the Hessian of scalar ``func`` w.r.t. ``args[argnums]``,
    as ``jacfwd(jacrev(func, argnums), argnums)``.

    >>> import ember.func as func
    >>> func.hessian(lambda x: (x ** 3).sum())(ember.tensor([1.0, 2.0]))   # diag(6x)
    """
    return jacfwd(jacrev(func, argnums), argnums)
