"""The JSON "structure" of a checkpoint: every container and plain value of the saved
object, with tensors replaced by references to named tensors of the safetensors file.

Encoding (version 1) of each value:

================  =================================================
``None``          ``null``
``bool``          ``true`` / ``false``
``int``           a JSON integer
``float``         a JSON number with a ``.`` or exponent; ``{"float": "nan"|"inf"|"-inf"}``
``str``           a JSON string
``list``          a JSON array
``tuple``         ``{"tuple": [...]}``
``dict``          ``{"dict": [[key, value], ...]}`` (keys: str, int, float, bool, None)
``OrderedDict``   ``{"odict": [[key, value], ...]}``
``Tensor``        ``{"tensor": "<name in the safetensors file>"}``
================  =================================================

Every JSON object is a one-key tag, so anything else in a file is an error.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Callable

from ember.tensor import Tensor
from ember._typename import typename

__all__ = ["MAX_DEPTH", "encode", "decode", "StructureError"]

MAX_DEPTH = 100          # nested containers; real checkpoints use fewer than 10
_KEY_TYPES = (str, int, float, bool, type(None))
_NONFINITE = ("nan", "inf", "-inf")     # float(s) gives the value (a new NaN each time)


class StructureError(ValueError):
    """A structure that cannot be decoded; ``path`` is where inside it."""

    def __init__(self, what: str, path: tuple):
        self.what, self.path = what, path
        super().__init__(f"{what} at {format_path(path)}")


def format_path(path: tuple) -> str:
    """``('optimizer', 'state', 0)`` -> ``['optimizer']['state'][0]``."""
    return "".join(f"[{_short(k)}]" for k in path) if path else "the top level"


def _short(key: Any) -> str:
    r = repr(key)
    return r if len(r) <= 60 else r[:57] + "..."


def _tensor_name(path: tuple, taken: set) -> str:
    """A readable, unique file name for the tensor at ``path``: the keys joined with dots,
    so a flat state_dict's tensors are named exactly by its keys."""
    base = ".".join(str(k) for k in path) if path else "tensor"
    name, n = base, 0
    while name in taken or name == "__metadata__":    # __metadata__ is safetensors' own
        n += 1
        name = f"{base}#{n}"
    taken.add(name)
    return name


def encode(obj: Any) -> tuple[Any, dict[str, Tensor]]:
    """The JSON-ready structure of ``obj`` and its tensors by file name, in order met.

    Raises TypeError for a value of an unsupported type and ValueError for nesting deeper
    than :data:`MAX_DEPTH` or a container that contains itself, naming the path.
    """
    tensors: dict[str, Tensor] = {}
    taken: set[str] = set()
    active: set[int] = set()

    def scalar(x: Any) -> Any:
        if type(x) is float and not math.isfinite(x):
            return {"float": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}
        return x

    def enc(x: Any, path: tuple) -> Any:
        if isinstance(x, Tensor):
            name = _tensor_name(path, taken)
            tensors[name] = x
            return {"tensor": name}
        if type(x) in _KEY_TYPES:
            return scalar(x)
        if not isinstance(x, (dict, list, tuple)):
            raise TypeError(f"ember.save: cannot save object of type '{typename(x)}' at "
                            f"{format_path(path)}")
        if len(path) >= MAX_DEPTH:
            raise ValueError(f"ember.save: nesting deeper than {MAX_DEPTH} containers at "
                             f"{format_path(path)}")
        if id(x) in active:
            raise ValueError(f"ember.save: the object contains itself at {format_path(path)}")
        active.add(id(x))
        if isinstance(x, dict):
            items = []
            for k, v in x.items():
                if type(k) not in _KEY_TYPES:
                    raise TypeError(f"ember.save: cannot save a dict key of type "
                                    f"'{typename(k)}' at {format_path(path)}")
                items.append([scalar(k), enc(v, path + (k,))])
            out = {"odict" if isinstance(x, OrderedDict) else "dict": items}
        else:
            seq = [enc(v, path + (i,)) for i, v in enumerate(x)]
            out = {"tuple": seq} if isinstance(x, tuple) else seq
        active.discard(id(x))
        return out

    return enc(obj, ()), tensors


def decode(node: Any, tensor: Callable[[str], Any]) -> Any:
    """Rebuild the object from its structure; ``tensor(name)`` gives a file's tensor (and
    raises KeyError for a name the file lacks). Raises :class:`StructureError` for anything
    :func:`encode` would not have written."""

    def key(k: Any, path: tuple) -> Any:
        k = dec_scalar(k, path)
        if type(k) not in _KEY_TYPES:
            raise StructureError(f"a dict key of JSON type {type(k).__name__}", path)
        return k

    def dec_scalar(x: Any, path: tuple) -> Any:
        if isinstance(x, dict) and len(x) == 1 and "float" in x:
            if x["float"] not in _NONFINITE:
                raise StructureError(f"a bad float value {x['float']!r}", path)
            return float(x["float"])
        return x

    def pairs(v: Any, path: tuple) -> list:
        if not isinstance(v, list) or not all(isinstance(p, list) and len(p) == 2 for p in v):
            raise StructureError("a dict that is not a list of [key, value] pairs", path)
        return v

    def dec(x: Any, path: tuple) -> Any:
        if type(x) in _KEY_TYPES:
            return x
        container = isinstance(x, list) or isinstance(x, dict) and len(x) == 1 and \
            next(iter(x)) in ("tuple", "dict", "odict")
        if container and len(path) >= MAX_DEPTH:
            raise StructureError(f"nesting deeper than {MAX_DEPTH} containers", path)
        if isinstance(x, list):
            return [dec(e, path + (i,)) for i, e in enumerate(x)]
        if len(x) != 1:     # JSON gives lists, dicts and scalars; only dicts are left
            raise StructureError(f"an object with keys {[k[:40] for k in list(x)[:3]]} "
                                 f"instead of one type tag", path)
        (tag, v), = x.items()
        if tag == "tensor":
            if not isinstance(v, str):
                raise StructureError("a tensor reference that is not a string", path)
            try:
                return tensor(v)
            except KeyError:
                raise StructureError(f"a reference to tensor {v!r}, which the file lacks",
                                     path) from None
        if tag == "float":
            return dec_scalar(x, path)
        if tag == "tuple":
            if not isinstance(v, list):
                raise StructureError("a tuple that is not a list", path)
            return tuple(dec(e, path + (i,)) for i, e in enumerate(v))
        if tag in ("dict", "odict"):
            out = {} if tag == "dict" else OrderedDict()
            for k, e in pairs(v, path):
                k = key(k, path)
                if k in out:
                    raise StructureError(f"the key {k!r} twice", path)
                out[k] = dec(e, path + (k,))
            return out
        raise StructureError(f"an unknown type tag {tag[:40]!r}", path)

    return dec(node, ())
