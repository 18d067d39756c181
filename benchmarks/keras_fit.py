"""``ember.keras`` fit workloads: one epoch of ``model.fit`` next to a plain PyTorch loop.

One step is ``model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)`` over
the first :data:`N_SAMPLES` Fashion-MNIST training images on the Ember side, and on the
PyTorch side the loop a PyTorch user writes over the same batches in the same order:
``zero_grad``, forward, ``cross_entropy``, ``backward``, ``step``, plus ``loss.item()``
for the epoch's mean loss (Keras tracks it too). Both use Adam with Keras's defaults
(learning rate 1e-3, epsilon 1e-7) and start from the same weights (PyTorch's initial
ones, copied into the Keras model with ``set_weights``), so a step returns that epoch's
mean loss and the two sides' losses can be compared. Models:

- ``mlp``: Dense(128, relu) -> Dense(64, relu) -> Dense(10) on 784 pixels scaled to [0, 1];
- ``cnn``: ``ember.cli.build_quickstart_model()`` (Rescaling, Conv2D(32, 3, relu),
  MaxPooling2D, Conv2D(64, 3, relu), MaxPooling2D, Flatten, Dense(128, relu), Dense(10))
  on raw 28x28x1 pixels; PyTorch runs the same network in NCHW
  (``benchmarks.fashion_mnist_parity.make_cnn``) after the same rescaling.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from benchmarks.data_loading import fashion_mnist
from benchmarks.fashion_mnist_parity import make_cnn
from benchmarks.harness import Sides, Unavailable, Workload
from ember.cli import PIXEL_MEAN, PIXEL_STD

__all__ = ["KERAS", "N_SAMPLES", "keras_workloads"]

N_SAMPLES = 4096
BATCH_SIZE = 64
KERAS_ADAM_EPSILON = 1e-7


def _require(layer_names: tuple[str, ...]) -> Any:
    """``ember.keras`` when it has fit, Adam, the sparse loss and the layers; else
    :class:`Unavailable` naming what is missing."""
    try:
        from ember import keras
        missing = [f"keras.layers.{n}" for n in layer_names if not hasattr(keras.layers, n)]
        for module, name in (("optimizers", "Adam"),
                             ("losses", "SparseCategoricalCrossentropy")):
            if not hasattr(getattr(keras, module), name):
                missing.append(f"keras.{module}.{name}")
    except ImportError as e:
        raise Unavailable(f"ember.keras is not complete yet ({e})")
    if not hasattr(keras.Model, "fit"):
        missing.append("keras.Model.fit")
    if missing:
        raise Unavailable(f"ember.keras lacks {', '.join(missing)}")
    return keras


# -- the two models, each as (keras model, torch model, torch input transform) -------------

def _mlp(keras: Any, th: Any) -> tuple[Any, Any, Callable]:
    layers = keras.layers
    km = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(128, activation="relu"),
                           layers.Dense(64, activation="relu"), layers.Dense(10)])
    nn = th.nn
    tm = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                       nn.Linear(64, 10))
    km.set_weights([a for lin in tm[::2]
                    for a in (lin.weight.detach().numpy().T, lin.bias.detach().numpy())])
    return km, tm, lambda x: x


def _cnn(keras: Any, th: Any) -> tuple[Any, Any, Callable]:
    from ember.cli import build_quickstart_model
    km = build_quickstart_model()
    tm = make_cnn(th)
    conv1, conv2, dense1, dense2 = (tm[i] for i in (0, 3, 7, 9))

    def np_(p: Any) -> np.ndarray:
        return p.detach().numpy()
    # Keras kernels are (kh, kw, in, out) and (in, out); Flatten runs over (h, w, c) in
    # Keras but (c, h, w) in PyTorch, so the first dense kernel's rows are reordered.
    dense1_w = np_(dense1.weight).reshape(128, 64, 5, 5).transpose(2, 3, 1, 0)
    km.set_weights([np_(conv1.weight).transpose(2, 3, 1, 0), np_(conv1.bias),
                    np_(conv2.weight).transpose(2, 3, 1, 0), np_(conv2.bias),
                    dense1_w.reshape(5 * 5 * 64, 128), np_(dense1.bias),
                    np_(dense2.weight).T, np_(dense2.bias)])
    scale, offset = 1.0 / (255.0 * PIXEL_STD), -PIXEL_MEAN / PIXEL_STD
    return km, tm, lambda x: x * scale + offset


def _inputs(kind: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Keras input, PyTorch input, labels) for ``n`` Fashion-MNIST images."""
    images, labels = fashion_mnist(n)
    if kind == "mlp":
        x = images.reshape(n, 784).astype(np.float32) / np.float32(255)
        return x, x, labels
    raw = images.astype(np.float32)
    return raw[..., None], raw[:, None], labels


def _fit(kind: str, n: int) -> Callable:
    def build(em: Any, th: Any) -> Sides:
        keras = _require(("Dense", "Flatten", "Rescaling", "Conv2D", "MaxPooling2D")
                         if kind == "cnn" else ("Dense",))
        x_keras, x_torch, labels = _inputs(kind, n)
        km, tm, prepare = {"mlp": _mlp, "cnn": _cnn}[kind](keras, th)
        km.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

        def keras_epoch() -> float:
            history = km.fit(x_keras, labels, batch_size=BATCH_SIZE, epochs=1, verbose=0,
                             shuffle=False)
            return float(history.history["loss"][-1])

        opt = th.optim.Adam(tm.parameters(), lr=1e-3, eps=KERAS_ADAM_EPSILON)
        tx, ty = th.from_numpy(x_torch), th.from_numpy(labels)
        cross_entropy = th.nn.functional.cross_entropy

        def torch_epoch() -> float:
            total = 0.0      # Keras averages the loss over samples, not batches
            for i in range(0, n, BATCH_SIZE):
                xb, yb = tx[i:i + BATCH_SIZE], ty[i:i + BATCH_SIZE]
                opt.zero_grad()
                loss = cross_entropy(tm(prepare(xb)), yb)
                loss.backward()
                opt.step()
                total += loss.item() * len(yb)
            return total / n
        return Sides(keras_epoch, torch_epoch)
    return build


def keras_workloads(n: int = N_SAMPLES) -> list[Workload]:
    """The ``keras`` group for ``n`` samples per epoch (the tests use a small ``n``)."""
    fit = (f"epoch of fit(batch_size={BATCH_SIZE}) on {n} Fashion-MNIST images vs a "
           "PyTorch loop, Adam")
    return [
        Workload("keras_fit_mlp", "keras", f"MLP 784-128-64-10: {fit}", _fit("mlp", n)),
        Workload("keras_fit_cnn", "keras",
                 f"quickstart CNN (NHWC; PyTorch NCHW): {fit}",
                 _fit("cnn", n)),
    ]


KERAS: list[Workload] = keras_workloads()
