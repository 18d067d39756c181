"""Ember and PyTorch train the same CNN with the same recipe on Fashion-MNIST.

Both frameworks start from the same weights (PyTorch's initial state_dict copied into
Ember), see the same batches in the same order, use Adam with the same cosine learning-rate
schedule, and report test accuracy after every epoch. The run writes
``benchmarks/results/fashion_mnist_parity.json`` and a plot of both curves,
``docs/images/fashion_mnist_parity.png``, used by ``docs/fashion_mnist_parity.md``.

    python -m benchmarks.fashion_mnist_parity --epochs 5
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from typing import Any

import numpy as np

from benchmarks.training import copy_state
from ember.cli import PIXEL_MEAN, PIXEL_STD

RESULTS = os.path.join(os.path.dirname(__file__), "results", "fashion_mnist_parity.json")
PLOT = os.path.join(os.path.dirname(__file__), "..", "docs", "images",
                    "fashion_mnist_parity.png")


def make_cnn(m: Any) -> Any:
    """The quickstart CNN in PyTorch's layout, for module ``m`` (``ember`` or ``torch``)."""
    nn = m.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from ember.data.datasets import FashionMNIST
    train, test = FashionMNIST(train=True), FashionMNIST(train=False)

    def images(ds: Any) -> np.ndarray:
        return ((np.asarray(ds.data, np.float32) / 255.0 - PIXEL_MEAN) / PIXEL_STD)[:, None]

    return (images(train), np.asarray(train.targets, np.int64),
            images(test), np.asarray(test.targets, np.int64))


def cosine_lr(base: float, step: int, total: int) -> float:
    return base * 0.5 * (1.0 + math.cos(math.pi * step / total))


def train(m: Any, model: Any, data: tuple, epochs: int, batch_size: int, lr: float,
          seed: int) -> list[float]:
    """Train ``model`` with framework ``m``; return test accuracy after each epoch."""
    x_train, y_train, x_test, y_test = data
    opt = m.optim.Adam(model.parameters(), lr=lr)
    order = np.random.default_rng(seed)
    steps_per_epoch = math.ceil(len(x_train) / batch_size)
    total, step, accuracies = epochs * steps_per_epoch, 0, []
    for _ in range(epochs):
        model.train()
        perm = order.permutation(len(x_train))
        for start in range(0, len(x_train), batch_size):
            idx = perm[start:start + batch_size]
            for group in opt.param_groups:
                group["lr"] = cosine_lr(lr, step, total)
            step += 1
            x, y = m.from_numpy(x_train[idx]), m.from_numpy(y_train[idx])
            loss = m.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        correct = 0
        with m.no_grad():
            for start in range(0, len(x_test), 1000):
                logits = model(m.from_numpy(x_test[start:start + 1000]))
                correct += int((logits.argmax(1).numpy() == y_test[start:start + 1000]).sum())
        accuracies.append(100.0 * correct / len(x_test))
        print(f"  {m.__name__} epoch {len(accuracies)}: {accuracies[-1]:.2f}%", flush=True)
    return accuracies


def plot(result: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    epochs = range(1, len(result["ember"]) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, result["ember"], "o-", label="Ember (PyTorch-style API)")
    ax.plot(epochs, result["torch"], "s--", label=f"PyTorch {result['torch_version']}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Same CNN, weights, batches and recipe on Fashion-MNIST")
    ax.set_xticks(list(epochs))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    import ember
    torch.manual_seed(args.seed)
    data = load()
    reference = make_cnn(torch)
    mine = make_cnn(ember)
    copy_state(reference, mine, ember)
    result: dict[str, Any] = {"epochs": args.epochs, "batch_size": args.batch_size,
                              "lr": args.lr, "seed": args.seed,
                              "torch_version": torch.__version__,
                              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    for name, m, model in (("ember", ember, mine), ("torch", torch, reference)):
        started = time.perf_counter()
        result[name] = train(m, model, data, args.epochs, args.batch_size, args.lr, args.seed)
        result[f"{name}_seconds"] = round(time.perf_counter() - started, 1)
    result["final_gap_points"] = round(result["ember"][-1] - result["torch"][-1], 2)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(result, f, indent=2)
    plot(result, PLOT)
    print("| epoch | Ember | PyTorch |\n|---|---|---|")
    for i, (a, b) in enumerate(zip(result["ember"], result["torch"]), 1):
        print(f"| {i} | {a:.2f} | {b:.2f} |")
    print(f"final gap {result['final_gap_points']:+.2f} points; wrote {RESULTS} and {PLOT}")


if __name__ == "__main__":
    main()
