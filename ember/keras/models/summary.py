"""``model.summary()``: Keras 3's table of layers, output shapes and parameter counts.

The layout follows Keras 3 (a box table, then total / trainable / non-trainable parameter
counts with their size in memory), printed as plain text without colours. Column widths
come from ``line_length`` and ``positions`` (fractions of the line, or absolute ends).
"""
from __future__ import annotations

import re
import shutil
import textwrap
from typing import Any, Callable

from ember.keras import _tree

__all__ = ["print_summary", "readable_memory_size"]


def readable_memory_size(num_bytes: float) -> str:
    """``203600 -> "198.83 KB"``: Keras's size format (powers of 1024, two decimals)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if num_bytes < 1024:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} PB"


def _count_and_size(weights: list) -> tuple[int, int]:
    unique = {id(w): w for w in weights}.values()
    return (sum(w.numel() for w in unique),
            sum(w.numel() * w.element_size() for w in unique))


def _format_shape(shape: tuple) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _output_shape(model: Any, layer: Any) -> str:
    nodes = model._nodes_of(layer) if hasattr(model, "_nodes_of") else layer._inbound_nodes
    if not nodes:
        return "?"
    shapes = _tree.map_structure(lambda t: _format_shape(t.shape), nodes[0].outputs)
    flat = _tree.flatten(shapes)
    return flat[0] if len(flat) == 1 else str(shapes).replace("'", "")


def _graph(model: Any) -> Any:
    """The functional graph behind ``model`` (None for a subclassed model)."""
    from ember.keras.models.functional import Functional
    from ember.keras.models.sequential import Sequential
    if isinstance(model, Sequential):
        return model._functional
    return model if isinstance(model, Functional) else None


def _sequential_like(graph: Any) -> bool:
    """False when some node joins several tensors, or a layer is called more than once."""
    for node in graph._nodes:
        if len(node.input_tensors) > 1 or len(graph._nodes_of(node.layer)) > 1:
            return False
    return True


def _connections(graph: Any, layer: Any) -> str:
    parts = []
    for node in graph._nodes_of(layer):
        for t in node.input_tensors:
            source, node_index, tensor_index = t._keras_history
            parts.append(f"{source.name}[{node_index}][{tensor_index}]")
    return ", ".join(parts) or "-"


def _column_widths(line_length: int, positions: list) -> list[int]:
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    widths, current = [], 0
    for end in positions:
        if end - current < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(end - current)
        current = end
    return widths


def _render_table(header: list[str], rows: list[list[str]], widths: list[int],
                  align: list[str]) -> list[str]:
    """A box table whose lines are ``sum(widths)`` characters long."""
    inner = [w - 3 for w in widths[:-1]] + [widths[-1] - 4]

    def rule(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * (w + 2) for w in inner) + right

    def cells(values: list[str], bar: str) -> list[str]:
        wrapped = [textwrap.wrap(v, w, break_on_hyphens=False) or [""]
                   for v, w in zip(values, inner)]
        lines = []
        for i in range(max(len(c) for c in wrapped)):
            parts = []
            for c, w, a in zip(wrapped, inner, align):
                text = c[i] if i < len(c) else ""
                text = (text.rjust(w) if a == "right" else
                        text.center(w) if a == "center" else text.ljust(w))
                parts.append(f" {text} ")
            lines.append(bar + bar.join(parts) + bar)
        return lines

    out = [rule("┏", "━", "┳", "┓"), *cells(header, "┃"), rule("┡", "━", "╇", "┩")]
    for i, row in enumerate(rows):
        if i:
            out.append(rule("├", "─", "┼", "┤"))
        out.extend(cells(row, "│"))
    out.append(rule("└", "─", "┴", "┘"))
    return out


def _layer_range(layers: list, layer_range: Any) -> list:
    if layer_range is None:
        return layers
    if len(layer_range) != 2 or not all(isinstance(n, str) for n in layer_range):
        raise ValueError(f"layer_range must be a list or tuple of 2 strings (layer names or "
                         f"regexes). Received: {layer_range}")
    lower = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError(f"Passed layer_names do not match the layer names in the model. "
                         f"Received: {layer_range}")
    return layers[min(lower):max(upper) + 1]


def print_summary(model: Any, line_length: int | None = None, positions: list | None = None,
                  print_fn: Callable[[str], Any] | None = None, expand_nested: bool = False,
                  show_trainable: bool = False, layer_range: Any = None) -> None:
    """Print (or hand to ``print_fn`` as one string) the summary table of ``model``."""
    graph = _graph(model)
    sequential_like = graph is None or _sequential_like(graph)
    layers = list(model.layers)
    if sequential_like:
        default_length, default_positions = 88, [0.45, 0.80, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
        align = ["left", "left", "right"]
    else:
        default_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        align = ["left", "left", "right", "left"]
    positions = list(positions or default_positions)
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        align.append("center")
    if line_length is None:
        line_length = min(default_length, shutil.get_terminal_size().columns - 4)
    widths = _column_widths(line_length, positions)

    def fields(owner: Any, layer: Any, prefix: str) -> list[str]:
        if not layer.built:
            params = "0 (unbuilt)"
        else:
            params = f"{layer.count_params():,}"
        row = [f"{prefix}{layer.name} ({type(layer).__name__})",
               _output_shape(_graph(owner) or owner, layer), params]
        if not sequential_like:
            row.append(_connections(graph, layer) if owner is model else "")
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        return row

    def rows_for(owner: Any, layer: Any, level: int) -> list[list[str]]:
        prefix = "   " * level + "└ " if level else ""
        rows = [fields(owner, layer, prefix)]
        inner = getattr(layer, "layers", None)
        if expand_nested and inner:
            for child in inner:
                rows.extend(rows_for(layer, child, level + 1))
        return rows

    rows = [row for layer in _layer_range(layers, layer_range)
            for row in rows_for(model, layer, 0)]
    trainable, trainable_size = _count_and_size(model.trainable_weights)
    frozen, frozen_size = _count_and_size(model.non_trainable_weights)
    lines = [f'Model: "{model.name}"', *_render_table(header, rows, widths, align),
             f" Total params: {trainable + frozen:,} "
             f"({readable_memory_size(trainable_size + frozen_size)})",
             f" Trainable params: {trainable:,} ({readable_memory_size(trainable_size)})",
             f" Non-trainable params: {frozen:,} ({readable_memory_size(frozen_size)})"]
    text = "\n".join(lines)
    if print_fn is None:
        print(text)
    else:
        print_fn(text)
