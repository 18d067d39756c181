"""Training workloads: whole train steps of real models, Ember next to PyTorch.

Each model is built once per framework (``ember.models`` / ``nn.Sequential`` against
their PyTorch twins in :mod:`benchmarks.reference_models`), PyTorch's initial state_dict is
copied into the Ember model through NumPy, and one step is written once against ``m``
(``ember`` or ``torch``): ``zero_grad``, forward, ``cross_entropy``, ``backward``,
``step``. Both sides repeat the step on the same fixed batch, so they do the same work
(weights and batch-norm statistics evolve alike) on every call; a step returns its loss
(or, for inference, the logits) so tests can check that the two sides agree.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from benchmarks.harness import Sides, Workload

__all__ = ["TRAINING"]

TARGET_MLP = 0.8
TARGET_LENET = 1.0
TARGET_RESNET = 1.3

ModelPair = Callable[[Any, Any], tuple[Any, Any]]   # (ember, torch) -> (ember model, torch model)


def copy_state(src: Any, dst: Any, em: Any) -> None:
    """Load PyTorch module ``src``'s parameters and buffers into Ember module ``dst``."""
    state = {k: em.from_numpy(v.detach().numpy().copy()) for k, v in src.state_dict().items()}
    dst.load_state_dict(state)


def _mlp(em: Any, th: Any) -> tuple[Any, Any]:
    def make(m: Any) -> Any:
        nn = m.nn
        return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                             nn.Linear(64, 10))
    return make(em), make(th)


def _lenet(em: Any, th: Any) -> tuple[Any, Any]:
    from benchmarks import reference_models
    return em.models.LeNet5(), reference_models.LeNet5()


def _resnet18_cifar(em: Any, th: Any) -> tuple[Any, Any]:
    from benchmarks import reference_models
    return (em.models.resnet18(num_classes=10, cifar=True),
            reference_models.resnet18(num_classes=10, cifar=True))


def _adam(m: Any, params: Any) -> Any:
    return m.optim.Adam(params, lr=1e-3)


def _sgd_momentum(m: Any, params: Any) -> Any:
    return m.optim.SGD(params, lr=0.01, momentum=0.9)


def _inputs(batch: int, shape: tuple, classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *shape), dtype=np.float32)
    return x, rng.integers(0, classes, batch)


def _train(models: ModelPair, optimizer: Callable, batch: int, shape: tuple) -> Callable:
    """A builder timing ``zero_grad, forward, cross_entropy, backward, step``."""
    def build(em: Any, th: Any) -> Sides:
        x, labels = _inputs(batch, shape)
        em_model, th_model = models(em, th)
        copy_state(th_model, em_model, em)

        def make(m: Any, model: Any) -> Callable:
            model.train()
            opt = optimizer(m, model.parameters())
            tx, ty = m.from_numpy(x.copy()), m.from_numpy(labels.copy())
            cross_entropy = m.nn.functional.cross_entropy

            def step() -> Any:
                opt.zero_grad()
                loss = cross_entropy(model(tx), ty)
                loss.backward()
                opt.step()
                return loss.detach()
            return step
        return Sides(make(em, em_model), make(th, th_model))
    return build


def _infer(models: ModelPair, batch: int, shape: tuple) -> Callable:
    """A builder timing an eval-mode forward under ``no_grad``."""
    def build(em: Any, th: Any) -> Sides:
        x, _ = _inputs(batch, shape)
        em_model, th_model = models(em, th)
        copy_state(th_model, em_model, em)

        def make(m: Any, model: Any) -> Callable:
            model.eval()
            tx = m.from_numpy(x.copy())

            def step() -> Any:
                with m.no_grad():
                    return model(tx)
            return step
        return Sides(make(em, em_model), make(th, th_model))
    return build


_MNIST, _CIFAR = (784,), (3, 32, 32)

TRAINING: list[Workload] = [
    Workload("mlp_adam_b64", "training",
             "MLP 784-128-64-10 (nn.Sequential) train step, Adam, batch 64",
             _train(_mlp, _adam, 64, _MNIST), TARGET_MLP),
    Workload("mlp_adam_b512", "training",
             "MLP 784-128-64-10 (nn.Sequential) train step, Adam, batch 512",
             _train(_mlp, _adam, 512, _MNIST), TARGET_MLP),
    Workload("lenet_b64", "training",
             "LeNet-5 train step, SGD momentum 0.9, batch 64, 1x28x28",
             _train(_lenet, _sgd_momentum, 64, (1, 28, 28)), TARGET_LENET),
    Workload("resnet18_cifar_train_b32", "training",
             "ResNet-18 (CIFAR stem) train step, SGD momentum 0.9, batch 32, 3x32x32",
             _train(_resnet18_cifar, _sgd_momentum, 32, _CIFAR), TARGET_RESNET),
    Workload("resnet18_cifar_infer_b32", "training",
             "ResNet-18 (CIFAR stem) eval forward under no_grad, batch 32, 3x32x32",
             _infer(_resnet18_cifar, 32, _CIFAR), TARGET_RESNET),
]
