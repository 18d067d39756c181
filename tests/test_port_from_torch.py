"""A PyTorch training script runs on Ember by changing its imports: same loss curve, and
a checkpoint taken mid-run resumes exactly."""
import re

import numpy as np
import torch

import ember

SCRIPT = '''
import torch
from torch import nn
import torch.nn.functional as F


class Net(nn.Module):
    # no conv bias before batch norm: its true gradient is 0, and Adam would blow the
    # float rounding left in it up to full-size steps that differ between libraries
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 8, 3), nn.ReLU())
        self.head = nn.Linear(8 * 2 * 2, 3)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


def build(init):
    model = Net()
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in init.items()})
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8)
    return model, opt, sched


def train(model, opt, sched, steps, data):
    losses = []
    model.train()
    for x, y in data[:steps]:
        opt.zero_grad()
        loss = F.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


def run(init, data, path):
    model, opt, sched = build(init)
    full = train(model, opt, sched, len(data), data)
    with torch.no_grad():
        model.eval()
        evals = model(torch.from_numpy(data[0][0])).numpy()

    model, opt, sched = build(init)
    first = train(model, opt, sched, 3, data)
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "epoch": 3}, path)
    model, opt, sched = build(init)
    ckpt = torch.load(path)
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    sched.load_state_dict(ckpt["scheduler"])
    resumed = first + train(model, opt, sched, len(data) - ckpt["epoch"], data[3:])
    return full, resumed, evals
'''


def port(source: str) -> str:
    """What a user does: point the imports at ember."""
    source = re.sub(r"^import torch$", "import ember as torch", source, flags=re.M)
    return re.sub(r"^(from|import) torch\b", r"\1 ember", source, flags=re.M)


def _execute(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<training script>", "exec"), namespace)
    return namespace


def _inputs():
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((6, 1, 8, 8)).astype(np.float32),
             rng.integers(0, 3, 6)) for _ in range(6)]
    torch.manual_seed(0)
    reference = _execute(SCRIPT)["Net"]()
    init = {k: v.detach().numpy().copy() for k, v in reference.state_dict().items()}
    return init, data


def test_ported_script_matches_torch_and_resumes_exactly(tmp_path):
    init, data = _inputs()
    ported = port(SCRIPT)
    assert "import ember as torch" in ported and "import torch" not in ported
    t_full, t_resumed, t_eval = _execute(SCRIPT)["run"](init, data, tmp_path / "t.pt")
    e_full, e_resumed, e_eval = _execute(ported)["run"](init, data, tmp_path / "e.ckpt")
    np.testing.assert_allclose(e_full, t_full, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(e_eval, t_eval, rtol=1e-3, atol=1e-4)
    assert e_resumed == e_full                  # bitwise: the checkpoint loses nothing
    assert t_resumed == t_full
    assert t_full[-1] < t_full[0]               # the run trains at all


def test_ported_checkpoint_is_safetensors_not_pickle(tmp_path):
    init, data = _inputs()
    _execute(port(SCRIPT))["run"](init, data[:4], tmp_path / "e.ckpt")
    raw = (tmp_path / "e.ckpt").read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    assert raw[8:9] == b"{" and header_len < len(raw)      # a safetensors header
    loaded = ember.load(tmp_path / "e.ckpt")
    assert loaded["epoch"] == 3 and set(loaded) == {"model", "optimizer", "scheduler", "epoch"}
    assert isinstance(loaded["optimizer"]["state"][0]["exp_avg"], ember.Tensor)
