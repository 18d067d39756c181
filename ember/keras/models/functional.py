"""Functional models: a graph of layer calls from ``keras.Input``s to outputs.

``keras.Model(inputs, outputs)`` walks the nodes recorded by symbolic layer calls back from
``outputs``; calling the model runs those nodes in topological order on real tensors.
Inputs and outputs may be one tensor, a list or a dict; a layer may be used at several
nodes (shared weights), and models are layers, so they nest.

>>> import ember
>>> from ember import keras
>>> from ember.keras.layers.core import Dense
>>> inputs = keras.Input(shape=(3,))
>>> model = keras.Model(inputs, Dense(2)(inputs), name="tiny")
>>> model(ember.ones(4, 3)).shape, model.output_shape
(ember.Size([4, 2]), (None, 2))
"""
from __future__ import annotations

from typing import Any

from ember.keras import _tree
from ember.keras.keras_tensor import KerasTensor, Node
from ember.keras.layers.input_layer import InputLayer
from ember.keras.layers.input_spec import InputSpec
from ember.keras.layers.layer import Layer
from ember.keras.models.model import Model

__all__ = ["Functional"]


def _history(t: Any, role: str) -> tuple:
    if not isinstance(t, KerasTensor) or t._keras_history is None:
        raise ValueError(f"All model {role} must be symbolic tensors made by keras.Input or a "
                         f"layer call (KerasTensors). Received: {t!r}")
    return t._keras_history


def _producing_node(t: KerasTensor) -> Node:
    layer, node_index, _ = t._keras_history
    return layer._inbound_nodes[node_index]


def _topological_nodes(inputs: list, outputs: list) -> list[Node]:
    """The nodes from ``inputs`` to ``outputs``, each after the nodes it reads from."""
    input_nodes = {id(_producing_node(t)) for t in inputs}
    order: list[Node] = []
    done: set[int] = set()
    for out in outputs:
        stack = [(_producing_node(out), False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in done:
                continue
            if expanded or id(node) in input_nodes:
                done.add(id(node))
                order.append(node)
                continue
            if isinstance(node.layer, InputLayer):
                raise ValueError(
                    f"Graph disconnected: cannot find the value of input "
                    f'"{node.layer.name}" (shape {node.layer.batch_shape}): it is not '
                    f"among the model's inputs {[t.name for t in inputs]}. Layers reached "
                    f"without issue: {[n.layer.name for n in order]}")
            stack.append((node, True))
            for t in reversed(node.input_tensors):
                _history(t, "intermediate tensors")
                if id(_producing_node(t)) not in done:
                    stack.append((_producing_node(t), False))
    return order


class Functional(Model):
    """A model defined by a graph of layer calls; see ``keras.Model(inputs, outputs)``."""

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None,
                 trainable: bool = True, **kwargs: Any) -> None:
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self._inputs = _tree.flatten(inputs)
        self._outputs = _tree.flatten(outputs)
        if not self._inputs or not self._outputs:
            raise ValueError(f'Model "{self.name}": `inputs` and `outputs` must each hold at '
                             "least one tensor")
        for t in self._inputs:
            layer = _history(t, "inputs")[0]
            if not isinstance(layer, InputLayer):
                raise ValueError(f'Model "{self.name}": every input must come from '
                                 f"keras.Input(); {t.name} is the output of layer "
                                 f'"{layer.name}"')
        for t in self._outputs:
            _history(t, "outputs")
        self._nodes = _topological_nodes(self._inputs, self._outputs)
        self._node_ids = {id(n) for n in self._nodes}
        self._layers = self._order_layers()
        names = [layer.name for layer in self._layers]
        for layer_name in names:
            if names.count(layer_name) > 1:
                raise ValueError(f'The name "{layer_name}" is used {names.count(layer_name)} '
                                 "times in the model. All layer names should be unique.")
        for layer in self._layers:
            self._modules[layer.name] = layer
        self.input_spec = [InputSpec(shape=t.shape, name=t.name) for t in self._inputs]
        self.built = True

    def _order_layers(self) -> list[Layer]:
        """Layers by decreasing depth (distance to the outputs), inputs first on ties,
        like Keras's ``model.layers``."""
        depth: dict[int, int] = {id(n): 0 for n in self._nodes}
        for node in reversed(self._nodes):
            for t in node.input_tensors:
                parent = id(_producing_node(t))
                depth[parent] = max(depth[parent], depth[id(node)] + 1)
        layer_depth: dict[int, int] = {}
        found: list[Layer] = [t._keras_history[0] for t in self._inputs]
        for node in self._nodes:
            layer_depth[id(node.layer)] = max(layer_depth.get(id(node.layer), 0),
                                              depth[id(node)])
            found.append(node.layer)
        first: dict[int, int] = {}
        unique = []
        for i, layer in enumerate(found):
            if id(layer) not in first:
                first[id(layer)] = i
                unique.append(layer)
        return sorted(unique, key=lambda layer: (-layer_depth.get(id(layer), 0),
                                                first[id(layer)]))

    # -- views ---------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """All layers of the graph, ``InputLayer``s included, inputs first."""
        return list(self._layers)

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._outputs)

    @property
    def input(self) -> Any:
        return self._inputs_struct

    @property
    def output(self) -> Any:
        return self._outputs_struct

    @property
    def input_shape(self) -> Any:
        shapes = _tree.map_structure(lambda t: t.shape, self._inputs_struct)
        return shapes[0] if isinstance(shapes, list) and len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        shapes = _tree.map_structure(lambda t: t.shape, self._outputs_struct)
        return shapes[0] if isinstance(shapes, list) and len(shapes) == 1 else shapes

    def _nodes_of(self, layer: Layer) -> list[Node]:
        """The nodes of ``layer`` that belong to this model, in call order."""
        return [n for n in layer._inbound_nodes if id(n) in self._node_ids]

    def get_build_config(self) -> None:
        return None

    # -- calling -------------------------------------------------------------------------
    def _flatten_inputs(self, inputs: Any) -> list:
        names = [t._keras_history[0].name for t in self._inputs]
        if isinstance(inputs, dict):
            keys = list(self._inputs_struct) if isinstance(self._inputs_struct, dict) \
                else names
            missing = [k for k in keys if k not in inputs]
            if missing:
                raise ValueError(f'Model "{self.name}": missing data for input "{missing[0]}". '
                                 f"You passed a data dictionary with keys "
                                 f"{list(inputs)}. Expected the following keys: {keys}")
            return [inputs[k] for k in keys]
        flat = _tree.flatten(inputs)
        if len(flat) != len(self._inputs):
            raise ValueError(f'Layer "{self.name}" expects {len(self._inputs)} input(s), but '
                             f"it received {len(flat)} input tensors. Expected inputs: "
                             f"{names}")
        return flat

    def _check_input_spec(self, inputs: Any) -> None:
        for i, (spec, x) in enumerate(zip(self.input_spec, self._flatten_inputs(inputs))):
            if not hasattr(x, "shape"):
                raise TypeError(f'Input {i} of layer "{self.name}" must be a tensor or an '
                                f"array, got {type(x).__name__}")
            spec.check(self.name, i, tuple(x.shape))

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        values = {id(t): x for t, x in zip(self._inputs, self._flatten_inputs(inputs))}

        def value(t: Any) -> Any:
            return values[id(t)] if isinstance(t, KerasTensor) else t

        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            args = _tree.map_structure(value, node.args)
            kwargs = _tree.map_structure(value, node.kwargs)
            result = node.layer(*args, **kwargs)
            for t, x in zip(_tree.flatten(node.outputs), _tree.flatten(result)):
                values[id(t)] = x
        return _tree.map_structure(value, self._outputs_struct)

    # -- configuration -------------------------------------------------------------------
    def get_config(self) -> dict:
        """Layers (class, config, inbound nodes) and the input/output tensors, by name."""
        from ember.keras.saving.serialization import serialize_keras_object

        def ref(t: KerasTensor) -> list:
            layer, node_index, tensor_index = t._keras_history
            kept = self._nodes_of(layer)
            new_index = next(i for i, n in enumerate(kept)
                             if n is layer._inbound_nodes[node_index])
            return [layer.name, new_index, tensor_index]

        def encode(value: Any) -> Any:
            if isinstance(value, KerasTensor):
                return {"class_name": "__keras_tensor__",
                        "config": {"shape": list(value.shape), "dtype": value.dtype,
                                   "keras_history": ref(value)}}
            return serialize_keras_object(value)

        layers = []
        for layer in self._layers:
            entry = serialize_keras_object(layer)
            entry.pop("build_config", None)
            entry["name"] = layer.name
            entry["inbound_nodes"] = [] if isinstance(layer, InputLayer) else [
                {"args": _tree.map_structure(encode, list(n.args)),
                 "kwargs": _tree.map_structure(encode, n.kwargs)}
                for n in self._nodes_of(layer)]
            layers.append(entry)
        return {"name": self.name, "trainable": self.trainable, "layers": layers,
                "input_layers": _tree.map_structure(ref, self._inputs_struct),
                "output_layers": _tree.map_structure(ref, self._outputs_struct)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Functional":
        from ember.keras.models.graph_config import rebuild_graph
        inputs, outputs = rebuild_graph(config, custom_objects)
        return cls(inputs, outputs, name=config.get("name"),
                   trainable=config.get("trainable", True))
