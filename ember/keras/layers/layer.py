"""``keras.layers.Layer``: Keras 3's layer contract on top of ``ember.nn.Module``.

A Keras layer is an Ember module, so its weights are ``ember.nn.Parameter``s that
``ember.optim`` can train and ``state_dict`` can save. On top of the module it adds what
Keras code expects:

- weights made by ``add_weight`` in ``build(input_shape)``, which runs on the first call
  (or on the first symbolic call in the functional API), so input sizes are never declared
  twice;
- ``call(inputs, training=None)``; a ``training`` flag given to an outer layer or model
  reaches every inner layer whose ``call`` takes one, as in Keras;
- NumPy inputs are accepted; float inputs are cast to the layer's dtype (``float32``);
- ``input_spec`` checks with Keras's messages, ``get_weights``/``set_weights``,
  ``trainable`` (freezes all weights, recursively), ``losses`` (weight regularizers and
  ``add_loss``), ``get_config``/``from_config``, ``count_params``.

>>> import ember
>>> from ember import keras
>>> class Scale(keras.layers.Layer):
...     def build(self, input_shape):
...         self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")
...     def call(self, x):
...         return x * self.w
>>> Scale()(ember.ones(2, 3)).shape
ember.Size([2, 3])
"""
from __future__ import annotations

import inspect
import threading
from typing import Any, Iterator

import numpy as np

import ember
from ember import Tensor, nn
from ember.keras import _tree, initializers, regularizers
from ember.keras._naming import snake_case, unique_name
from ember.keras.keras_tensor import KerasTensor, Node, any_symbolic, dtype_name, \
    infer_output_spec

_context = threading.local()      # .training: the flag of the outermost call in progress


def _current_training() -> bool | None:
    return getattr(_context, "training", None)


def _shape_of(x: Any) -> Any:
    if isinstance(x, (Tensor, KerasTensor, np.ndarray)):
        return tuple(x.shape)
    return x


def _marks_built(build: Any) -> Any:
    """Wrap a subclass's ``build`` so that calling it (directly too) marks the layer built."""
    def wrapper(self: "Layer", *args: Any, **kwargs: Any) -> Any:
        result = build(self, *args, **kwargs)
        object.__setattr__(self, "built", True)
        return result
    wrapper.__wrapped__ = build
    wrapper.__name__, wrapper.__doc__ = build.__name__, build.__doc__
    return wrapper


class Layer(nn.Module):
    """Base class of Keras layers; subclasses implement ``build`` (optional) and ``call``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not hasattr(build, "__wrapped__"):
            cls.build = _marks_built(build)

    def __setattr__(self, name: str, value: Any) -> None:
        # Keras tracks layers held in lists, tuples and dicts; register each one so its
        # weights count (as "<name>_<index or key>" children)
        if isinstance(value, (list, tuple, dict)) and "_modules" in self.__dict__:
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(item, nn.Module):
                    self._modules[f"{name}_{key}"] = item
        super().__setattr__(name, value)

    def __init__(self, *, activity_regularizer: Any = None, trainable: bool = True,
                 dtype: Any = None, autocast: bool = True, name: str | None = None,
                 **kwargs: Any) -> None:
        input_shape = kwargs.pop("input_shape", None)
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        batch_size = kwargs.pop("batch_size", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to "
                             f"{type(self).__name__}: {kwargs}")
        super().__init__()
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: `name` must be a string, got {name!r}")
        set_ = object.__setattr__
        set_(self, "name", name or unique_name(snake_case(type(self).__name__)))
        set_(self, "built", False)
        set_(self, "_trainable", bool(trainable))
        set_(self, "_own_weights", [])          # this layer's variables, in creation order
        set_(self, "_regularized", [])          # (weight, regularizer) pairs
        set_(self, "_constraints", [])          # (weight, constraint) pairs
        set_(self, "_call_losses", [])
        set_(self, "_inbound_nodes", [])
        set_(self, "input_spec", None)
        set_(self, "autocast", autocast)
        set_(self, "activity_regularizer", regularizers.get(activity_regularizer))
        set_(self, "_dtype", dtype_name(dtype) if dtype is not None else "float32")
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is None and input_shape is not None:
            if isinstance(input_shape, int):
                input_shape = (input_shape,)
            batch_input_shape = (batch_size,) + tuple(input_shape)
        set_(self, "_batch_input_shape",
             None if batch_input_shape is None else tuple(batch_input_shape))

    # -- identity ----------------------------------------------------------------------
    @property
    def dtype(self) -> str:
        """The dtype of the layer's weights and computations (Keras: the variable dtype)."""
        return self._dtype

    compute_dtype = dtype
    variable_dtype = dtype

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    # -- weights -----------------------------------------------------------------------
    def add_weight(self, shape: tuple | None = None, initializer: Any = None,
                   dtype: Any = None, trainable: bool = True, autocast: bool = True,
                   regularizer: Any = None, constraint: Any = None,
                   aggregation: str = "none", overwrite_with_gradient: bool = False,
                   name: str | None = None) -> nn.Parameter:
        """Create a weight, register it on this layer and return it."""
        shape = () if shape is None else tuple(int(d) for d in shape)
        dtype = dtype_name(dtype) if dtype is not None else self._dtype
        if initializer is None:
            floating = ember.empty(0, dtype=dtype).is_floating_point()
            initializer = "glorot_uniform" if floating else "zeros"
        init = initializers.get(initializer)
        value = init(shape, dtype=dtype)
        if not isinstance(value, Tensor):
            value = ember.tensor(np.asarray(value))
        value = value.to(dtype)
        if tuple(value.shape) != shape:
            raise ValueError(f'Layer "{self.name}": initializer {init!r} returned shape '
                             f"{tuple(value.shape)} for a weight of shape {shape}")
        weight = nn.Parameter(value, requires_grad=bool(trainable) and self._trainable)
        weight._keras_trainable = bool(trainable)
        key = self._free_weight_key(name or "variable")
        self.register_parameter(key, weight)
        self._own_weights.append(weight)
        if regularizer is not None:
            self._regularized.append((weight, regularizers.get(regularizer)))
        if constraint is not None:
            self._constraints.append((weight, constraint))
        weight.name = name or key
        weight.path = f"{self.name}/{weight.name}"
        return weight

    def _free_weight_key(self, name: str) -> str:
        key, n = name, 0
        while key in self._parameters or key in self._modules or key in self.__dict__:
            n += 1
            key = f"{name}_{n}"
        return key

    def _sublayers(self) -> Iterator[nn.Module]:
        """Direct children (Keras layers and plain Ember modules), in assignment order."""
        for module in self._modules.values():
            if module is not None:
                yield module

    def _collect(self, want_trainable: bool | None) -> list[nn.Parameter]:
        seen: set[int] = set()
        out: list[nn.Parameter] = []

        def add(w: nn.Parameter, trainable: bool) -> None:
            if id(w) not in seen and (want_trainable is None or want_trainable == trainable):
                seen.add(id(w))
                out.append(w)

        for w in self._own_weights:
            add(w, w.requires_grad)
        for child in self._sublayers():
            if isinstance(child, Layer):
                for w in child._collect(want_trainable):
                    add(w, w.requires_grad)
            else:
                for w in child.parameters():
                    add(w, w.requires_grad)
        return out

    @property
    def weights(self) -> list[nn.Parameter]:
        """All weights: this layer's, then its sublayers' (Keras's order)."""
        return self._collect(None)

    variables = weights

    @property
    def trainable_weights(self) -> list[nn.Parameter]:
        return self._collect(True)

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self) -> list[nn.Parameter]:
        return self._collect(False)

    non_trainable_variables = non_trainable_weights

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze or unfreeze this layer and every layer inside it."""
        value = bool(value)
        object.__setattr__(self, "_trainable", value)
        for w in self._own_weights:
            w.requires_grad_(value and getattr(w, "_keras_trainable", True))
        for child in self._sublayers():
            if isinstance(child, Layer):
                child.trainable = value
            else:
                child.requires_grad_(value)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights as NumPy arrays, in ``weights`` order."""
        return [w.detach().numpy().copy() for w in self.weights]

    def set_weights(self, weights: list) -> None:
        """Overwrite the weights, in ``weights`` order, from arrays of the same shapes."""
        mine = self.weights
        weights = list(weights)
        if len(weights) != len(mine):
            raise ValueError(f'You called `set_weights(weights)` on layer "{self.name}" '
                             f"with a weight list of length {len(weights)}, but the layer "
                             f"was expecting {len(mine)} weights.")
        arrays = [np.asarray(v) for v in weights]
        for w, v in zip(mine, arrays):
            if tuple(w.shape) != v.shape:
                raise ValueError(f"Layer {self.name} weight shape {tuple(w.shape)} is not "
                                 f"compatible with provided weight shape {v.shape}.")
        with ember.no_grad():
            for w, v in zip(mine, arrays):
                w.copy_(ember.tensor(v).to(w.dtype))

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but "
                             "the layer isn't built. You can build it manually via: "
                             f"`{self.name}.build(batch_input_shape)`.")
        return int(sum(w.numel() for w in self.weights))

    # -- losses ------------------------------------------------------------------------
    def add_loss(self, loss: Tensor) -> None:
        """Add a scalar to the training loss (call it inside ``call``)."""
        self._call_losses.append(loss)

    @property
    def losses(self) -> list[Tensor]:
        """Weight penalties (recomputed now) and losses added during the last call."""
        out = [reg(w) for w, reg in self._regularized] + list(self._call_losses)
        for child in self._sublayers():
            if isinstance(child, Layer):
                out.extend(child.losses)
        return out

    def _weight_constraints(self) -> list[tuple[nn.Parameter, Any]]:
        """(weight, constraint) pairs of this layer and every layer inside it."""
        pairs = list(self._constraints)
        for child in self._sublayers():
            if isinstance(child, Layer):
                pairs.extend(child._weight_constraints())
        return pairs

    def _apply_constraints(self, pairs: list | None = None) -> None:
        """Project weights with their constraints (the trainer calls this after a step,
        passing the pairs it collected once)."""
        with ember.no_grad():
            for w, constraint in self._weight_constraints() if pairs is None else pairs:
                w.copy_(constraint(w))

    # -- building ----------------------------------------------------------------------
    def build(self, input_shape: Any = None) -> None:
        """Create weights for inputs of ``input_shape``; the default creates none."""

    def _build_shapes(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """Map the call's tensor arguments to ``build``'s parameters: one parameter takes
        the first input's shape; several take ``<arg>_shape`` by the call's names."""
        build = getattr(self.build, "__wrapped__", self.build)
        params = [p for p in inspect.signature(build).parameters.values()
                  if p.name != "self"
                  and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        shapes = _tree.map_structure(_shape_of, args[0] if args else None)
        if len(params) <= 1:
            return ((shapes,) if params else ()), {}
        bound = inspect.signature(self.call).bind_partial(*args, **kwargs).arguments
        chosen = {}
        for p in params:
            arg = p.name[:-len("_shape")] if p.name.endswith("_shape") else p.name
            if arg in bound and bound[arg] is not None:
                chosen[p.name] = _tree.map_structure(_shape_of, bound[arg])
        return (), chosen

    def _maybe_build(self, args: tuple, kwargs: dict) -> None:
        if self.built:
            return
        build_args, build_kwargs = self._build_shapes(args, kwargs)
        self.build(*build_args, **build_kwargs)
        object.__setattr__(self, "built", True)

    def compute_output_shape(self, *args: Any, **kwargs: Any) -> Any:
        """The output shape for inputs of the given shape (found by a run on zeros unless
        a layer overrides this)."""
        def is_shape(s: Any) -> bool:
            return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int)
                                                        for d in s)

        def to_spec(s: Any) -> Any:      # a shape is a leaf, not a structure to walk into
            if is_shape(s):
                return KerasTensor(tuple(s), self._dtype)
            if isinstance(s, (tuple, list)):
                return type(s)(to_spec(item) for item in s)
            return s

        out = self.compute_output_spec(*(to_spec(a) for a in args), **kwargs)
        return _tree.map_structure(lambda t: t.shape, out)

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        """The KerasTensor(s) this layer returns for KerasTensor inputs."""
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            shapes = _tree.map_structure(
                lambda t: t.shape if isinstance(t, KerasTensor) else t, args)
            out_shape = self.compute_output_shape(*shapes)
            dtype = self._dtype        # as Keras: a declared shape comes in the layer's dtype
            if isinstance(out_shape, tuple) and all(d is None or isinstance(d, int)
                                                    for d in out_shape):
                return KerasTensor(out_shape, dtype)
            return _tree.map_structure(lambda s: KerasTensor(s, dtype), out_shape)
        kwargs = dict(kwargs)
        if self._call_takes_training():
            kwargs["training"] = False
        return infer_output_spec(self._run_call, args, kwargs)

    # -- calling -----------------------------------------------------------------------
    def call(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"Layer {type(self).__name__} does not have a `call()` "
                                  "method implemented.")

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Ember's module entry point; Keras layers put their computation in ``call``."""
        return self.call(*args, **kwargs)

    @classmethod
    def _call_params(cls) -> dict:
        cache = cls.__dict__.get("_call_params_cache")
        if cache is None:
            cache = dict(inspect.signature(cls.call).parameters)
            type.__setattr__(cls, "_call_params_cache", cache)
        return cache

    def _call_takes_training(self) -> bool:
        return "training" in self._call_params()

    def _convert_input(self, x: Any) -> Any:
        if isinstance(x, np.ndarray) or (isinstance(x, (list, float, int)) and
                                         not isinstance(x, bool)):
            x = ember.tensor(np.asarray(x))
        if self.autocast and isinstance(x, Tensor) and x.is_floating_point() \
                and dtype_name(x.dtype) != self._dtype:
            x = x.to(self._dtype)
        return x

    def _check_input_spec(self, inputs: Any) -> None:
        spec = self.input_spec
        if spec is None:
            return
        specs = spec if isinstance(spec, (list, tuple)) else [spec]
        flat = [t for t in _tree.flatten(inputs) if hasattr(t, "shape")]
        for i, (s, t) in enumerate(zip(specs, flat)):
            if s is not None:
                s.check(self.name, i, tuple(t.shape))

    def _run_call(self, *args: Any, **kwargs: Any) -> Any:
        return nn.Module.__call__(self, *args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if any_symbolic((args, kwargs)):
            return self._symbolic_call(args, kwargs)
        if args:
            first = _tree.map_structure(self._convert_input, args[0])
            args = (first,) + tuple(self._convert_input(a) if isinstance(a, np.ndarray)
                                    else a for a in args[1:])
        self._maybe_build(args, kwargs)
        if args:
            self._check_input_spec(args[0])
        training = kwargs.pop("training", None)
        outer = _current_training()
        if training is None:
            training = outer
        if self._call_takes_training():
            kwargs["training"] = bool(training) if training is not None else False
        self._call_losses.clear()
        _context.training = training
        try:
            outputs = self._run_call(*args, **kwargs)
        finally:
            _context.training = outer
        if self.activity_regularizer is not None:
            for out in _tree.flatten(outputs):
                if isinstance(out, Tensor):
                    self._call_losses.append(self.activity_regularizer(out))
        return outputs

    def _symbolic_call(self, args: tuple, kwargs: dict) -> Any:
        """Functional API: build from the symbolic shapes and record a Node."""
        kwargs = dict(kwargs)
        kwargs.pop("training", None)
        self._maybe_build(args, kwargs)
        if args:
            self._check_input_spec(args[0])
        outputs = self.compute_output_spec(*args, **kwargs)
        node_index = len(self._inbound_nodes)
        for i, t in enumerate(_tree.flatten(outputs)):
            t._keras_history = (self, node_index, i)
            t.name = self.name if i == 0 else f"{self.name}_{i}"
        self._inbound_nodes.append(Node(self, args, kwargs, outputs))
        return outputs

    # -- functional-API views ------------------------------------------------------------
    def _only_node(self, what: str) -> Node:
        if not self._inbound_nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus has "
                                 f"no defined {what}.")
        if len(self._inbound_nodes) > 1:
            raise AttributeError(f"The layer {self.name} has been called {len(self._inbound_nodes)}"
                                 f" times; its {what} is ambiguous.")
        return self._inbound_nodes[0]

    @property
    def input(self) -> Any:
        node = self._only_node("input")
        tensors = node.input_tensors
        return tensors[0] if len(tensors) == 1 else tensors

    @property
    def output(self) -> Any:
        return self._only_node("output").outputs

    # -- configuration -------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (subclasses extend it)."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable,
                                  "dtype": self._dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        return cls(**config)
