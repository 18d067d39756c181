"""A short training run of ember.models.LeNet5 with ember.optim.SGD (momentum) follows the
torch twin trained with torch.optim.SGD from the same weights on the same batches."""
from __future__ import annotations

import numpy as np
import torch

import ember
import ember.optim
import ember.models as em
import benchmarks.reference_models as tm
from tests.nn.module_conformance import copy_weights


def _train(model, lib, opt, batches) -> list:
    loss_fn = lib.nn.CrossEntropyLoss()
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = loss_fn(model(lib.from_numpy(x)), lib.from_numpy(y))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_lenet5_sgd_momentum_loss_curve_matches_torch():
    torch.manual_seed(0)
    t, e = tm.LeNet5(), em.LeNet5()
    copy_weights(t, e)
    rng = np.random.default_rng(0)
    pair = [(rng.standard_normal((16, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 16))
            for _ in range(2)]
    batches = pair * 5                               # two batches in turn: the loss can fall
    hyper = dict(lr=0.05, momentum=0.9, weight_decay=1e-4, nesterov=True)
    t_losses = _train(t, torch, torch.optim.SGD(t.parameters(), **hyper), batches)
    e_losses = _train(e, ember, ember.optim.SGD(e.parameters(), **hyper), batches)
    assert t_losses[-1] < t_losses[0] - 0.1             # the run really trains
    np.testing.assert_allclose(e_losses, t_losses, rtol=1e-4, atol=1e-5)
    t_state = t.state_dict()
    for name, value in e.state_dict().items():
        np.testing.assert_allclose(value.numpy(), t_state[name].numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)
