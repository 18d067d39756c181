"""nn.Module: registration, traversal, state_dict, modes, dtype moves, hooks, repr, each
compared with torch.nn.Module running the same code."""
import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from tests.conformance import _np


def build(lib):
    """The same nested model in ember or torch: custom layers, a shared submodule,
    a parameter set to None, persistent and non-persistent buffers, containers."""
    nn = lib.nn

    class Leaf(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.weight = nn.Parameter(lib.arange(float(n * 2)).reshape(2, n) / 10)
            self.register_parameter("bias", None)
            self.register_buffer("count", lib.zeros(1, dtype=lib.int64))
            self.register_buffer("scratch", lib.ones(n), persistent=False)

        def forward(self, x):
            return x @ self.weight.T

        def extra_repr(self):
            return f"n={self.weight.shape[1]}"

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = Leaf(3)
            self.body = nn.Sequential(OrderedDict(a=Leaf(2),
                                                  b=Leaf(2)))
            self.shared = self.first
            self.plist = nn.ParameterList([lib.zeros(1), nn.Parameter(lib.ones(2))])
            self.pdict = nn.ParameterDict({"p": lib.zeros(2)})
            self.mdict = nn.ModuleDict({"x": Leaf(2)})
            self.scale = nn.Parameter(lib.tensor(2.0))

        def forward(self, x):
            return self.body(self.first(x)) * self.scale

    return Block()


BOTH = pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])


def names(pairs):
    return [n for n, _ in pairs]


def test_traversal_matches_torch():
    e, t = build(ember), build(torch)
    assert names(e.named_parameters()) == names(t.named_parameters())
    assert names(e.named_buffers()) == names(t.named_buffers())
    assert names(e.named_modules()) == names(t.named_modules())
    assert names(e.named_modules(remove_duplicate=False)) == \
        names(t.named_modules(remove_duplicate=False))
    assert names(e.named_children()) == names(t.named_children())
    assert names(e.named_parameters(prefix="m", recurse=False)) == \
        names(t.named_parameters(prefix="m", recurse=False))
    assert list(e.state_dict()) == list(t.state_dict())
    assert len(list(e.parameters())) == len(list(t.parameters()))
    assert len(list(e.modules())) == len(list(t.modules()))
    assert type(e.get_submodule("body.a")).__name__ == "Leaf"
    assert tuple(e.get_parameter("body.b.weight").shape) == (2, 2)
    assert tuple(e.get_buffer("first.count").shape) == (1,)


@pytest.mark.parametrize("call", [
    lambda m: m.get_submodule("body.zzz"),
    lambda m: m.get_submodule("first.weight"),
    lambda m: m.get_parameter("first.count"),
    lambda m: m.get_parameter("first.nope"),
    lambda m: m.get_buffer("first.weight"),
])
def test_lookup_errors_match_torch(call):
    with pytest.raises(AttributeError) as te:
        call(build(torch))
    with pytest.raises(AttributeError) as ee:
        call(build(ember))
    assert str(ee.value) == str(te.value)


def test_repr_matches_torch():
    assert repr(build(ember)) == repr(build(torch)).replace("torch.", "ember.")
    for lib in (ember, torch):
        assert repr(lib.nn.Sequential()) == "Sequential()"


def test_state_dict_shares_memory_and_round_trips():
    m = build(ember)
    sd = m.state_dict()
    assert not sd["first.weight"].requires_grad
    sd["first.weight"].add_(1)
    assert float(m.first.weight[0, 0]) == pytest.approx(1.0)
    assert isinstance(m.state_dict(keep_vars=True)["first.weight"], ember.nn.Parameter)
    other = build(ember)
    other.first.weight.data.zero_()
    assert repr(other.load_state_dict(m.state_dict())) == "<All keys matched successfully>"
    np.testing.assert_array_equal(_np(other.first.weight), _np(m.first.weight))


def _load_error(lib, state_fn, **kw):
    m = build(lib)
    sd = {k: state_fn(k, v) for k, v in m.state_dict().items()}
    sd = {k: v for k, v in sd.items() if v is not None}
    return m.load_state_dict(sd, **kw)


@pytest.mark.parametrize("state_fn", [
    lambda k, v: None if k == "body.a.weight" else v,                    # missing
    lambda k, v: v.reshape(-1) if k == "first.weight" else v,            # shape
    lambda k, v: None if k.startswith("plist") else v.reshape(-1) if k == "scale" else v,
])
def test_load_state_dict_errors_match_torch(state_fn):
    with pytest.raises(RuntimeError) as te:
        _load_error(torch, state_fn)
    with pytest.raises(RuntimeError) as ee:
        _load_error(ember, state_fn)
    assert str(ee.value) == str(te.value).replace("torch.", "ember.")


def test_load_state_dict_unexpected_and_non_strict():
    for lib in (ember, torch):
        m = build(lib)
        sd = dict(m.state_dict())
        sd["extra.weight"] = lib.zeros(1)
        del sd["scale"]
        res = m.load_state_dict(sd, strict=False)
        assert res.missing_keys == ["scale"] and res.unexpected_keys == ["extra.weight"]
    with pytest.raises(RuntimeError, match='Unexpected key.*"extra.weight"'):
        build(ember).load_state_dict({**build(ember).state_dict(), "extra.weight":
                                      ember.zeros(1)})
    with pytest.raises(TypeError, match="dict-like"):
        build(ember).load_state_dict([1, 2])


def test_load_state_dict_assign_replaces_tensors():
    m = build(ember)
    sd = {k: v.clone() + 1 if v.is_floating_point() else v.clone()
          for k, v in m.state_dict().items()}
    m.load_state_dict(sd, assign=True)
    assert isinstance(m.first.weight, ember.nn.Parameter) and m.first.weight.requires_grad
    assert m.body.a.weight.data_ptr() == sd["body.a.weight"].data_ptr()


@BOTH
def test_setattr_rules(lib):
    nn = lib.nn
    m = nn.Module()
    m.w = nn.Parameter(lib.zeros(2))
    with pytest.raises(TypeError, match="cannot assign .* as parameter 'w'"):
        m.w = lib.zeros(2)
    m.w = None
    assert list(m.parameters()) == [] and m.w is None
    m.register_buffer("b", lib.zeros(1))
    m.b = lib.ones(3)
    assert names(m.named_buffers()) == ["b"] and tuple(m.b.shape) == (3,)
    m.child = nn.Module()
    with pytest.raises(TypeError, match="as child module 'child'"):
        m.child = 3
    del m.child
    assert list(m.children()) == []
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("train", None)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        m.nope

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(lib.zeros(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_buffer_assignment_registers():
    m = ember.nn.Module()
    m.stat = ember.nn.Buffer(ember.zeros(2))
    m.tmp = ember.nn.Buffer(ember.zeros(2), persistent=False)
    assert names(m.named_buffers()) == ["stat", "tmp"] and list(m.state_dict()) == ["stat"]
    assert type(m.stat) is ember.Tensor


@BOTH
def test_train_eval_zero_grad(lib):
    m = build(lib)
    assert m.eval() is m and not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")
    m(lib.ones(1, 3)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert float(m.first.weight.grad.abs().sum()) == 0.0
    m.zero_grad()
    assert m.first.weight.grad is None
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_dtype_moves_keep_parameter_identity():
    m = build(ember)
    w = m.first.weight
    m(ember.ones(1, 3)).sum().backward()
    assert m.double() is m
    assert m.first.weight is w and w.dtype == ember.float64 and w.grad.dtype == ember.float64
    assert m.first.count.dtype == ember.int64       # integer buffers stay
    assert m.to(ember.float16).first.weight.dtype == ember.float16
    assert m.float().first.scratch.dtype == ember.float32
    assert m.to("cpu", dtype=ember.float64).scale.dtype == ember.float64
    with pytest.raises(TypeError, match="floating point"):
        m.to(ember.int64)
    out = m(ember.ones(1, 3, dtype=ember.float64))
    assert out.dtype == ember.float64


def test_apply_visits_children_first_like_torch():
    seen = {lib: [] for lib in (ember, torch)}
    for lib in (ember, torch):
        build(lib).apply(lambda mod, lib=lib: seen[lib].append(type(mod).__name__))
    assert seen[ember] == seen[torch]


def test_missing_forward():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required'):
        ember.nn.Module()(1)


def test_deepcopy_is_independent():
    m = build(ember)
    c = copy.deepcopy(m)
    assert isinstance(c.first.weight, ember.nn.Parameter)
    assert c.shared is c.first                     # sharing is preserved
    c.first.weight.data.add_(1)
    assert float(m.first.weight[0, 0]) == 0.0
    assert list(c.state_dict()) == list(m.state_dict())


# -- hooks ---------------------------------------------------------------------------------

class _Pair:
    """A two-input layer in both libraries: out = x * w + y."""

    @staticmethod
    def make(lib):
        class Pair(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.w = lib.nn.Parameter(lib.tensor([1.5, -2.0]))

            def forward(self, x, y, scale=1.0):
                return (x * self.w + y) * scale
        return Pair()


def _run_hooks(lib, y_grad: bool, replace: bool):
    m = _Pair.make(lib)
    log = []
    m.register_forward_pre_hook(lambda mod, args: (args[0] * 2, args[1]))
    m.register_forward_pre_hook(lambda mod, args, kw: (args, {"scale": 3.0}),
                                with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: out + 1)
    first = m.register_forward_hook(lambda mod, args, out: log.append("first"),
                                    prepend=True)

    def full(mod, gin, gout):
        log.append(("full", [None if g is None else _np(g).tolist() for g in gin],
                    [_np(g).tolist() for g in gout]))
        if replace:
            return tuple(None if g is None else g * 10 for g in gin)

    def pre(mod, gout):
        log.append(("pre", [_np(g).tolist() for g in gout]))
        return (gout[0] * 2,)
    m.register_full_backward_hook(full)
    m.register_full_backward_pre_hook(pre)
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = lib.tensor([0.5, 0.5], requires_grad=y_grad)
    out = m(x, y)
    out.backward(lib.tensor([1.0, -1.0]))
    first.remove()
    m(x, y)
    return (_np(out.detach()).tolist(), log, _np(x.grad).tolist(),
            None if y.grad is None else _np(y.grad).tolist(), _np(m.w.grad).tolist())


@pytest.mark.parametrize("y_grad", [True, False])
@pytest.mark.parametrize("replace", [True, False])
def test_hooks_match_torch(y_grad, replace):
    assert _run_hooks(ember, y_grad, replace) == _run_hooks(torch, y_grad, replace)


@BOTH
def test_backward_hook_without_input_grads(lib):
    m = _Pair.make(lib)
    got = []
    m.register_full_backward_hook(lambda mod, gin, gout: got.append(gin))
    m(lib.ones(2), lib.ones(2)).sum().backward()
    assert got == [(None, None)]


@BOTH
def test_hook_handle_is_a_context_manager(lib):
    m = _Pair.make(lib)
    with m.register_forward_hook(lambda mod, a, out: out * 0):
        assert float(m(lib.ones(2), lib.ones(2)).sum()) == 0.0
    assert float(m(lib.ones(2), lib.ones(2)).sum()) != 0.0


# -- containers ----------------------------------------------------------------------------

def _seq_ops(lib):
    nn = lib.nn
    s = nn.Sequential(nn.Identity(), nn.Tanh(), nn.ReLU())
    out = [len(s), type(s[-1]).__name__, type(s[1:]).__name__, list(s[1:]._modules)]
    s.append(nn.Sigmoid())
    s.insert(1, nn.ELU())
    del s[0]
    out.append([type(x).__name__ for x in s])
    out.append(list(s._modules))
    out.append(type(s.pop(0)).__name__)
    s[0] = nn.GELU()
    out.append(repr(s))
    named = nn.Sequential(OrderedDict(one=nn.ReLU(), two=nn.Tanh()))
    out.append(list(named[1:]._modules))
    out.append(_np(named(lib.tensor([-1.0, 1.0]))).tolist())
    try:
        s[10]
    except IndexError:
        out.append("IndexError")
    return out


def test_sequential_matches_torch():
    assert _seq_ops(ember) == _seq_ops(torch)


def _modulelist_ops(lib):
    nn = lib.nn
    ml = nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.Tanh()])
    ml += [nn.ReLU()]
    ml.extend([nn.ReLU(), nn.ReLU()])
    out = [repr(ml), len(ml), type(ml[1:3]).__name__, len(ml[::2])]
    del ml[1]
    ml.insert(1, nn.Sigmoid())     # (torch's insert fails on negative indices)
    out += [repr(ml), list(ml._modules), type(ml.pop(-1)).__name__]
    md = nn.ModuleDict({"a": nn.ReLU()})
    md.update([("b", nn.Tanh())])
    md["c"] = nn.ELU()
    out += [list(md.keys()), "b" in md, type(md.pop("a")).__name__, repr(md), len(md)]
    try:
        md.update([("x",)])
    except ValueError as e:
        out.append(str(e))
    return out


def test_modulelist_and_dict_match_torch():
    assert _modulelist_ops(ember) == [
        x.replace("torch.", "ember.") if isinstance(x, str) else x
        for x in _modulelist_ops(torch)]


def _paramcontainer_ops(lib):
    nn = lib.nn
    pl = nn.ParameterList([lib.zeros(2, 3), nn.Parameter(lib.ones(1))])
    pl.append(lib.zeros(4, dtype=lib.float64))
    pd = nn.ParameterDict({"a": lib.zeros(2)})
    pd["b"] = nn.Parameter(lib.ones(3, dtype=lib.float64))
    holder = nn.Module()
    holder.pl, holder.pd = pl, pd
    return [repr(pl), repr(pd), type(pl[0]).__name__, len(pl), len(pl[1:]),
            names(holder.named_parameters()), list(pd.keys()), "a" in pd,
            tuple(pd.pop("a").shape), len(pd)]


def test_parameter_containers_match_torch():
    assert _paramcontainer_ops(ember) == [
        x.replace("torch.", "ember.") if isinstance(x, str) else x
        for x in _paramcontainer_ops(torch)]
    with pytest.raises(RuntimeError, match="should not be called"):
        ember.nn.ParameterList()()


def _hook_slots(lib):
    """grad_input/grad_output entries per argument and per output, as PyTorch lays out."""
    class Two(lib.nn.Module):
        def forward(self, x, scale, y):
            return x * scale, x * y, "tag"
    log = []

    def record(mod, gin, gout):
        log.append([[None if g is None else _np(g).tolist() for g in gs]
                    for gs in (gin, gout)])
    pool = lib.nn.MaxPool2d(2, return_indices=True)
    pool.register_full_backward_hook(record)
    x = lib.arange(16.0).reshape(1, 1, 4, 4).requires_grad_()
    values, _ = pool(x)
    values.sum().backward()
    two = Two()
    two.register_full_backward_hook(record)
    a, _, _ = two(lib.ones(2, requires_grad=True), 3.0, lib.ones(2))
    a.sum().backward()
    return log


def test_backward_hook_slots_match_torch():
    assert _hook_slots(ember) == _hook_slots(torch)
