"""Conv1d/2d and ConvTranspose1d/2d against torch.nn: outputs, gradients, repr, state_dict
keys, initialization bounds and constructor errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from tests.conformance import arrays
from tests.nn.module_conformance import check_module

FAST = settings(max_examples=40, deadline=None)


def _geometry(data: st.DataObject, nd: int) -> dict:
    """Channels divisible by groups, kernel, stride and dilation, as ints or tuples."""
    groups = data.draw(st.sampled_from([1, 1, 2]))
    per_dim = lambda lo, hi: tuple(data.draw(st.integers(lo, hi)) for _ in range(nd))
    g = dict(groups=groups, cin=groups * data.draw(st.integers(1, 2)),
             cout=groups * data.draw(st.integers(1, 2)),
             kernel_size=per_dim(1, 3), stride=per_dim(1, 2), dilation=per_dim(1, 2))
    for key in ("kernel_size", "stride", "dilation"):
        if data.draw(st.booleans()):
            g[key] = g[key][0] if len(set(g[key])) == 1 else g[key]
    return g


def _tuple(v: int | tuple, nd: int) -> tuple:
    return v if isinstance(v, tuple) else (v,) * nd


def _input(data: st.DataObject, cin: int, spatial: tuple) -> np.ndarray:
    batched = data.draw(st.booleans())
    shape = ((data.draw(st.integers(1, 2)),) if batched else ()) + (cin,) + spatial
    return arrays(data.draw, shape, np.float32)


@pytest.mark.parametrize("nd", [1, 2])
@FAST
@given(data=st.data())
def test_conv_matches_torch(nd: int, data: st.DataObject) -> None:
    g = _geometry(data, nd)
    k, s, d = (_tuple(g[key], nd) for key in ("kernel_size", "stride", "dilation"))
    choices = ["int", "tuple", "valid"] + (["same"] if set(s) == {1} else [])
    kind = data.draw(st.sampled_from(choices))
    padding = {"int": data.draw(st.integers(0, 2)), "valid": "valid", "same": "same",
               "tuple": tuple(data.draw(st.integers(0, 2)) for _ in range(nd))}[kind]
    mode = data.draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    bias = data.draw(st.booleans())
    # reflect padding needs pad < size: sizes of at least 3 cover pads up to 2
    spatial = tuple(data.draw(st.integers(max(dd * (kk - 1) + 1, 3), 7)) for kk, dd in zip(k, d))
    x = _input(data, g["cin"], spatial)
    name = f"Conv{nd}d"
    check_module(lambda nn: getattr(nn, name)(
        g["cin"], g["cout"], g["kernel_size"], stride=g["stride"], padding=padding,
        dilation=g["dilation"], groups=g["groups"], bias=bias, padding_mode=mode), x,
        modes=("train",))


@pytest.mark.parametrize("nd", [1, 2])
@FAST
@given(data=st.data())
def test_conv_transpose_matches_torch(nd: int, data: st.DataObject) -> None:
    g = _geometry(data, nd)
    k, s, d = (_tuple(g[key], nd) for key in ("kernel_size", "stride", "dilation"))
    padding = tuple(data.draw(st.integers(0, (dd * (kk - 1)) // 2)) for kk, dd in zip(k, d))
    out_pad = tuple(data.draw(st.integers(0, max(ss, dd) - 1)) for ss, dd in zip(s, d))
    spatial = tuple(data.draw(st.integers(1, 5)) for _ in range(nd))
    x = _input(data, g["cin"], spatial)
    name, bias = f"ConvTranspose{nd}d", data.draw(st.booleans())
    make = lambda nn, op: getattr(nn, name)(
        g["cin"], g["cout"], g["kernel_size"], stride=g["stride"], padding=padding,
        output_padding=op, groups=g["groups"], bias=bias, dilation=g["dilation"])
    check_module(lambda nn: make(nn, out_pad), x, modes=("train",))
    # output_size= picks the output padding; torch allows up to stride - 1 extra
    base = [(n - 1) * ss - 2 * pp + dd * (kk - 1) + 1
            for n, ss, pp, dd, kk in zip(spatial, s, padding, d, k)]
    size = [b + data.draw(st.integers(0, ss - 1)) for b, ss in zip(base, s)]
    if data.draw(st.booleans()):
        size = list(x.shape[:-nd]) + size
    check_module(lambda nn: make(nn, 0), x, call=lambda mod, t: mod(t, output_size=size),
                 modes=("eval",), check_repr=False)


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [(0, 2), (2, 1), "same"])
def test_padding_modes_asymmetric(mode: str, padding: tuple | str) -> None:
    """Per-dimension padding and 'same' with an even extent (the odd pixel at the end)."""
    x = np.random.default_rng(1).standard_normal((2, 2, 5, 7)).astype(np.float32)
    check_module(lambda nn: nn.Conv2d(2, 3, (2, 3), padding=padding, dilation=(1, 2),
                                      padding_mode=mode), x, modes=("train",))
    check_module(lambda nn: nn.Conv1d(2, 3, 4, padding="same" if padding == "same" else 2,
                                      padding_mode=mode), x[:, :, 0], modes=("train",))


def test_float64_and_unbatched() -> None:
    x = np.random.default_rng(0).standard_normal((3, 6, 5))
    check_module(lambda nn: nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0)), x)
    check_module(lambda nn: nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1), x)


@pytest.mark.parametrize("make, dims", [
    (lambda nn: nn.Conv2d(16, 32, 3), (32, 16, 3, 3)),
    (lambda nn: nn.Conv1d(8, 12, 5, groups=4), (12, 2, 5)),
    (lambda nn: nn.ConvTranspose2d(16, 24, 3, groups=2), (16, 12, 3, 3)),
    (lambda nn: nn.ConvTranspose1d(6, 4, 2), (6, 4, 2)),
])
def test_init_follows_torch(make, dims) -> None:
    """kaiming_uniform_(a=sqrt(5)) is U(+-1/sqrt(fan_in)); the bias has the same bound;
    fan_in is weight.size(1) * receptive field, as in torch."""
    m = make(ember.nn)
    assert tuple(m.weight.shape) == dims == tuple(make(torch.nn).weight.shape)
    bound = 1 / math.sqrt(dims[1] * math.prod(dims[2:]))
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert m.weight.dtype == ember.float32 and m.weight.requires_grad
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.25 * bound


@pytest.mark.parametrize("make, msg", [
    (lambda nn: nn.Conv2d(3, 4, 3, groups=2), "Conv2d.*in_channels must be divisible by groups"),
    (lambda nn: nn.Conv1d(4, 3, 3, groups=2), "Conv1d.*out_channels must be divisible by groups"),
    (lambda nn: nn.Conv2d(4, 4, 3, groups=0), "groups must be a positive integer"),
    (lambda nn: nn.Conv2d(3, 4, 3, stride=2, padding="same"),
     "padding='same' is not supported for strided convolutions"),
    (lambda nn: nn.Conv2d(3, 4, 3, padding="full"), "Invalid padding string 'full'"),
    (lambda nn: nn.Conv2d(3, 4, 3, padding_mode="mirror"), "padding_mode must be one of"),
    (lambda nn: nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect"),
     'Only "zeros" padding mode is supported for ConvTranspose2d'),
])
def test_constructor_errors(make, msg) -> None:
    with pytest.raises(ValueError):
        make(torch.nn)
    with pytest.raises(ValueError, match=msg):
        make(ember.nn)


def test_forward_errors() -> None:
    for nn, lib in ((torch.nn, torch), (ember.nn, ember)):
        m = nn.ConvTranspose2d(2, 3, 3, stride=2)
        x = lib.zeros(1, 2, 4, 4)
        with pytest.raises(ValueError, match="requested an output size of \\[7, 12\\]"):
            m(x, output_size=[7, 12])
        with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
            m(x, output_size=[9, 9, 9])
        with pytest.raises(RuntimeError):
            nn.Conv2d(3, 4, 3)(lib.zeros(1, 2, 5, 5))     # wrong channel count


def test_assigned_parameters_are_used() -> None:
    """forward reads the current weight, so a replaced parameter takes effect."""
    m = ember.nn.Conv2d(1, 1, 1, bias=False)
    m.weight = ember.nn.Parameter(ember.full((1, 1, 1, 1), 2.0))
    assert m(ember.ones(1, 1, 2, 2)).sum().item() == 8.0
