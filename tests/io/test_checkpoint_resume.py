"""A complete checkpoint (model, optimizer, scheduler, epoch, RNG state) resumes training
bit for bit; real PyTorch optimizer and scheduler state dicts keep their exact shape."""
import numpy as np
import torch

import ember
from ember import nn, optim
from ember.io import load, save
from checkpoint_helpers import assert_same


def _setup():
    model = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.3), nn.BatchNorm1d(8), nn.Linear(8, 1))
    opt = optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99))
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


def _train(model, opt, sched, steps):
    """Steps that draw from the RNG (data and dropout) and update every kind of state."""
    for _ in range(steps):
        loss = model(ember.randn(4, 3)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()


def test_resumed_training_matches_uninterrupted_training(tmp_path):
    ember.manual_seed(0)
    model, opt, sched = _setup()
    _train(model, opt, sched, 3)
    save({"model": model.state_dict(), "optimizer": opt.state_dict(),
          "scheduler": sched.state_dict(), "epoch": 3, "rng": ember.get_rng_state()},
         tmp_path / "ckpt.safetensors")
    _train(model, opt, sched, 3)

    ember.manual_seed(1)                      # a different start, then the checkpoint
    model2, opt2, sched2 = _setup()
    ckpt = load(tmp_path / "ckpt.safetensors")
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    ember.set_rng_state(ckpt["rng"])
    assert ckpt["epoch"] == 3
    _train(model2, opt2, sched2, 3)

    assert_same(model2.state_dict(), model.state_dict())
    assert_same(opt2.state_dict(), opt.state_dict())
    assert sched2.state_dict() == sched.state_dict()


def _to_ember(obj):
    """A torch state dict with its tensors replaced by equal ember tensors."""
    if isinstance(obj, torch.Tensor):
        return ember.tensor(obj.numpy())
    if isinstance(obj, dict):
        return type(obj)((k, _to_ember(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_ember(v) for v in obj)
    return obj


def test_torch_optimizer_and_scheduler_state_dicts_round_trip(tmp_path):
    w = torch.nn.Parameter(torch.randn(3, 2))
    opt = torch.optim.AdamW([w], lr=0.1, amsgrad=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=10)
    for _ in range(2):
        w.sum().backward()
        opt.step()
        sched.step()
    obj = _to_ember({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()})
    save(obj, tmp_path / "torch_opt.safetensors")
    got = load(tmp_path / "torch_opt.safetensors")
    assert_same(got, obj)
    assert np.array_equal(got["optimizer"]["state"][0]["max_exp_avg_sq"].numpy(),
                          opt.state_dict()["state"][0]["max_exp_avg_sq"].numpy())
