"""``keras.callbacks.TensorBoard``: event files TensorBoard can display.

Written with the ``tensorboard`` package's own event writer and protos
(``pip install 'ember[tensorboard]'``), in Keras's layout: ``<log_dir>/train`` holds
``epoch_<metric>`` scalars (and ``batch_<metric>`` ones with a batch ``update_freq``),
weight histograms and the layer graph; ``<log_dir>/validation`` holds the ``val_``
metrics under the same ``epoch_<metric>`` tags.
"""
from __future__ import annotations

import os
import struct
import time
import zlib
from typing import Any

import numpy as np

from ember.keras.callbacks.callback import Callback

__all__ = ["TensorBoard"]


def _tensorboard() -> tuple:
    try:
        from tensorboard.compat.proto import event_pb2, graph_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise ImportError("keras.callbacks.TensorBoard needs the tensorboard package: "
                          "pip install 'ember[tensorboard]'") from None
    return EventFileWriter, event_pb2, graph_pb2, summary_pb2


def _png_gray(image: np.ndarray) -> bytes:
    """An 8-bit grayscale PNG of a 2-D uint8 array (PNG is zlib-compressed rows)."""
    height, width = image.shape
    rows = b"".join(b"\x00" + image[r].tobytes() for r in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + \
        chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _as_image(weight: np.ndarray) -> np.ndarray | None:
    """A weight as a 2-D uint8 picture (kernels flattened to (fan_in, units)), scaled
    to its own min..max; None for scalars."""
    if weight.ndim == 0 or weight.size == 0:
        return None
    w = weight.reshape(1, -1) if weight.ndim == 1 else weight.reshape(-1, weight.shape[-1])
    lo, hi = float(w.min()), float(w.max())
    scaled = (w - lo) / (hi - lo) if hi > lo else np.zeros_like(w)
    return np.round(scaled * 255).astype(np.uint8)


class TensorBoard(Callback):
    """Log metrics, weight histograms/images and the layer graph for TensorBoard.

    ``update_freq``: 'epoch', 'batch' or every N batches (adds ``batch_*`` scalars);
    ``histogram_freq``: weight histograms every N epochs (0: none); ``write_graph``: the
    layer graph (one node per layer, edges from the functional graph); ``write_images``:
    each weight as a grayscale image when histograms are written;
    ``write_steps_per_second``: an ``epoch_steps_per_second`` scalar. Profiling and
    embeddings (``profile_batch``, ``embeddings_freq``) are TensorFlow features Ember
    does not have: they must stay 0.

    >>> from ember import keras
    >>> board = keras.callbacks.TensorBoard(log_dir="logs", histogram_freq=1)
    """

    def __init__(self, log_dir: Any = "logs", histogram_freq: int = 0,
                 write_graph: bool = True, write_images: bool = False,
                 write_steps_per_second: bool = False, update_freq: Any = "epoch",
                 profile_batch: Any = 0, embeddings_freq: int = 0,
                 embeddings_metadata: Any = None) -> None:
        super().__init__()
        _tensorboard()
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"TensorBoard: `update_freq` must be 'epoch', 'batch' or a "
                             f"positive integer, got {update_freq!r}")
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: `histogram_freq` must be a non-negative integer, "
                             f"got {histogram_freq!r}")
        if profile_batch not in (0, None) or embeddings_freq:
            raise ValueError("TensorBoard: `profile_batch` and `embeddings_freq` are "
                             "TensorFlow profiler/projector features that Ember does not "
                             f"have; got profile_batch={profile_batch!r}, "
                             f"embeddings_freq={embeddings_freq!r} (use 0)")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq, self.write_graph = histogram_freq, write_graph
        self.write_images, self.update_freq = write_images, update_freq
        self.write_steps_per_second = write_steps_per_second
        self.embeddings_metadata = embeddings_metadata
        self._writers: dict[str, Any] = {}
        self._global_train_batch = 0
        self._epoch_start = 0.0
        self._epoch_batches = 0

    # -- writing ---------------------------------------------------------------------------
    def _writer(self, which: str) -> Any:
        if which not in self._writers:
            writer_cls = _tensorboard()[0]
            path = os.path.join(self.log_dir, which)
            os.makedirs(path, exist_ok=True)
            self._writers[which] = writer_cls(path)
        return self._writers[which]

    def _write(self, which: str, step: int, **event_fields: Any) -> None:
        event_pb2 = _tensorboard()[1]
        event = event_pb2.Event(wall_time=time.time(), step=int(step), **event_fields)
        self._writer(which).add_event(event)

    def _scalars(self, which: str, step: int, values: dict[str, float]) -> None:
        summary_pb2 = _tensorboard()[3]
        summary = summary_pb2.Summary(value=[
            summary_pb2.Summary.Value(tag=tag, simple_value=float(value))
            for tag, value in values.items() if isinstance(value, (int, float))])
        self._write(which, step, summary=summary)

    def _weights(self, epoch: int) -> None:
        summary_pb2 = _tensorboard()[3]
        values = []
        for w in self.model.weights:
            data = w.detach().numpy().astype(np.float64)
            tag = getattr(w, "path", None) or getattr(w, "name", "weight")
            if self.histogram_freq and epoch % self.histogram_freq == 0:
                values.append(summary_pb2.Summary.Value(tag=tag, histo=_histogram(
                    summary_pb2, data)))
            image = _as_image(data) if self.write_images else None
            if image is not None:
                values.append(summary_pb2.Summary.Value(tag=tag + "/image", image=(
                    summary_pb2.Summary.Image(height=image.shape[0], width=image.shape[1],
                                              colorspace=1,
                                              encoded_image_string=_png_gray(image)))))
        if values:
            self._write("train", epoch, summary=summary_pb2.Summary(value=values))

    def _graph(self) -> None:
        graph_pb2 = _tensorboard()[2]
        graph = graph_pb2.GraphDef()
        for layer in getattr(self.model, "layers", []):
            node = graph.node.add(name=layer.name, op=type(layer).__name__)
            inputs: list[str] = []
            for inbound in getattr(layer, "_inbound_nodes", []):
                for t in inbound.input_tensors:
                    history = getattr(t, "_keras_history", None)
                    if history is not None and history[0].name not in inputs:
                        inputs.append(history[0].name)
            node.input.extend(inputs)
        self._write("train", 0, graph_def=graph.SerializeToString())

    # -- hooks -----------------------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._global_train_batch = 0
        if self.write_graph:
            self._graph()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start, self._epoch_batches = time.time(), 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._global_train_batch += 1
        self._epoch_batches += 1
        if self.update_freq != "epoch" and self._global_train_batch % self.update_freq == 0:
            self._scalars("train", self._global_train_batch,
                          {"batch_" + k: v for k, v in (logs or {}).items()})

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = dict(logs or {})
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and "learning_rate" not in logs and \
                hasattr(optimizer, "learning_rate"):
            logs["learning_rate"] = float(optimizer.learning_rate)
        train = {"epoch_" + k: v for k, v in logs.items() if not k.startswith("val_")}
        if self.write_steps_per_second:
            elapsed = max(time.time() - self._epoch_start, 1e-9)
            train["epoch_steps_per_second"] = self._epoch_batches / elapsed
        self._scalars("train", epoch, train)
        val = {"epoch_" + k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if val:
            self._scalars("validation", epoch, val)
            iterations = int(getattr(optimizer, "iterations", epoch))
            self._scalars("validation", iterations,
                          {f"evaluation_{k[4:]}_vs_iterations": v for k, v in logs.items()
                           if k.startswith("val_")})
        if self.histogram_freq or self.write_images:
            self._weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


def _histogram(summary_pb2: Any, data: np.ndarray, bins: int = 30) -> Any:
    flat = data.reshape(-1)
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return summary_pb2.HistogramProto()
    counts, edges = np.histogram(flat, bins=bins)
    return summary_pb2.HistogramProto(
        min=float(flat.min()), max=float(flat.max()), num=float(flat.size),
        sum=float(flat.sum()), sum_squares=float(np.square(flat).sum()),
        bucket_limit=[float(e) for e in edges[1:]], bucket=[float(c) for c in counts])
