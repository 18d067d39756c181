"""Learning-rate schedulers with PyTorch's names, arguments and step semantics.

Every scheduler reads and writes ``optimizer.param_groups[i]["lr"]`` (and, for the cyclic
ones, ``"momentum"`` or ``"betas"``) exactly as ``torch.optim.lr_scheduler`` does, including
its recursive ("chainable") update rules, so a schedule gives the same learning rates as
PyTorch's to rounding. ``state_dict()`` holds plain Python values (numbers, strings,
lists, dicts, None; ReduceLROnPlateau's ``best`` starts at +-inf, which Python's ``json``
writes as ``Infinity``), so it can be written as JSON by ``ember.save``, unless the
learning rates themselves are tensors.

The schedulers live in files by kind: ``base`` (LRScheduler), ``simple`` (factor
schedules), ``cosine``, ``cyclic`` (per-batch cycles with momentum), ``composite``
(schedulers of schedulers) and ``plateau`` (metric-driven).

Example::

    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    sched = StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(100):
        train(...)          # calls opt.step()
        sched.step()
"""

from .base import LRScheduler
from .composite import ChainedScheduler, SequentialLR
from .cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from .cyclic import CyclicLR, OneCycleLR
from .plateau import ReduceLROnPlateau
from .simple import (ConstantLR, ExponentialLR, LambdaLR, LinearLR, MultiplicativeLR,
                     MultiStepLR, PolynomialLR, StepLR)

__all__ = [
    "LRScheduler",
    "LambdaLR",
    "MultiplicativeLR",
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "PolynomialLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "OneCycleLR",
    "SequentialLR",
    "ChainedScheduler",
    "ReduceLROnPlateau",
]
