"""One-call conformance check of an Ember layer against the same torch.nn layer.

``check_module(lambda nn: nn.Conv2d(3, 4, 3), x)`` builds the layer with ``torch.nn`` and
with ``ember.nn``, copies torch's weights into Ember through ``load_state_dict`` (strict,
so names and shapes must agree), and compares, in train and eval mode: outputs, gradients
of the inputs and of every parameter, the state_dict afterwards (running statistics), and
``repr``. Float64 inputs turn both modules to float64 first.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

import ember
from tests.conformance import _flat, _np, assert_close, to_ember, to_torch


def copy_weights(t_mod: torch.nn.Module, e_mod: ember.nn.Module) -> None:
    """Load torch's state_dict into the Ember module (strict: every key and shape)."""
    state = {k: ember.from_numpy(v.detach().numpy().copy())
             for k, v in t_mod.state_dict().items()}
    e_mod.load_state_dict(state)


def check_module(make: Callable[[Any], Any], *inputs: Any,
                 call: Callable[..., Any] | None = None,
                 modes: Sequence[str] = ("train", "eval"), rtol: float | None = None,
                 atol: float | None = None, nondiff: Sequence[int] = (), seed: int = 0,
                 check_repr: bool = True) -> tuple:
    """Compare ``make(ember.nn)`` with ``make(torch.nn)`` on ``inputs`` (NumPy arrays are
    made tensors; floating ones require grad unless their index is in ``nondiff``).

    Returns ``(ember_module, torch_module)`` for further checks.
    """
    call = call or (lambda mod, *xs: mod(*xs))
    torch.manual_seed(seed)
    t_mod, e_mod = make(torch.nn), make(ember.nn)
    floats = [a for a in inputs if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    if floats and floats[0].dtype == np.float64:
        t_mod.double()
        e_mod.double()
    assert list(e_mod.state_dict()) == list(t_mod.state_dict()), "state_dict keys differ"
    assert [n for n, _ in e_mod.named_parameters()] == \
        [n for n, _ in t_mod.named_parameters()], "parameter names differ"
    copy_weights(t_mod, e_mod)
    if check_repr:
        assert repr(e_mod) == repr(t_mod).replace("torch.", "ember."), \
            f"repr differs:\n{e_mod!r}\n!=\n{t_mod!r}"
    diff = [i for i, a in enumerate(inputs) if isinstance(a, np.ndarray) and
            a.dtype.kind == "f" and i not in nondiff]
    rng = np.random.default_rng(seed)
    for mode in modes:
        t_mod.train(mode == "train")
        e_mod.train(mode == "train")
        t_mod.zero_grad()
        e_mod.zero_grad()
        e_in = [to_ember(a, i in diff) for i, a in enumerate(inputs)]
        t_in = [to_torch(a, i in diff) for i, a in enumerate(inputs)]
        e_out, t_out = _flat(call(e_mod, *e_in)), _flat(call(t_mod, *t_in))
        assert len(e_out) == len(t_out), f"{len(e_out)} outputs, torch gives {len(t_out)}"
        for k, (eo, to) in enumerate(zip(e_out, t_out)):
            assert_close(eo, to, rtol, atol, what=f"{mode}: output {k}")
        pairs = [(eo, to) for eo, to in zip(e_out, t_out)
                 if isinstance(to, torch.Tensor) and to.requires_grad]
        for eo, _ in pairs:
            assert eo.requires_grad, f"{mode}: Ember output does not require grad"
        if pairs:
            ups = [rng.standard_normal(tuple(to.shape)).astype(_np(to).dtype)
                   for _, to in pairs]
            torch.autograd.backward([to for _, to in pairs],
                                    [torch.from_numpy(u) for u in ups])
            ember.autograd.backward([eo for eo, _ in pairs],
                                    [ember.from_numpy(u) for u in ups])
            for i in diff:
                _compare_grad(e_in[i].grad, t_in[i].grad, rtol, atol, f"{mode}: input {i}")
            t_params = dict(t_mod.named_parameters())
            for name, p in e_mod.named_parameters():
                _compare_grad(p.grad, t_params[name].grad, rtol, atol, f"{mode}: {name}")
        t_state = t_mod.state_dict()
        for name, value in e_mod.state_dict().items():
            assert_close(value, t_state[name], rtol, atol, what=f"{mode}: state {name}")
    return e_mod, t_mod


def _compare_grad(e: Any, t: Any, rtol: float | None, atol: float | None, what: str) -> None:
    if t is None:
        assert e is None or not np.any(_np(e)), f"grad of {what}: torch has none"
        return
    assert e is not None, f"grad of {what}: Ember has none, torch has one"
    assert_close(e, t, rtol, atol, what=f"grad of {what}")


def randomized(m: Any) -> Any:
    """Give torch's module non-trivial weights and running statistics (Ember's copy gets
    them through ``check_module``), so that affine terms and running stats matter."""
    if isinstance(m, torch.nn.Module):
        with torch.no_grad():
            for p in m.parameters():
                p.uniform_(0.5, 1.5)
            for name, b in m.named_buffers():
                if name.endswith("running_mean"):
                    b.uniform_(-1, 1)
                elif name.endswith("running_var"):
                    b.uniform_(0.5, 2)
    return m


def framework_tensor(nn: Any, a: Any) -> Any:
    """``a`` (NumPy) as a tensor of the framework that ``nn`` belongs to."""
    return (torch if nn is torch.nn else ember).from_numpy(np.array(a))


def same_constructor_error(make: Callable[[Any], Any], exc: type, msg: str) -> None:
    """``make(nn)`` raises ``exc`` under torch.nn, and under ember.nn matching ``msg``."""
    import pytest
    with pytest.raises(exc):
        make(torch.nn)
    with pytest.raises(exc, match=msg):
        make(ember.nn)
