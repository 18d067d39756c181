"""ember.models ResNet against the torchvision-architecture twin in benchmarks.reference_models:
state_dict keys and shapes, repr, logits and gradients with copied weights (train and eval),
initialization, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
import ember.io
import ember.models as em
import benchmarks.reference_models as tm
from tests.conformance import assert_close
from tests.models._twins import twins
from tests.nn.module_conformance import check_module, copy_weights

TOL = dict(rtol=1e-4, atol=1e-4)
BUILDS = [("resnet18", {}), ("resnet34", {}), ("resnet50", {}),
          ("resnet18", {"cifar": True, "num_classes": 10}),
          ("resnet50", {"cifar": True, "num_classes": 10})]


def _x(*shape: int) -> np.ndarray:
    return np.random.default_rng(1).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("name,kw", BUILDS)
def test_state_dict_keys_and_shapes_match_torchvision_layout(name, kw):
    e = getattr(em, name)(**kw).state_dict()
    t = getattr(tm, name)(**kw).state_dict()
    assert list(e) == list(t)
    assert [tuple(v.shape) for v in e.values()] == [tuple(v.shape) for v in t.values()]


def test_repr_equals_torch():
    assert repr(em.resnet18()) == repr(tm.resnet18())
    assert repr(em.resnet50(cifar=True)) == repr(tm.resnet50(cifar=True))


def test_resnet18_float64_matches_torch_everywhere():
    """Every output, parameter and input gradient and running statistic, train and eval."""
    check_module(twins("resnet18"), _x(1, 3, 64, 64).astype(np.float64), check_repr=False,
                 rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("kw,shape", [({}, (1, 3, 64, 64)),
                                      ({"cifar": True, "num_classes": 10}, (2, 3, 32, 32))])
def test_resnet18_float32_logits_and_grads_match_torch(kw, shape):
    torch.manual_seed(0)
    t, e = tm.resnet18(**kw), em.resnet18(**kw)
    copy_weights(t, e)
    x = _x(*shape)
    out_e, out_t = e(ember.from_numpy(x)), t(torch.from_numpy(x))
    assert_close(out_e, out_t, **TOL, what="train logits")
    up = _x(*out_t.shape)
    out_e.backward(ember.from_numpy(up))
    out_t.backward(torch.from_numpy(up))
    assert_close(e.fc.weight.grad, t.fc.weight.grad, **TOL, what="fc grad")
    # Batch norm over the 4 values of layer4 at batch 1 amplifies float32 rounding in the
    # stem's gradient (torch's own float32 result is as far from float64), so its absolute
    # tolerance scales with the gradient; the float64 test above checks it tightly.
    g = t.conv1.weight.grad
    assert_close(e.conv1.weight.grad, g, rtol=1e-4, atol=1e-4 * float(g.abs().max()),
                 what="conv1 grad")
    assert_close(e.state_dict()["layer4.1.bn2.running_var"],
                 t.state_dict()["layer4.1.bn2.running_var"], **TOL, what="running_var")
    e.eval()
    t.eval()
    with torch.no_grad(), ember.no_grad():
        assert_close(e(ember.from_numpy(x)), t(torch.from_numpy(x)), **TOL, what="eval logits")


def test_resnet50_forward_matches_torch_in_eval():
    torch.manual_seed(0)
    t = tm.resnet50(num_classes=7).eval()
    # nontrivial running statistics, so eval mode really uses them
    with torch.no_grad():
        for m in t.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    e = em.resnet50(num_classes=7).eval()
    copy_weights(t, e)
    x = _x(1, 3, 32, 32)
    with torch.no_grad(), ember.no_grad():
        assert_close(e(ember.from_numpy(x)), t(torch.from_numpy(x)), **TOL)


def test_zero_init_residual_zeroes_last_norm_of_each_block_only():
    for build, last in ((em.resnet18, "bn2"), (em.resnet50, "bn3")):
        sd = build(zero_init_residual=True).state_dict()
        zeroed = {k for k, v in sd.items() if k.endswith(".weight") and "bn" in k
                  and not v.numpy().any()}
        assert zeroed == {k for k in sd if k.endswith(f"{last}.weight")}


def test_initialization_follows_torchvision():
    sd = {k: v.numpy() for k, v in em.resnet18().state_dict().items()}
    w = sd["layer3.0.conv2.weight"]                  # 256 x 256 x 3 x 3: fan_out 2304
    std = np.sqrt(2.0 / (256 * 9))                   # Kaiming normal, ReLU gain
    assert abs(w.std() - std) < 0.03 * std and abs(w.mean()) < 0.03 * std
    assert (sd["bn1.weight"] == 1).all() and (sd["bn1.bias"] == 0).all()
    assert np.abs(sd["fc.weight"]).max() <= 1 / np.sqrt(512)  # nn.Linear's init
    assert isinstance(em.resnet18(cifar=True).maxpool, ember.nn.Identity)


def test_wrong_channel_count_names_conv_and_shapes():
    with pytest.raises(RuntimeError, match=r"conv2d.*\[64, 3, 3, 3\].*input\[1, 1, 32, 32\] "
                                           r"to have 3 channels, but got 1"):
        em.resnet18(cifar=True)(ember.randn(1, 1, 32, 32))


def test_torch_state_dict_file_loads_into_ember(tmp_path):
    """The documented way to use pretrained weights: a safetensors file of a torchvision
    state_dict, read with ember.io.load."""
    from safetensors.torch import save_file
    torch.manual_seed(0)
    t = tm.resnet18(num_classes=5).eval()
    save_file(t.state_dict(), tmp_path / "resnet18.safetensors")
    e = em.resnet18(num_classes=5).eval()
    e.load_state_dict(ember.io.load(tmp_path / "resnet18.safetensors"))
    x = _x(1, 3, 64, 64)
    with torch.no_grad(), ember.no_grad():
        assert_close(e(ember.from_numpy(x)), t(torch.from_numpy(x)), **TOL)


@pytest.mark.parametrize("build", [em.resnet18, em.resnet34, em.resnet50])
def test_pretrained_weights_are_refused_with_a_pointer_to_ember_load(build):
    with pytest.raises(ValueError, match="IMAGENET1K_V1.*ember.load"):
        build(weights="IMAGENET1K_V1")


def test_bad_stage_count_and_grouped_basic_block_are_refused():
    with pytest.raises(ValueError, match="ResNet.*4 stages"):
        em.ResNet(em.BasicBlock, [2, 2, 2])
    with pytest.raises(ValueError, match="BasicBlock.*groups=1"):
        em.ResNet(em.BasicBlock, [1, 1, 1, 1], groups=2)


@pytest.mark.parametrize("build, params, entries, keys", [
    ("resnet18", 11_689_512, 122, ["layer2.0.downsample.1.running_mean", "layer4.1.bn2.bias"]),
    ("resnet34", 21_797_672, 218, ["layer3.5.conv2.weight", "layer4.0.downsample.0.weight"]),
    ("resnet50", 25_557_032, 320, ["layer1.0.downsample.0.weight", "layer4.2.conv3.weight"]),
])
def test_sizes_and_names_equal_torchvision_published_figures(build, params, entries, keys):
    """Independent of the torch twin: torchvision's documented parameter counts, its
    state_dict lengths, and some of its key names."""
    model = getattr(ember.models, build)()
    assert sum(p.numel() for p in model.parameters()) == params
    state = model.state_dict()
    assert len(state) == entries
    for key in keys + ["conv1.weight", "bn1.num_batches_tracked", "fc.weight", "fc.bias"]:
        assert key in state
