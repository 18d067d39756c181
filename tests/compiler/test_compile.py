"""ember.compile: compiled calls equal eager ones; caching, guards, breaks and effects."""
import re
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.compiler import GraphBreak


def _mlp(seed=0, dropout=0.0):
    ember.manual_seed(seed)
    layers = [nn.Linear(20, 16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(16, 5)]
    return nn.Sequential(*layers)


def _train_setup(opt_name="adam", seed=0, dropout=0.0, **kw):
    model = _mlp(seed, dropout)
    opt = {"adam": lambda p: ember.optim.Adam(p, lr=1e-2, **kw),
           "sgd": lambda p: ember.optim.SGD(p, lr=0.1, momentum=0.9, **kw),
           "adamw": lambda p: ember.optim.AdamW(p, lr=1e-2, **kw)}[opt_name](
        model.parameters())

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return model, opt, step


def _data(n=8, seed=1):
    rng = np.random.default_rng(seed)
    return (ember.tensor(rng.standard_normal((n, 20)).astype(np.float32)),
            ember.tensor(rng.integers(0, 5, n)))


def _params(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("opt_name", ["adam", "sgd", "adamw"])
def test_train_step_matches_eager_after_n_steps(opt_name):
    m1, _, s1 = _train_setup(opt_name)
    m2, _, s2 = _train_setup(opt_name)
    s2 = ember.compile(s2)
    x, y = _data()
    for _ in range(6):
        l1, l2 = s1(x, y), s2(x, y)
        np.testing.assert_allclose(l1.item(), l2.item(), rtol=1e-5)
    for a, b in zip(_params(m1), _params(m2)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert len(s2.graphs) == 1
    graph = s2.graphs[0]
    names = graph.op_counts()
    assert "linear" in names and any(k in names for k in ("adam", "sgd"))
    assert len(graph.grad_effects) == 4


def test_whole_step_is_one_graph_with_explicit_updates():
    _, _, step = _train_setup("adam")
    step = ember.compile(step)
    x, y = _data()
    step(x, y)
    step(x, y)
    text = str(step.graphs[0])
    assert text.count("adam(") == 4 and text.count("!") >= 4    # effects are marked
    assert "cross_entropy_backward" in text


def test_forward_under_no_grad_equals_eager_and_is_cached():
    model = _mlp()
    f = ember.compile(model)
    x, _ = _data()
    with ember.no_grad():
        outs = [f(x) for _ in range(3)]
        ref = model(x)
    for o in outs:
        np.testing.assert_allclose(o.numpy(), ref.numpy(), rtol=1e-6)
    assert len(f.graphs) == 1
    assert list(f.parameters())[0] is list(model.parameters())[0]   # Module API still there


def test_retraces_on_shape_dtype_and_requires_grad_changes():
    calls = []

    def f(x):
        calls.append(1)
        return (x * 2).sum()
    g = ember.compile(f)
    for shape in [(3,), (3,), (3,), (4,), (4,), (4,)]:
        x = ember.ones(*shape)
        assert g(x).item() == 2 * shape[0]
    assert len(g.graphs) == 2
    x64 = ember.ones(3, dtype=ember.float64)
    for _ in range(3):
        out = g(x64)
    assert out.dtype == ember.float64 and len(g.graphs) == 3


def test_training_flag_change_retraces():
    model = _mlp(dropout=0.5)
    f = ember.compile(model)
    x, _ = _data()
    with ember.no_grad():
        model.eval()
        for _ in range(3):
            ev = f(x)
        np.testing.assert_allclose(ev.numpy(), model(x).numpy(), rtol=1e-6)
        model.train()
        for _ in range(3):
            tr = f(x)
    assert not np.allclose(tr.numpy(), ev.numpy())          # dropout is active again
    assert len(f.graphs) == 2


def test_dropout_draws_follow_the_same_generator_as_eager():
    m1, _, s1 = _train_setup("sgd", dropout=0.3)
    m2, _, s2 = _train_setup("sgd", dropout=0.3)
    s2 = ember.compile(s2)
    x, y = _data()
    for _ in range(4):
        ember.manual_seed(11)
        l1 = s1(x, y)
        ember.manual_seed(11)
        l2 = s2(x, y)
        np.testing.assert_allclose(l1.item(), l2.item(), rtol=1e-5)


def test_learning_rate_change_is_seen():
    m1, o1, s1 = _train_setup("sgd")
    m2, o2, s2 = _train_setup("sgd")
    s2 = ember.compile(s2)
    x, y = _data()
    for i in range(6):
        if i == 3:
            for o in (o1, o2):
                o.param_groups[0]["lr"] = 0.01
        s1(x, y)
        s2(x, y)
    for a, b in zip(_params(m1), _params(m2)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_batchnorm_running_stats_are_written_back():
    def make():
        ember.manual_seed(0)
        m = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 4 * 4, 2))
        opt = ember.optim.SGD(m.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(m(x), y)
            loss.backward()
            opt.step()
            return loss
        return m, step
    (m1, s1), (m2, s2) = make(), make()
    s2 = ember.compile(s2)
    x = ember.randn(4, 2, 6, 6)
    y = ember.tensor([0, 1, 1, 0])
    for _ in range(4):
        s1(x, y)
        s2(x, y)
    for (k, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    assert m2[1].num_batches_tracked.item() == 4


def test_gradient_accumulation_without_zero_grad():
    def make():
        model = _mlp()

        def step(x, y):
            F.cross_entropy(model(x), y).backward()
        return model, step
    (m1, s1), (m2, s2) = make(), make()
    s2 = ember.compile(s2)
    x, y = _data()
    for _ in range(4):
        s1(x, y)
        s2(x, y)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-5, atol=1e-6)
    for p in m2.parameters():        # the user sets the grads to None between calls
        p.grad = None
    s1_grads = None
    for p in m1.parameters():
        p.grad = None
    for _ in range(2):
        s1(x, y)
        s2(x, y)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert s1_grads is None


def test_in_place_write_into_an_argument_and_local():
    def f(x, buf):
        y = x.clone()
        y.mul_(3)                     # local: renames the value
        buf.add_(y)                   # argument: written back into the caller's tensor
        return y + 1
    g = ember.compile(f)
    b_eager, b_comp = ember.zeros(4), ember.zeros(4)
    x = ember.arange(4.0)
    for _ in range(4):
        r1 = f(x, b_eager)
        r2 = g(x, b_comp)
        np.testing.assert_allclose(r1.numpy(), r2.numpy())
    np.testing.assert_allclose(b_comp.numpy(), b_eager.numpy())
    assert "copy_into" in str(g.graphs[0])


def test_constants_created_inside_are_not_accumulated():
    def f(x):
        acc = ember.zeros(3)
        acc += x
        return acc * 2
    g = ember.compile(f)
    x = ember.ones(3)
    for _ in range(5):
        out = g(x)
    np.testing.assert_allclose(out.numpy(), [2, 2, 2])


def test_data_dependent_branch_falls_back_with_one_warning_naming_the_line():
    def f(x):
        if x.sum() > 0:                                   # the line the warning names
            return x * 2
        return x * 3
    line = f.__code__.co_firstlineno + 1
    g = ember.compile(f)
    x = ember.ones(3)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        results = [g(x) for _ in range(4)] + [g(-x)]
    msgs = [str(w.message) for w in rec if "ember.compile" in str(w.message)]
    assert len(msgs) == 1 and f"test_compile.py:{line}" in msgs[0] and "bool()" in msgs[0]
    np.testing.assert_allclose(results[-1].numpy(), [-3, -3, -3])     # eager semantics


def test_fullgraph_raises_naming_the_line():
    @ember.compile(fullgraph=True)
    def f(x):
        return x * float(x.max())
    x = ember.ones(2)
    f(x)                      # warm-up call runs eagerly
    with pytest.raises(GraphBreak, match=r"item\(\).*test_compile.py:\d+"):
        f(x)


def test_random_creation_inside_breaks():
    g = ember.compile(lambda x: x + ember.randn(3), fullgraph=True)
    x = ember.ones(3)
    g(x)
    with pytest.raises(GraphBreak, match="random numbers"):
        g(x)


def test_compiled_module_in_an_eager_training_loop_matches_eager():
    def make():
        ember.manual_seed(0)
        m = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 4 * 4, 2))
        return m, ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    (m1, o1), (m2, o2) = make(), make()
    c2 = ember.compile(m2)
    x = ember.randn(4, 2, 6, 6)
    y = ember.tensor([0, 1, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            for m, o in ((m1, o1), (c2, o2)):
                o.zero_grad()
                loss = F.cross_entropy(m(x), y)
                loss.backward()
                o.step()
    for (k, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    fwd, = c2.graphs
    assert "conv_weight" not in str(fwd)                       # forward only
    entry, = [e for es in c2._cache.values() for e in es]
    assert "conv_weight" in str(entry.backward_graph)


def test_gradient_flows_through_a_compiled_function_into_eager_history():
    w = ember.randn(3, 3, requires_grad=True)
    f = ember.compile(lambda h: (h @ w).tanh())
    a = ember.randn(2, 3, requires_grad=True)
    for _ in range(3):
        for t in (a, w):
            t.grad = None
        (f(a * 2) ** 2).sum().backward()
        got = a.grad.numpy().copy(), w.grad.numpy().copy()
    for t in (a, w):
        t.grad = None
    (((a * 2) @ w).tanh() ** 2).sum().backward()
    np.testing.assert_allclose(got[0], a.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], w.grad.numpy(), rtol=1e-5, atol=1e-6)
    out = f(a * 2)
    with pytest.raises(RuntimeError, match="double backward"):
        ember.autograd.grad(out.sum(), a, create_graph=True)


def test_aliases_decorators_and_methods():
    assert ember.function is ember.compile and ember.jit is ember.compile

    @ember.jit
    def double(x):
        return x * 2

    class Net:
        scale = 5.0

        @ember.compile
        def run(self, x):
            return x * self.scale

    x = ember.ones(2)
    for _ in range(3):
        assert double(x).tolist() == [2.0, 2.0]
        assert Net().run(x).tolist() == [5.0, 5.0]


def test_bad_arguments():
    with pytest.raises(TypeError, match="expected a function or Module"):
        ember.compile(3)
    with pytest.raises(ValueError, match="unknown mode"):
        ember.compile(lambda x: x, mode="fast")
    with pytest.raises(ValueError, match="unknown pass"):
        ember.compile(lambda x: x, options={"nope": False})


def test_printing_dot_and_explain(capsys, monkeypatch):
    monkeypatch.setenv("EMBER_LOG_GRAPHS", "1")
    f = ember.compile(lambda x, w: (x @ w).relu().sum())
    x, w = ember.ones(2, 3), ember.ones(3, 4)
    for _ in range(3):
        f(x, w)
    err = capsys.readouterr().err
    assert "[ember.compile] traced:" in err and "[ember.compile] optimized:" in err
    g = f.graphs[0]
    g.verify()
    assert re.search(r"= relu\(%\d+", str(g))
    dot = g.to_dot()
    assert dot.startswith('digraph "<lambda>"') and "relu" in dot and dot.endswith("}")
    text = str(f.explain(x, w))
    assert "Graph count: 1" in text and "Graph break count: 0" in text


def test_explain_reports_a_break():
    def f(x):
        return x * 2 if x.sum().item() > 0 else x
    g = ember.compile(f)
    with pytest.warns(UserWarning):
        text = str(g.explain(ember.ones(2)))
    assert "Graph count: 0" in text and "item()" in text and "runs eagerly" in text


def test_retrace_limit_falls_back_to_eager():
    from ember.compiler import compiled
    g = ember.compile(lambda x: x + 1)
    with pytest.warns(UserWarning, match="retraced"):
        for n in range(1, compiled.CACHE_LIMIT + 3):
            for _ in range(2):
                assert g(ember.zeros(n)).shape == (n,)


def test_tensor_indices_are_inputs_or_break_never_baked():
    g = ember.compile(lambda x, i: x.gather(1, i).sum(1))
    x = ember.arange(12.0).reshape(3, 4)
    for idx in ([[0], [1], [2]], [[3], [3], [0]], [[1], [0], [2]]):
        i = ember.tensor(idx)
        np.testing.assert_allclose(g(x, i).numpy(), x.gather(1, i).sum(1).numpy())
    h = ember.compile(lambda x, i: x[i] * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for idx in ([0, 1], [2, 0], [1, 1]):
            i = ember.tensor(idx)
            np.testing.assert_allclose(h(x, i).numpy(), (x[i] * 2).numpy())
    assert len(h.graphs) == 1 and "index(" in str(h.graphs[0])
    scalar = ember.compile(lambda x, i: x[i] * 2)          # a 0-d index is an int: a read
    with pytest.warns(UserWarning, match="0-d integer tensor used as an index"):
        for k in (0, 2, 1):
            np.testing.assert_allclose(scalar(x, ember.tensor(k)).numpy(), (x[k] * 2).numpy())


def test_compiled_index_checks_each_calls_values():
    """The range checks of indexing ops are graph nodes: a graph traced with good indices
    raises eager mode's error for bad ones instead of wrapping or misreading them."""
    x = ember.arange(12.0).reshape(3, 4)
    cases = [
        (lambda x, i: x[i], [0, 2], [0, 3], IndexError,
         "index 3 is out of bounds for dimension 0 with size 3"),
        (lambda x, i: x.index_select(1, i), [0, 3], [-1, 0], RuntimeError,
         r"index_select\(\): index -1 is out of bounds"),
        (lambda x, i: x.take(i), [0, 11], [12, 0], IndexError, r"take\(\): out of range"),
        (lambda x, i: x.scatter(1, i, 1.0), [[0], [1], [3]], [[0], [4], [1]], RuntimeError,
         r"scatter\(\): index 4 is out of bounds"),
        (lambda x, t: F.cross_entropy(x, t), [0, 3, 1], [0, -4, 1], IndexError,
         "cross_entropy: Target -4 is out of bounds"),
        (lambda x, t: F.cross_entropy(x, t, weight=ember.ones(4)), [0, 3, 1], [0, 4, 1],
         IndexError, "cross_entropy: Target 4 is out of bounds"),
        (lambda x, t: F.one_hot(t, 4) * x[0], [0, 3], [0, 5], RuntimeError,
         "one_hot: Class values must be smaller than num_classes"),
    ]
    for fn, good, bad, kind, msg in cases:
        compiled = ember.compile(fn, fullgraph=True)
        for _ in range(3):
            compiled(x, ember.tensor(good))
        assert len(compiled.graphs) == 1
        with pytest.raises(kind, match=msg):
            fn(x, ember.tensor(bad))
        with pytest.raises(kind, match=msg):
            compiled(x, ember.tensor(bad))


@pytest.mark.parametrize("fn, what", [
    (lambda x: x.nonzero() + 1, "nonzero gives a result whose shape depends"),
    (lambda x: x[x > 3].sum(), "index gives a result whose shape depends"),
    (lambda x: ember.masked_select(x, x > 3) * 2, "shape depends on its input's values"),
])
def test_value_dependent_shapes_break_the_graph(fn, what):
    x = ember.arange(12.0).reshape(3, 4)
    strict = ember.compile(fn, fullgraph=True)
    strict(x)                                    # the first call runs eagerly
    with pytest.raises(GraphBreak, match=what):
        strict(x)
    lenient = ember.compile(fn)
    with pytest.warns(UserWarning, match=what):
        for k in range(3):
            np.testing.assert_allclose(lenient(x + k).numpy(), fn(x + k).numpy())


def test_dynamic_batch_reuses_one_graph_by_substitution():
    def make():
        ember.manual_seed(0)
        model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 5))
        opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x, y):
            opt.zero_grad()
            h = model(x)
            loss = F.cross_entropy(h.view(x.shape[0], -1), y) + h.mean()
            loss.backward()
            opt.step()
            return loss
        return model, step
    (m1, s1), (m2, s2) = make(), make()
    s2 = ember.compile(s2, dynamic=True)
    rng = np.random.default_rng(0)
    for b in [8, 8, 16, 4, 5, 8, 32, 5]:
        x = ember.tensor(rng.standard_normal((b, 20)).astype(np.float32))
        y = ember.tensor(rng.integers(0, 5, b))
        np.testing.assert_allclose(s1(x, y).item(), s2(x, y).item(), rtol=1e-5)
    for a, b in zip(_params(m1), _params(m2)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert s2._traces == 2                     # batch 8, then 16 to generalize
    (first, *_), = s2._cache.values()
    assert first.template is not None and {4, 5, 32} <= set(first.variants)


def test_dynamic_keeps_graphs_that_depend_on_the_batch_in_other_ways():
    def f(x):
        return x + ember.arange(float(x.shape[0]))[:, None]   # a constant shaped by it
    g = ember.compile(f, dynamic=True)
    for b in [2, 2, 3, 4, 5, 7, 6]:
        x = ember.ones(b, 3)
        np.testing.assert_allclose(g(x).numpy(), f(x).numpy())
    entries, = g._cache.values()
    assert all(e.template is None for e in entries) and len(entries) == 6


def test_nested_compiled_functions_are_inlined_into_the_outer_graph():
    inner = ember.compile(lambda a: a.exp() * 2)
    for _ in range(3):
        inner(ember.ones(3))                   # inner has its own graph by now
    outer = ember.compile(lambda a: inner(a) + 1)
    for k in range(4):
        x = ember.full((3,), float(k))
        np.testing.assert_allclose(outer(x).numpy(), np.exp(k) * 2 + 1, rtol=1e-6)
    assert "exp(" in str(outer.graphs[0])
