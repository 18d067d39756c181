"""Rebuild a functional model's graph from its config (``Functional.from_config``).

Each layer is created from its config, then its recorded calls ("inbound nodes") are
replayed on the symbolic tensors they read, in an order where every input already exists.
Tensors are referenced as ``[layer_name, node_index, tensor_index]``.
"""
from __future__ import annotations

from typing import Any

from ember.keras import _tree
from ember.keras.layers.input_layer import InputLayer
from ember.keras.saving.object_registration import CustomObjectScope

__all__ = ["rebuild_graph"]


def _is_ref(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int))


def _map_refs(fn: Any, structure: Any) -> Any:
    if _is_ref(structure):
        return fn(structure)
    if isinstance(structure, list):
        return [_map_refs(fn, s) for s in structure]
    if isinstance(structure, dict):
        return {k: _map_refs(fn, s) for k, s in structure.items()}
    raise ValueError(f"Functional config: invalid tensor reference {structure!r} (expected "
                     "[layer_name, node_index, tensor_index])")


class _Missing(Exception):
    """A node's input tensor does not exist yet."""


def rebuild_graph(config: dict, custom_objects: dict | None = None) -> tuple[Any, Any]:
    """The (inputs, outputs) structures of the graph described by ``config``."""
    from ember.keras.saving.serialization import deserialize_keras_object

    for key in ("layers", "input_layers", "output_layers"):
        if key not in config:
            raise ValueError(f"Functional config is missing {key!r}: {sorted(config)}")
    created: dict[str, list] = {}          # layer name -> outputs of each replayed node
    layers, pending = {}, []
    with CustomObjectScope(custom_objects):
        for entry in config["layers"]:
            if not isinstance(entry, dict) or "name" not in entry:
                raise ValueError(f"Functional config: invalid layer entry {entry!r}")
            layer_config = {k: v for k, v in entry.items()
                            if k not in ("name", "inbound_nodes")}
            layer = deserialize_keras_object(layer_config)
            name = entry["name"]
            layers[name] = layer
            created[name] = ([layer._inbound_nodes[0].outputs]
                             if isinstance(layer, InputLayer) else [])
            pending.append((name, list(entry.get("inbound_nodes") or [])))

        def tensor(ref: list) -> Any:
            name, node_index, tensor_index = ref
            if name not in created:
                raise ValueError(f"Functional config: unknown layer {name!r} in tensor "
                                 f"reference {ref}")
            if node_index >= len(created[name]):
                raise _Missing
            flat = _tree.flatten(created[name][node_index])
            if tensor_index >= len(flat):
                raise ValueError(f"Functional config: layer {name!r} node {node_index} has "
                                 f"{len(flat)} outputs, reference {ref} is out of range")
            return flat[tensor_index]

        def decode(value: Any) -> Any:
            if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
                return tensor(value["config"]["keras_history"])
            if isinstance(value, list):
                return [decode(v) for v in value]
            if isinstance(value, dict):
                return {k: decode(v) for k, v in value.items()}
            return value

        while any(nodes for _, nodes in pending):
            progress = False
            for name, nodes in pending:
                while nodes:
                    try:
                        args = decode(nodes[0].get("args", []))
                        kwargs = decode(nodes[0].get("kwargs", {}))
                    except _Missing:
                        break
                    created[name].append(layers[name](*args, **kwargs))
                    nodes.pop(0)
                    progress = True
            if not progress:
                stuck = [name for name, nodes in pending if nodes]
                raise ValueError(f"Functional config: cannot rebuild the graph; the calls of "
                                 f"layers {stuck} read tensors that are never produced")
        try:
            inputs = _map_refs(tensor, config["input_layers"])
            outputs = _map_refs(tensor, config["output_layers"])
        except _Missing:
            raise ValueError("Functional config: `input_layers`/`output_layers` reference a "
                             "node that the config does not create") from None
    return inputs, outputs
