"""tf.data's input pipelines on Ember: build a :class:`Pipeline` from tensors or a
generator, chain transformations (``map``, ``filter``, ``shuffle``, ``batch``,
``prefetch``, ...), iterate it in a ``for`` loop.

>>> ds = from_tensor_slices((np.arange(6.0), np.arange(6))).shuffle(6, seed=0).batch(4)
>>> [x.shape for x, y in ds]
[ember.Size([4]), ember.Size([2])]

Elements are Ember tensors nested in the tuples and dicts they were given in; text stays
``str``/``bytes``. The names, arguments, defaults and cardinality rules are tf.data's; a
pipeline is also an :class:`ember.data.IterableDataset`, so ``DataLoader(pipeline,
batch_size=None)`` reads it.
"""
from __future__ import annotations

import builtins
import collections.abc
import itertools
import math
import os
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ember import random as ember_random
from ember.backend.dtypes import bool_, int64, to_dtype
from ember.data._pipeline_batch import pad_and_stack_elements, padded_shapes_of, \
    padding_values_of, split_element, stack_elements
from ember.data._pipeline_cache import read_cache, write_cache
from ember.data._pipeline_spec import TensorSpec, conform
from ember.data._pipeline_structure import describe, flatten, is_text, pack, to_array, \
    to_component
from ember.data._pipeline_threads import parallel_map, prefetch
from ember.data.dataset import IterableDataset
from ember.ops.creation import from_numpy, tensor
from ember.tensor import Tensor

__all__ = ["Pipeline", "TensorSpec", "AUTOTUNE", "INFINITE_CARDINALITY",
           "UNKNOWN_CARDINALITY", "from_tensor_slices", "from_tensors", "from_generator",
           "range", "zip"]

AUTOTUNE = -1
"""Let the pipeline choose: ``map`` runs one call per CPU core, ``prefetch`` grows its
buffer while the consumer finds it empty."""
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2


def _check_count(value: Any, who: str, minimum: int, what: str) -> int:
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, builtins.bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{who}: {what} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{who}: {what} must be >= {minimum}, got {value}")
    return int(value)


def _call(fn: Callable, element: Any) -> Any:
    """``fn`` on an element, unpacked when it is a plain tuple (as tf.data does)."""
    return fn(*element) if type(element) is tuple else fn(element)


def _as_element(value: Any, who: str, list_is_tuple: bool = False) -> Any:
    """``value`` as an element: tuples and dicts kept, leaves made components. A list is
    one component, except in what ``map`` returns, where (as in tf.data) a list of
    non-text values stands for a tuple."""
    if list_is_tuple and isinstance(value, list) and not is_text(value):
        value = tuple(value)
    if isinstance(value, tuple):
        items = [_as_element(v, who, list_is_tuple) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, collections.abc.Mapping):
        return {k: _as_element(v, who, list_is_tuple) for k, v in value.items()}
    return to_component(value, who)


class Pipeline(IterableDataset):
    """A tf.data-style dataset: an iterable of elements plus the transformations that make
    new pipelines from it. Build one with :func:`from_tensor_slices`, :func:`from_tensors`,
    :func:`from_generator`, :func:`range` or :func:`zip`; each ``for`` loop over it starts
    a fresh pass.

    >>> [int(x) for x in range(10).filter(lambda x: x % 3 == 0).map(lambda x: x * 2)]
    [0, 6, 12, 18]
    """

    def __init__(self, make_iterator: Callable[[], Iterator], cardinality: int,
                 kind: str) -> None:
        self._make_iterator = make_iterator
        self._cardinality = cardinality
        self._kind = kind

    def __iter__(self) -> Iterator:
        return self._make_iterator()

    def __bool__(self) -> builtins.bool:
        return True     # as in tf.data: a pipeline is truthy even when len() is unknown

    def __len__(self) -> int:
        """The number of elements; TypeError when infinite or unknown, as in tf.data."""
        if self._cardinality == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if self._cardinality == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown.")
        return self._cardinality

    def __repr__(self) -> str:
        n = {INFINITE_CARDINALITY: "infinite", UNKNOWN_CARDINALITY: "unknown"} \
            .get(self._cardinality, self._cardinality)
        return f"<Pipeline {self._kind} cardinality={n}>"

    def cardinality(self) -> Tensor:
        """The number of elements as a 0-d int64 tensor, or :data:`INFINITE_CARDINALITY`
        (-1) / :data:`UNKNOWN_CARDINALITY` (-2) when it cannot be told without iterating.

        >>> range(10).batch(3).cardinality()
        tensor(4)
        """
        return tensor(self._cardinality, dtype=int64)

    # -- element-wise -------------------------------------------------------------------
    def map(self, map_func: Callable, num_parallel_calls: int | None = None,
            deterministic: builtins.bool | None = None) -> "Pipeline":
        """Apply ``map_func`` to every element (called as ``map_func(*element)`` when the
        element is a tuple). With ``num_parallel_calls`` (an int or :data:`AUTOTUNE`: one
        per CPU core) that many calls run at once on threads; results keep the input order
        unless ``deterministic=False``. An error in ``map_func`` propagates unchanged.

        >>> [int(y) for y in from_tensor_slices(([1, 2], [10, 20])).map(lambda a, b: a + b)]
        [11, 22]
        """
        if not callable(map_func):
            raise TypeError(f"map: map_func must be callable, got {map_func!r}")
        workers = None
        if num_parallel_calls is not None:
            workers = os.cpu_count() or 1 if num_parallel_calls == AUTOTUNE else \
                _check_count(num_parallel_calls, "map", 1, "num_parallel_calls")

        def apply(element: Any) -> Any:
            return _as_element(_call(map_func, element), "map", list_is_tuple=True)

        if workers is None:
            return Pipeline(lambda: builtins.map(apply, self), self._cardinality, "map")
        ordered = deterministic is None or builtins.bool(deterministic)
        return Pipeline(lambda: parallel_map(self, apply, workers, ordered),
                          self._cardinality, "map")

    def filter(self, predicate: Callable) -> "Pipeline":
        """Keep the elements for which ``predicate`` (unpacked like ``map``'s function)
        returns True: a Python/NumPy bool or a bool tensor with one value.

        >>> [int(x) for x in range(6).filter(lambda x: x % 2 == 1)]
        [1, 3, 5]
        """
        if not callable(predicate):
            raise TypeError(f"filter: predicate must be callable, got {predicate!r}")

        def keep(element: Any) -> builtins.bool:
            verdict = _call(predicate, element)
            if isinstance(verdict, Tensor) and verdict.dtype == bool_ and verdict.numel() == 1:
                return builtins.bool(verdict.item())
            if isinstance(verdict, (builtins.bool, np.bool_)):
                return builtins.bool(verdict)
            shown = f"a {verdict.dtype.name} tensor of shape {list(verdict.shape)}" \
                if isinstance(verdict, Tensor) else repr(verdict)
            raise ValueError(f"filter: predicate must return a bool (or a bool tensor with "
                             f"one value), got {shown}")

        return Pipeline(lambda: builtins.filter(keep, self), UNKNOWN_CARDINALITY, "filter")

    def enumerate(self, start: int = 0) -> "Pipeline":
        """Pair each element with its index (an int64 tensor) counting from ``start``.

        >>> [(int(i), int(x)) for i, x in range(10, 12).enumerate(start=5)]
        [(5, 10), (6, 11)]
        """
        start = _check_count(start, "enumerate", -2**63, "start")

        def run() -> Iterator:
            for i, element in builtins.zip(itertools.count(start), self):
                yield tensor(i, dtype=int64), element

        return Pipeline(run, self._cardinality, "enumerate")

    # -- order --------------------------------------------------------------------------
    def shuffle(self, buffer_size: int, seed: int | None = None,
                reshuffle_each_iteration: builtins.bool = True) -> "Pipeline":
        """Shuffle with tf.data's buffer: fill a buffer with ``buffer_size`` elements, emit
        one drawn uniformly from it and put the next input element in its place. A buffer
        at least as large as the pipeline gives a uniform shuffle; a small one only moves
        elements locally. Each pass is shuffled anew unless
        ``reshuffle_each_iteration=False``. ``seed`` makes the passes reproducible;
        without it the seed is drawn from Ember's default generator when ``shuffle`` is
        called, so ``ember.manual_seed`` before building the pipeline fixes it.

        >>> sorted(int(x) for x in range(5).shuffle(5, seed=1))
        [0, 1, 2, 3, 4]
        """
        buffer_size = _check_count(buffer_size, "shuffle", 1, "buffer_size")
        base = ember_random.get(None).integers(2**63) if seed is None \
            else _check_count(seed, "shuffle", -2**63, "seed") & (2**64 - 1)
        passes = itertools.count()

        def run() -> Iterator:
            key = [int(base), next(passes)] if reshuffle_each_iteration else int(base)
            rng = np.random.Generator(np.random.PCG64(key))
            source = iter(self)
            buffer = list(itertools.islice(source, buffer_size))
            for element in source:
                j = rng.integers(len(buffer))
                yield buffer[j]
                buffer[j] = element
            while buffer:
                j = rng.integers(len(buffer))
                buffer[j], buffer[-1] = buffer[-1], buffer[j]
                yield buffer.pop()

        return Pipeline(run, self._cardinality, "shuffle")

    # -- length -------------------------------------------------------------------------
    def repeat(self, count: int | None = None) -> "Pipeline":
        """The pipeline ``count`` times over (``None`` or -1: forever); each repetition is
        a fresh pass, so a shuffle before ``repeat`` reshuffles every epoch. Repeating an
        empty pipeline forever gives an empty pipeline.

        >>> [int(x) for x in range(2).repeat(3)]
        [0, 1, 0, 1, 0, 1]
        """
        count = -1 if count is None else _check_count(count, "repeat", -1, "count")
        n = self._cardinality
        if count == 0 or n == 0:
            cardinality = 0
        elif count == -1:
            cardinality = INFINITE_CARDINALITY
        elif n in (INFINITE_CARDINALITY, UNKNOWN_CARDINALITY):
            cardinality = n
        else:
            cardinality = count * n

        def run() -> Iterator:
            for _ in (itertools.count() if count == -1 else builtins.range(count)):
                empty = True
                for element in self:
                    empty = False
                    yield element
                if empty:
                    return

        return Pipeline(run, cardinality, "repeat")

    def take(self, count: int) -> "Pipeline":
        """The first ``count`` elements (-1: all of them).

        >>> [int(x) for x in range(10).take(3)]
        [0, 1, 2]
        """
        count = _check_count(count, "take", -1, "count")
        n = self._cardinality
        if n == UNKNOWN_CARDINALITY or count == -1:
            cardinality = n
        elif n == INFINITE_CARDINALITY:
            cardinality = count
        else:
            cardinality = min(n, count)
        if count == -1:
            return Pipeline(self.__iter__, cardinality, "take")
        return Pipeline(lambda: itertools.islice(self, count), cardinality, "take")

    def skip(self, count: int) -> "Pipeline":
        """All but the first ``count`` elements (-1: skip all of them).

        >>> [int(x) for x in range(5).skip(3)]
        [3, 4]
        """
        count = _check_count(count, "skip", -1, "count")
        n = self._cardinality
        if n in (UNKNOWN_CARDINALITY, INFINITE_CARDINALITY):
            cardinality = n
        elif count == -1:
            cardinality = 0
        else:
            cardinality = max(0, n - count)

        def run() -> Iterator:
            source = iter(self)
            if count == -1:
                for _ in source:
                    pass
            else:
                next(itertools.islice(source, count, count), None)
            yield from source

        return Pipeline(run, cardinality, "skip")

    def concatenate(self, dataset: "Pipeline") -> "Pipeline":
        """This pipeline's elements followed by ``dataset``'s.

        >>> [int(x) for x in range(2).concatenate(range(5, 7))]
        [0, 1, 5, 6]
        """
        if not isinstance(dataset, Pipeline):
            raise TypeError(f"concatenate: expected a Pipeline, got {type(dataset).__name__}")
        cardinality = next((n for n in (self._cardinality, dataset._cardinality)
                            if n in (INFINITE_CARDINALITY, UNKNOWN_CARDINALITY)),
                           self._cardinality + dataset._cardinality)
        return Pipeline(lambda: itertools.chain(self, dataset), cardinality, "concatenate")

    # -- batching -----------------------------------------------------------------------
    def _batched(self, batch_size: int, drop_remainder: builtins.bool, make: Callable,
                 kind: str) -> "Pipeline":
        n = self._cardinality
        if n in (INFINITE_CARDINALITY, UNKNOWN_CARDINALITY):
            cardinality = n
        else:
            cardinality = n // batch_size if drop_remainder else math.ceil(n / batch_size)

        def run() -> Iterator:
            source = iter(self)
            while True:
                chunk = list(itertools.islice(source, batch_size))
                if not chunk or (drop_remainder and len(chunk) < batch_size):
                    return
                yield make(chunk)

        return Pipeline(run, cardinality, kind)

    def batch(self, batch_size: int, drop_remainder: builtins.bool = False) -> "Pipeline":
        """Stack ``batch_size`` consecutive elements into one, component by component (text
        becomes a list); the last batch may be smaller unless ``drop_remainder``.

        >>> [list(b.shape) for b in range(5).batch(2)]
        [[2], [2], [1]]
        """
        batch_size = _check_count(batch_size, "batch", 1, "batch_size")
        return self._batched(batch_size, drop_remainder, stack_elements, "batch")

    def padded_batch(self, batch_size: int, padded_shapes: Any = None,
                     padding_values: Any = None,
                     drop_remainder: builtins.bool = False) -> "Pipeline":
        """Like :meth:`batch`, for components whose shapes differ: each is padded at the
        end of every dimension to ``padded_shapes`` (a shape per component, ``None``/-1
        dims meaning the longest in the batch; default: the longest everywhere) with
        ``padding_values`` (default 0, or '' for text; one value pads every component).

        >>> [b.tolist() for b in from_generator(lambda: iter([[1], [2, 3]])).padded_batch(2)]
        [[[1, 0], [2, 3]]]
        """
        batch_size = _check_count(batch_size, "padded_batch", 1, "batch_size")

        def make(chunk: list) -> Any:
            shapes = padded_shapes_of(padded_shapes, chunk[0])
            values = padding_values_of(padding_values, chunk[0])
            return pad_and_stack_elements(chunk, shapes, values)

        return self._batched(batch_size, drop_remainder, make, "padded_batch")

    def unbatch(self) -> "Pipeline":
        """Split every element along its first dimension into that many elements.

        >>> [int(x) for x in range(5).batch(2).unbatch()]
        [0, 1, 2, 3, 4]
        """
        cardinality = INFINITE_CARDINALITY if self._cardinality == INFINITE_CARDINALITY \
            else UNKNOWN_CARDINALITY

        def run() -> Iterator:
            for element in self:
                yield from split_element(element)

        return Pipeline(run, cardinality, "unbatch")

    # -- performance --------------------------------------------------------------------
    def prefetch(self, buffer_size: int) -> "Pipeline":
        """Produce up to ``buffer_size`` elements ahead on a background thread
        (:data:`AUTOTUNE`: a buffer that grows while the consumer has to wait, up to 16).
        The thread stops and is joined when the loop ends, breaks or fails.

        >>> [int(x) for x in range(3).prefetch(AUTOTUNE)]
        [0, 1, 2]
        """
        autotune = buffer_size == AUTOTUNE
        size = 1 if autotune else _check_count(buffer_size, "prefetch", 1, "buffer_size")
        return Pipeline(lambda: prefetch(self, size, autotune), self._cardinality,
                          "prefetch")

    def cache(self, filename: str = "") -> "Pipeline":
        """Remember the elements of the first complete pass and replay them afterwards.

        With ``filename`` the pass is written to that file (safetensors, atomically) and a
        later pipeline with the same filename, even in another program, reads it instead
        of its input. A pass that stops early caches nothing.

        >>> ds = range(3).map(lambda x: x * 10).cache()
        >>> [int(x) for x in ds] == [int(x) for x in ds]
        True
        """
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"cache: filename must be a str or path, got {filename!r}")
        filename = os.fspath(filename)
        memory: list = []      # one slot: the completed pass

        def run() -> Iterator:
            if memory:
                yield from memory[0]
                return
            if filename and os.path.exists(filename):
                yield from read_cache(filename)
                return
            seen = []
            for element in self:
                seen.append(element)
                yield element
            if filename:
                write_cache(filename, seen)
            else:
                memory.append(seen)

        return Pipeline(run, self._cardinality, "cache")

    # -- whole pipeline -----------------------------------------------------------------
    def apply(self, transformation_func: Callable[["Pipeline"], "Pipeline"]) -> "Pipeline":
        """``transformation_func(self)``, which must return a Pipeline: lets a reusable
        chain of transformations be applied in method-chaining style.

        >>> [int(x) for x in range(4).apply(lambda ds: ds.skip(2))]
        [2, 3]
        """
        out = transformation_func(self)
        if not isinstance(out, Pipeline):
            raise TypeError(f"apply: transformation_func must return a Pipeline, got "
                            f"{type(out).__name__}")
        return out

    def as_numpy_iterator(self) -> Iterator:
        """Iterate with every tensor component as a NumPy array (text unchanged).

        >>> list(range(2).as_numpy_iterator())
        [array(0), array(1)]
        """
        for element in self:
            yield pack(element, [c if is_text(c) else to_array(c) for c in flatten(element)])


# -- constructors -----------------------------------------------------------------------
def from_tensors(tensors: Any) -> Pipeline:
    """A pipeline of exactly one element, ``tensors`` (tuples and dicts kept, leaves made
    tensors; a list is one tensor).

    >>> [x.shape for x in from_tensors(np.zeros((2, 3)))]
    [ember.Size([2, 3])]
    """
    element = _as_element(tensors, "from_tensors")
    return Pipeline(lambda: iter((element,)), 1, "from_tensors")


def from_tensor_slices(tensors: Any) -> Pipeline:
    """One element per index of the first dimension of every component of ``tensors``
    (NumPy arrays, Ember tensors, lists or numbers, nested in tuples and dicts; a list is
    one tensor, not a structure). All components must have the same first dimension.

    >>> [(x.tolist(), int(y)) for x, y in from_tensor_slices((np.eye(2), [7, 8]))]
    [([1.0, 0.0], 7), ([0.0, 1.0], 8)]
    """
    element = _as_element(tensors, "from_tensor_slices")
    leaves = flatten(element)
    if not leaves:
        raise ValueError("from_tensor_slices: got an empty structure; expected at least "
                         "one component to slice")
    sizes = []
    for c in leaves:
        shape = np.shape(c) if is_text(c) else tuple(c.shape)
        if not shape:
            raise ValueError(f"from_tensor_slices: every component needs a first dimension "
                             f"to slice along; got a scalar in {describe(element)}")
        sizes.append(shape[0])
    if any(s != sizes[0] for s in sizes):
        raise ValueError(f"from_tensor_slices: all components must have the same size in "
                         f"their first dimension, got sizes {sizes} for "
                         f"{describe(element)}")
    columns = [c if is_text(c) else to_array(c) for c in leaves]

    def run() -> Iterator:
        for i in builtins.range(sizes[0]):
            yield pack(element, [c[i] if isinstance(c, list) else from_numpy(c[i, ...])
                                 for c in columns])

    return Pipeline(run, sizes[0], "from_tensor_slices")


def from_generator(generator: Callable[..., Iterable], output_types: Any = None,
                   output_shapes: Any = None, args: tuple | None = None,
                   output_signature: Any = None) -> Pipeline:
    """The elements yielded by ``generator(*args)``, called anew for every pass.

    ``output_signature`` (a structure of :class:`TensorSpec`) declares what the
    generator yields: values are cast to its dtypes and checked against its shapes and
    structure. ``output_types``/``output_shapes`` are tf's older way to say the same.
    Without either, each yielded value is converted as in :func:`from_tensors`.

    >>> ds = from_generator(lambda: ((i, [i] * i) for i in builtins.range(3)),
    ...                     output_signature=(TensorSpec((), int64), TensorSpec((None,), int64)))
    >>> [list(y.shape) for x, y in ds]
    [[0], [1], [2]]
    """
    if not callable(generator):
        raise TypeError(f"from_generator: generator must be a callable that returns an "
                        f"iterator, got {type(generator).__name__}")
    if output_signature is not None and (output_types is not None or
                                         output_shapes is not None):
        raise TypeError("from_generator: give output_signature, or output_types (with "
                        "optional output_shapes), not both")
    if output_types is not None:
        output_signature = _signature_from_types(output_types, output_shapes)
    elif output_shapes is not None:
        raise TypeError("from_generator: output_shapes needs output_types")
    call_args = tuple(args) if args is not None else ()

    def run() -> Iterator:
        for value in generator(*call_args):
            if output_signature is None:
                yield _as_element(value, "from_generator")
            else:
                yield conform(value, output_signature, "from_generator")

    return Pipeline(run, UNKNOWN_CARDINALITY, "from_generator")


def _signature_from_types(types: Any, shapes: Any) -> Any:
    if isinstance(types, (tuple, collections.abc.Mapping)):
        keys = builtins.range(len(types)) if isinstance(types, tuple) else list(types)
        if shapes is not None and (type(shapes) is not type(types) and
                                   not isinstance(types, tuple)):
            raise TypeError(f"from_generator: output_shapes {shapes!r} does not match the "
                            f"structure of output_types {types!r}")
        parts = {k: _signature_from_types(types[k], None if shapes is None else shapes[k])
                 for k in keys}
        return tuple(parts.values()) if isinstance(types, tuple) else parts
    return TensorSpec(shapes, types)


def range(*args: int, output_type: Any = int64) -> Pipeline:
    """The integers of Python's ``range(*args)`` as 0-d tensors of ``output_type``.

    >>> [int(x) for x in range(1, 8, 3)]
    [1, 4, 7]
    """
    if not 1 <= len(args) <= 3:
        raise TypeError(f"range: expected 1 to 3 arguments (stop, or start, stop[, step]), "
                        f"got {len(args)}")
    bounds = [_check_count(a, "range", -2**63, "each argument") for a in args]
    if len(bounds) == 3 and bounds[2] == 0:
        raise ValueError("range: step must not be zero")
    numbers = builtins.range(*bounds)
    np_type = to_dtype(output_type).np
    return Pipeline(lambda: (from_numpy(np.asarray(i, dtype=np_type)) for i in numbers),
                    len(numbers), "range")


def zip(*args: Any, datasets: Any = None) -> Pipeline:
    """Elements of several pipelines side by side, as a tuple (or the structure of tuples
    and dicts the pipelines were given in); stops with the shortest.

    >>> [(int(a), int(b)) for a, b in zip(range(3), range(10, 12))]
    [(0, 10), (1, 11)]
    """
    if args and datasets is not None:
        raise TypeError("zip: give the datasets as arguments or as datasets=, not both")
    if datasets is None:
        datasets = args[0] if len(args) == 1 else args
    members = flatten(datasets)
    for member in members:
        if not isinstance(member, Pipeline):
            raise TypeError(f"zip: expected Pipelines (nested in tuples or dicts), got "
                            f"{type(member).__name__} in {describe(datasets)}")
    if not members:
        raise ValueError("zip: expected at least one Pipeline")
    counts = [m._cardinality for m in members]
    if UNKNOWN_CARDINALITY in counts:
        cardinality = UNKNOWN_CARDINALITY
    else:
        finite = [n for n in counts if n != INFINITE_CARDINALITY]
        cardinality = min(finite) if finite else INFINITE_CARDINALITY

    def run() -> Iterator:
        for elements in builtins.zip(*members):
            yield pack(datasets, list(elements))

    return Pipeline(run, cardinality, "zip")
