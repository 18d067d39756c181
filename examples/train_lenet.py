"""Train LeNet-5 the PyTorch way with Ember, checkpoint it, and resume from the file.

The data is synthetic (no downloads): 28x28 images whose class is the quadrant holding a
bright square, which LeNet learns in a few dozen steps.

    python examples/train_lenet.py
"""
import os
import tempfile

import ember
import ember.nn.functional as F
from ember import nn
from ember.models import LeNet5


def make_batch(n: int, generator: ember.Generator) -> tuple[ember.Tensor, ember.Tensor]:
    """Noise images with a bright 8x8 square in one of four quadrants; label = quadrant."""
    labels = ember.randint(0, 4, (n,), generator=generator)
    images = ember.randn(n, 1, 28, 28, generator=generator)
    for i, label in enumerate(labels.tolist()):
        top, left = 3 + 14 * (label // 2), 3 + 14 * (label % 2)
        images[i, 0, top:top + 8, left:left + 8] += 0.5
    return images, labels


def train(model: nn.Module, opt: ember.optim.Optimizer, sched: object, steps: range,
          gen: ember.Generator) -> None:
    model.train()
    for step in steps:
        x, y = make_batch(64, gen)
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        if step % 10 == 0:
            print(f"step {step:3d}  loss {loss.item():.4f}  lr {sched.get_last_lr()[0]:.4f}")


def main() -> None:
    ember.manual_seed(0)
    gen = ember.Generator().manual_seed(1)
    model = LeNet5(num_classes=4)
    opt = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = ember.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=60)
    train(model, opt, sched, range(0, 30), gen)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lenet.ckpt")
        ember.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "step": 30,
                    "data_rng": gen.get_state()}, path)
        print(f"checkpoint: {os.path.getsize(path)} bytes of safetensors; resuming from it")
        ckpt = ember.load(path)
    model = LeNet5(num_classes=4)
    model.load_state_dict(ckpt["model"])
    opt = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    opt.load_state_dict(ckpt["optimizer"])
    sched = ember.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=60)
    sched.load_state_dict(ckpt["scheduler"])
    gen.set_state(ckpt["data_rng"])
    train(model, opt, sched, range(ckpt["step"], 60), gen)

    model.eval()
    with ember.no_grad():
        x, y = make_batch(512, gen)
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"held-out accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
