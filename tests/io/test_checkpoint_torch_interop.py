"""State dicts move between PyTorch and Ember through safetensors files, both ways."""
import numpy as np
import pytest
import safetensors.torch
import torch

import ember
from ember.io import load, load_file, save, save_file

LAYERS = {  # name -> (make(nn), input shape)
    "Linear": (lambda nn: nn.Linear(5, 3), (2, 5)),
    "Conv2d": (lambda nn: nn.Conv2d(2, 4, 3, padding=1), (2, 2, 4, 4)),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(4), (2, 4, 4, 4)),
}


def _torch_np(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().numpy() if t.dtype == torch.bfloat16 else t.detach().numpy()


def _trained_torch(make):
    torch.manual_seed(0)
    mod = make(torch.nn)
    if isinstance(mod, torch.nn.BatchNorm2d):     # move the running stats off their init
        mod(torch.randn(3, 4, 5, 5))
    return mod


@pytest.mark.parametrize("layer", LAYERS)
def test_torch_state_dict_loads_into_ember(tmp_path, layer):
    make, shape = LAYERS[layer]
    tmod = _trained_torch(make)
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(tmod.state_dict(), path)
    sd = load(path)
    assert list(sd) == list(safetensors.torch.load_file(path))     # file order
    assert sorted(sd) == sorted(tmod.state_dict())
    for name, t in tmod.state_dict().items():
        assert str(sd[name].dtype) == str(t.dtype).replace("torch", "ember")
        assert np.array_equal(sd[name].numpy(), t.numpy())
    emod = make(ember.nn)
    emod.load_state_dict(sd)
    x = np.random.default_rng(0).standard_normal(shape)
    tmod.eval(), emod.eval()
    np.testing.assert_allclose(emod(ember.tensor(x, dtype=ember.float32)).detach().numpy(),
                               tmod(torch.tensor(x, dtype=torch.float32)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", LAYERS)
def test_ember_state_dict_loads_into_torch(tmp_path, layer):
    make, _ = LAYERS[layer]
    ember.manual_seed(0)
    emod = make(ember.nn)
    path = tmp_path / "ember.safetensors"
    save(emod.state_dict(), path)
    tmod = make(torch.nn)
    tmod.load_state_dict(safetensors.torch.load_file(path))
    for name, t in emod.state_dict().items():
        assert np.array_equal(tmod.state_dict()[name].numpy(), t.numpy())


def test_ember_flat_dict_reads_in_torch_with_every_dtype(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    sd = {"bf16": ember.tensor(a, dtype=ember.bfloat16), "f16": ember.tensor(a).half(),
          "f32.T": ember.tensor(a, dtype=ember.float32).T, "f64": ember.tensor(a),
          "i64": ember.tensor(rng.integers(-9, 9, (2, 2))),
          "i8": ember.tensor([-1, 2], dtype=ember.int8),
          "u8": ember.tensor([255, 0], dtype=ember.uint8), "b": ember.tensor([True, False]),
          "scalar": ember.tensor(2.5), "empty": ember.zeros(0, 3, dtype=ember.int32)}
    path = tmp_path / "flat.safetensors"
    save(sd, path)
    got = safetensors.torch.load_file(path)
    assert sorted(got) == sorted(sd)
    assert got["bf16"].dtype == torch.bfloat16
    for name, t in sd.items():
        assert str(got[name].dtype).replace("torch", "ember") == str(t.dtype), name
        assert got[name].shape == tuple(t.shape), name
        expected = t.float().numpy() if t.dtype == ember.bfloat16 else t.numpy()
        assert np.array_equal(_torch_np(got[name]), expected), name


def test_torch_bfloat16_reads_in_ember(tmp_path):
    t = torch.randn(4, 3).to(torch.bfloat16)
    safetensors.torch.save_file({"w": t}, tmp_path / "bf.safetensors")
    got = load(tmp_path / "bf.safetensors")["w"]
    assert got.dtype == ember.bfloat16
    assert np.array_equal(got.float().numpy(), t.float().numpy())


def test_save_file_and_load_file_are_plain_safetensors(tmp_path):
    sd = {"w": ember.randn(2, 3), "n": ember.tensor(7)}
    save_file(sd, tmp_path / "p.safetensors", metadata={"source": "test"})
    with safetensors.safe_open(tmp_path / "p.safetensors", "pt") as f:
        assert f.metadata() == {"source": "test"}
    got = load_file(tmp_path / "p.safetensors")
    assert sorted(got) == ["n", "w"] and np.array_equal(got["w"].numpy(), sd["w"].numpy())
    torch_sd = {"x": torch.arange(3)}
    safetensors.torch.save_file(torch_sd, tmp_path / "t.safetensors")
    assert load_file(tmp_path / "t.safetensors")["x"].tolist() == [0, 1, 2]
    with pytest.raises(TypeError, match="dict of str -> Tensor"):
        save_file({"w": np.zeros(2)}, tmp_path / "bad.safetensors")
    with pytest.raises(TypeError, match="metadata"):
        save_file(sd, tmp_path / "bad.safetensors", metadata={"a": 1})
