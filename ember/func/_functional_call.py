"""``functional_call``: run a module with some parameters and buffers swapped for given
tensors, so a module's forward becomes a pure function of its weights (and can go under
``grad``, ``jacrev``, ``vmap``)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from ember.nn.modules.module import Module
from ember.tensor import Tensor

__all__ = ["functional_call"]


def _merge(dicts: Any) -> dict:
    if isinstance(dicts, dict):
        return dicts
    if not (isinstance(dicts, (list, tuple)) and all(isinstance(d, dict) for d in dicts)):
        raise ValueError(f"functional_call: expected parameter_and_buffer_dicts to be a dict, "
                         f"or a list/tuple of dicts, but got {type(dicts).__name__}")
    merged: dict = {}
    for d in dicts:
        clash = sorted(k for k in d if k in merged)
        if clash:
            raise ValueError(f"functional_call: {clash} appeared in multiple dictionaries; "
                             f"behavior of functional call is ambiguous")
        merged.update(d)
    return merged


def _tie(module: Module, values: dict) -> dict:
    """``values`` extended to every name of a tied tensor (one object under many names)."""
    names: dict[int, list[str]] = {}
    for kind in ("_parameters", "_buffers"):
        for prefix, mod in module.named_modules(remove_duplicate=False):
            for name, t in getattr(mod, kind).items():
                if t is not None:
                    names.setdefault(id(t), []).append(f"{prefix}.{name}" if prefix else name)
    out = dict(values)
    for group in names.values():
        given = [n for n in group if n in values]
        if not given:
            continue
        if any(values[n] is not values[given[0]] for n in given):
            raise ValueError(f"functional_call got multiple values for keys {sorted(given)}, "
                             f"which are tied. Consider using tie_weights=False")
        out.update((n, values[given[0]]) for n in group)
    return out


def _check_strict(module: Module, values: dict, tie_weights: bool) -> None:
    expected: list[str] = []
    for kind in ("_parameters", "_buffers"):
        for prefix, mod in module.named_modules(remove_duplicate=False):
            expected += [f"{prefix}.{n}" if prefix else n
                         for n, t in getattr(mod, kind).items() if t is not None]
    unexpected = [k for k in values if k not in expected]
    covered = _tie(module, values) if tie_weights else values
    missing = [k for k in dict.fromkeys(expected) if k not in covered]
    if unexpected or missing:
        lines = [f"Error(s) in reparametrizing for {module._get_name()}:"]
        if unexpected:
            lines.append("\tUnexpected key(s): " + ", ".join(map(repr, unexpected)) + ".")
        if missing:
            lines.append("\tMissing key(s): " + ", ".join(map(repr, missing)) + ".")
        raise RuntimeError("\n".join(lines))


@contextmanager
def _swapped(module: Module, values: dict) -> Iterator[None]:
    """Swap ``values`` (dotted name -> tensor) into ``module``; restore on exit, error or
    not. A name that is neither a parameter nor a buffer becomes a plain attribute for
    the call."""
    undo = []
    try:
        for key, value in values.items():
            path, _, leaf = key.rpartition(".")
            owner = module.get_submodule(path)
            for registry in (owner._parameters, owner._buffers, owner.__dict__):
                if leaf in registry or registry is owner.__dict__:
                    undo.append((registry, leaf, leaf in registry, registry.get(leaf)))
                    registry[leaf] = value
                    break
        yield
    finally:
        for registry, leaf, existed, old in reversed(undo):
            if existed:
                registry[leaf] = old
            else:
                del registry[leaf]


def functional_call(module: Module, parameter_and_buffer_dicts: Any, args: Any = None,
                    kwargs: dict | None = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """Call ``module(*args, **kwargs)`` with the parameters and buffers named (dotted, as
    in ``named_parameters``) in ``parameter_and_buffer_dicts`` (a dict or a list/tuple of
    dicts with distinct keys) replaced by the given tensors; the module's own tensors are
    restored afterwards, even when forward raises. ``args`` that is not a tuple is one
    argument. With ``tie_weights`` a value given for one name of a tied (shared) tensor is
    used for all its names; ``strict`` requires exactly the module's names.

    >>> model = ember.nn.Linear(3, 1)
    >>> params = {k: v.detach() for k, v in model.named_parameters()}
    >>> grads = ember.func.grad(lambda p, x: functional_call(model, p, (x,)).sum())(
    ...     params, ember.ones(2, 3))              # {'weight': ..., 'bias': ...}
    """
    if not isinstance(module, Module):
        raise TypeError(f"functional_call: expected an ember.nn.Module, got "
                        f"{type(module).__name__}")
    values = _merge(parameter_and_buffer_dicts)
    for key, value in values.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"functional_call: the value for {key!r} is a "
                            f"{type(value).__name__} ({value!r}), not an ember.Tensor")
    if strict:
        _check_strict(module, values, tie_weights)
    if tie_weights:
        values = _tie(module, values)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, values):
        return module(*args, **(kwargs or {}))
