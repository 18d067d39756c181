"""The benchmarked workloads: each builds the same computation with Ember and with PyTorch.

Every step function is written once against a module ``m`` (``ember`` or ``torch``), the
way the conformance tests do, so both sides run the same expression. When Ember lacks a
function a workload prefers (``F.cross_entropy``, ``F.linear``, ``relu``...), the workload
composes it from primitives on *both* sides and records the choice in ``Sides.variant``;
when there is no composition (``conv2d``) it raises :class:`Unavailable`.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from benchmarks.data_loading import DATA
from benchmarks.harness import Sides, Unavailable, Workload
from benchmarks.keras_fit import KERAS
from benchmarks.training import TRAINING

__all__ = ["WORKLOADS", "select"]

TARGET_TINY_AUTOGRAD = 1.0
TARGET_MLP = 0.8
TARGET_CONV = 1.5


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _t(m: Any, a: np.ndarray, grad: bool = False) -> Any:
    t = m.from_numpy(a.copy())
    return t.requires_grad_() if grad else t


def _uniform(rng: np.random.Generator, shape: tuple, fan_in: int) -> np.ndarray:
    bound = 1.0 / np.sqrt(fan_in)          # PyTorch's default Linear/Conv init range
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def _clear(params: list) -> None:
    for p in params:
        p.grad = None


# -- implementation choices, decided by what Ember has, applied to both sides ------------

def _relu_choice(em: Any, method: bool) -> str:
    if method:
        return "Tensor.relu" if hasattr(em.Tensor, "relu") else "where(x > 0, x, 0)"
    if hasattr(em.nn.functional, "relu"):
        return "F.relu"
    return "ember.relu" if hasattr(em, "relu") else "where(x > 0, x, 0)"


def _relu(m: Any, how: str) -> Callable:
    return {"F.relu": lambda x: m.nn.functional.relu(x),
            "ember.relu": lambda x: m.relu(x),
            "Tensor.relu": lambda x: x.relu(),
            "where(x > 0, x, 0)": lambda x: m.where(x > 0, x, 0.0)}[how]


def _linear_choice(em: Any) -> str:
    return "F.linear" if hasattr(em.nn.functional, "linear") else "x @ w.T + b"


def _linear(m: Any, how: str) -> Callable:
    if how == "F.linear":
        return m.nn.functional.linear
    return lambda x, w, b: x @ w.T + b


def _loss_choice(em: Any) -> str:
    if hasattr(em.nn.functional, "cross_entropy"):
        return "F.cross_entropy"
    shift = "amax" if hasattr(em.Tensor, "amax") else "numpy max"
    return f"manual log-softmax (exp/sum/log, {shift} shift), one-hot NLL"


def _loss(m: Any, how: str, labels: np.ndarray, classes: int) -> Callable:
    if how == "F.cross_entropy":
        y = _t(m, labels)
        return lambda logits: m.nn.functional.cross_entropy(logits, y)
    onehot = _t(m, np.eye(classes, dtype=np.float32)[labels])
    n = len(labels)
    if "amax" in how:
        def shift(z: Any) -> Any:
            return z.detach().amax(1, keepdim=True)
    else:
        def shift(z: Any) -> Any:
            return m.from_numpy(z.detach().numpy().max(1, keepdims=True))

    def loss(logits: Any) -> Any:     # the shift is a constant: log-softmax ignores it
        z = logits - shift(logits)
        logp = z - z.exp().sum(1, keepdim=True).log()
        return -(logp * onehot).sum() / n
    return loss


# -- per-op overhead ------------------------------------------------------------------

def _per_op(expr: Callable[[Any, Any, Any], Any], shape: tuple, needs: str = "") -> Callable:
    def build(em: Any, th: Any) -> Sides:
        if needs and not hasattr(em, needs):
            raise Unavailable(f"ember.{needs} is not available yet")
        rng = _rng()
        a, b = (rng.standard_normal(shape, dtype=np.float32) for _ in range(2))

        def make(m: Any) -> Callable:
            x, y = _t(m, a), _t(m, b)
            return lambda: expr(m, x, y)
        return Sides(make(em), make(th))
    return build


# -- tiny autograd step ---------------------------------------------------------------

def _tiny_step(em: Any, th: Any) -> Sides:
    how = _relu_choice(em, method=True)
    rng = _rng()
    x, w, b = (rng.standard_normal(16, dtype=np.float32) for _ in range(3))

    def make(m: Any) -> Callable:
        relu = _relu(m, how)
        tx, tw, tb = _t(m, x), _t(m, w, True), _t(m, b, True)

        def step() -> None:
            _clear([tw, tb])
            relu(tx * tw + tb).sum().backward()
        return step
    return Sides(make(em), make(th), {"relu": how})


# -- MLP ------------------------------------------------------------------------------

_MLP_SIZES = (784, 128, 64, 10)


def _mlp(batch: int) -> Callable:
    def build(em: Any, th: Any) -> Sides:
        variant = {"linear": _linear_choice(em), "relu": _relu_choice(em, method=False),
                   "loss": _loss_choice(em)}
        rng = _rng()
        weights = [(_uniform(rng, (o, i), i), _uniform(rng, (o,), i))
                   for i, o in zip(_MLP_SIZES, _MLP_SIZES[1:])]
        x = rng.standard_normal((batch, _MLP_SIZES[0]), dtype=np.float32)
        labels = rng.integers(0, _MLP_SIZES[-1], batch)

        def make(m: Any) -> Callable:
            linear, relu = _linear(m, variant["linear"]), _relu(m, variant["relu"])
            loss = _loss(m, variant["loss"], labels, _MLP_SIZES[-1])
            params = [(_t(m, w, True), _t(m, b, True)) for w, b in weights]
            flat = [p for pair in params for p in pair]
            tx = _t(m, x)

            def step() -> None:
                _clear(flat)
                h = tx
                for i, (w, b) in enumerate(params):
                    h = linear(h, w, b)
                    if i < len(params) - 1:
                        h = relu(h)
                loss(h).backward()
            return step
        return Sides(make(em), make(th), variant)
    return build


# -- conv2d ---------------------------------------------------------------------------

def _conv(n: int, cin: int, cout: int, k: int, hw: int, stride: int = 1, padding: int = 0,
          bias: bool = True, input_grad: bool = True) -> Callable:
    def build(em: Any, th: Any) -> Sides:
        if not hasattr(em.nn.functional, "conv2d"):
            raise Unavailable("ember.nn.functional.conv2d is not available yet")
        rng = _rng()
        x = rng.standard_normal((n, cin, hw, hw), dtype=np.float32)
        w = _uniform(rng, (cout, cin, k, k), cin * k * k)
        b = _uniform(rng, (cout,), cin * k * k) if bias else None

        def make(m: Any) -> Callable:
            tx, tw = _t(m, x, input_grad), _t(m, w, True)
            tb = None if b is None else _t(m, b, True)
            params = [p for p in (tx, tw, tb) if p is not None and p.requires_grad]

            def step() -> None:
                _clear(params)
                m.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding) \
                    .sum().backward()
            return step
        return Sides(make(em), make(th))
    return build


WORKLOADS: list[Workload] = [
    Workload("add_16", "per-op", "a + b, float32[16], no grad",
             _per_op(lambda m, a, b: a + b, (16,))),
    Workload("relu_16", "per-op", "relu(a), float32[16], no grad",
             _per_op(lambda m, a, b: m.relu(a), (16,), needs="relu")),
    Workload("matmul_4x4", "per-op", "a @ b, float32[4,4], no grad",
             _per_op(lambda m, a, b: a @ b, (4, 4))),
    Workload("autograd_step_16", "autograd", "(x*w+b).relu().sum().backward(), 16 elements",
             _tiny_step, TARGET_TINY_AUTOGRAD),
    Workload("mlp_b64", "mlp", "MLP 784-128-64-10 fwd+bwd, batch 64", _mlp(64), TARGET_MLP),
    Workload("mlp_b512", "mlp", "MLP 784-128-64-10 fwd+bwd, batch 512", _mlp(512),
             TARGET_MLP),
    Workload("conv_lenet1", "conv2d", "LeNet conv1: N=64, 1->6 5x5 on 28x28 (no input grad)",
             _conv(64, 1, 6, 5, 28, input_grad=False), TARGET_CONV),
    Workload("conv_lenet2", "conv2d", "LeNet conv2: N=64, 6->16 5x5 on 12x12",
             _conv(64, 6, 16, 5, 12), TARGET_CONV),
    Workload("conv_resnet_64", "conv2d", "ResNet-18: N=32, 64->64 3x3 pad 1 on 32x32",
             _conv(32, 64, 64, 3, 32, padding=1, bias=False), TARGET_CONV),
    Workload("conv_resnet_128", "conv2d", "ResNet-18: N=32, 128->128 3x3 pad 1 on 16x16",
             _conv(32, 128, 128, 3, 16, padding=1, bias=False), TARGET_CONV),
    Workload("conv_resnet_256", "conv2d", "ResNet-18: N=32, 256->256 3x3 pad 1 on 8x8",
             _conv(32, 256, 256, 3, 8, padding=1, bias=False), TARGET_CONV),
    Workload("conv_resnet_down", "conv2d",
             "ResNet-18: N=32, 64->128 3x3 stride 2 pad 1 on 32x32",
             _conv(32, 64, 128, 3, 32, stride=2, padding=1, bias=False), TARGET_CONV),
    *TRAINING,
    *DATA,
    *KERAS,
]


def select(names: list[str] | None) -> list[Workload]:
    """Workloads whose name or group is in ``names`` (all when ``names`` is empty)."""
    if not names:
        return list(WORKLOADS)
    chosen = [w for w in WORKLOADS if w.name in names or w.group in names]
    unknown = set(names) - {w.name for w in chosen} - {w.group for w in chosen}
    if unknown:
        known = ", ".join(sorted({w.name for w in WORKLOADS} | {w.group for w in WORKLOADS}))
        raise SystemExit(f"unknown workload(s) {sorted(unknown)}; choose from: {known}")
    return chosen
