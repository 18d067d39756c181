"""ember.compile == eager on the reference models (ember.models): forward in eval mode,
whole compiled train steps and compiled modules in eager training loops (parameters, BN
buffers and optimizer state after several steps), and retracing on batch size and on the
train/eval switch."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.models import MLP, LeNet5, TransformerClassifier, resnet18
from compile_check import assert_same


VOCAB, SEQ = 30, 6


def _tokens(rng, n):
    ids = rng.integers(1, VOCAB, (n, SEQ))
    ids[:, SEQ - 1 - rng.integers(0, 3, n)] = 0           # a padding token in each row
    return ids


MODELS = {  # name -> (builder, input maker(rng, batch), number of classes)
    "mlp": (lambda: MLP(20, hidden=(16, 8), num_classes=5, dropout=0.2),
            lambda rng, n: rng.standard_normal((n, 20)).astype(np.float32), 5),
    "lenet5": (lambda: LeNet5(num_classes=4),
               lambda rng, n: rng.standard_normal((n, 1, 28, 28)).astype(np.float32), 4),
    "resnet18": (lambda: resnet18(num_classes=3, cifar=True),
                 lambda rng, n: rng.standard_normal((n, 3, 32, 32)).astype(np.float32), 3),
    "transformer": (lambda: TransformerClassifier(VOCAB, d_model=16, nhead=2, num_layers=1,
                                                  dim_feedforward=24, num_classes=3,
                                                  max_len=SEQ, dropout=0.1),
                    _tokens, 3),
}
BATCH = {"resnet18": 2}
STEPS = {"resnet18": 3}


def _twins(name, seed=0):
    """Two identical copies of a model (same seed)."""
    models = []
    for _ in range(2):
        ember.manual_seed(seed)
        models.append(MODELS[name][0]())
    return models


def _batches(name, steps, n=None, seed=1):
    """``steps`` different (x, y) batches of one shape."""
    _, make_x, classes = MODELS[name]
    n = n or BATCH.get(name, 4)
    rng = np.random.default_rng(seed)
    return [(ember.from_numpy(make_x(rng, n)),
             ember.from_numpy(rng.integers(0, classes, n))) for _ in range(steps)]


def _assert_same_state(m1, m2, o1=None, o2=None, rtol=1e-4, atol=1e-6):
    """Parameters and buffers (and optimizer state) of the eager and compiled copies."""
    for (k, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items()):
        assert_same(b, a, f"state {k}", rtol, atol)
    if o1 is not None:
        s1, s2 = o1.state_dict()["state"], o2.state_dict()["state"]
        assert s1.keys() == s2.keys()
        for i in s1:
            for k, v in s1[i].items():
                if isinstance(v, ember.Tensor):
                    assert_same(s2[i][k], v, f"optimizer state {i}.{k}", rtol, atol)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_eval_forward_equals_eager(name):
    model, _ = _twins(name)
    model.eval()
    compiled = ember.compile(model, fullgraph=True)
    batches = _batches(name, 3)
    with ember.no_grad():
        outs = [compiled(x) for x, _ in batches]
        for (x, _), out in zip(batches, outs):
            assert_same(out, model(x), f"{name} eval forward", rtol=1e-5, atol=1e-6)
    assert len(compiled.graphs) == 1


def _make_step(model, opt):
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


OPTIMIZERS = {
    "sgd_momentum": lambda p: ember.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-4),
    "adam": lambda p: ember.optim.Adam(p, lr=1e-3),
}
SLOW = pytest.mark.slow          # ResNet-18 train steps: about 5 s each way on 2 cores
TRAIN_CASES = [("mlp", "sgd_momentum"), ("mlp", "adam"), ("lenet5", "sgd_momentum"),
               ("lenet5", "adam"), pytest.param("resnet18", "sgd_momentum", marks=SLOW),
               ("transformer", "adam")]


def _seeded(fn, seed):
    """Run ``fn`` after seeding, so dropout draws the same masks in both copies."""
    ember.manual_seed(seed)
    return fn()


@pytest.mark.parametrize("name, opt_name", TRAIN_CASES)
def test_compiled_train_step_equals_eager(name, opt_name):
    (m1, m2) = _twins(name)
    o1, o2 = OPTIMIZERS[opt_name](m1.parameters()), OPTIMIZERS[opt_name](m2.parameters())
    eager, compiled = _make_step(m1, o1), ember.compile(_make_step(m2, o2), fullgraph=True)
    for k, (x, y) in enumerate(_batches(name, STEPS.get(name, 4))):
        l1 = _seeded(lambda: eager(x, y), k)
        l2 = _seeded(lambda: compiled(x, y), k)
        assert_same(l2, l1, f"{name} loss at step {k}", rtol=1e-4, atol=1e-6)
    assert len(compiled.graphs) == 1
    _assert_same_state(m1, m2, o1, o2)


def test_transformer_train_step_with_graph_break_still_equals_eager():
    """Without fullgraph, a step that cannot be one graph runs eagerly (one warning)."""
    (m1, m2) = _twins("transformer")
    o1, o2 = OPTIMIZERS["adam"](m1.parameters()), OPTIMIZERS["adam"](m2.parameters())
    eager, compiled = _make_step(m1, o1), ember.compile(_make_step(m2, o2))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for k, (x, y) in enumerate(_batches("transformer", 4)):
            l1 = _seeded(lambda: eager(x, y), k)
            l2 = _seeded(lambda: compiled(x, y), k)
            assert_same(l2, l1, f"loss at step {k}", rtol=1e-5, atol=1e-6)
    _assert_same_state(m1, m2, o1, o2)


@pytest.mark.parametrize("name", ["mlp", "lenet5", pytest.param("resnet18", marks=SLOW),
                                  "transformer"])
def test_compiled_module_in_eager_training_loop_equals_eager(name):
    """``ember.compile(model)`` returns outputs that need grad; the eager loss, backward
    and optimizer step go through its backward graph."""
    (m1, m2) = _twins(name)
    o1, o2 = OPTIMIZERS["sgd_momentum"](m1.parameters()), \
        OPTIMIZERS["sgd_momentum"](m2.parameters())
    c2 = ember.compile(m2, fullgraph=True)
    for k, (x, y) in enumerate(_batches(name, STEPS.get(name, 4))):
        for model, opt in ((m1, o1), (c2, o2)):
            opt.zero_grad()
            ember.manual_seed(k)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
    assert len(c2.graphs) == 1
    _assert_same_state(m1, m2, o1, o2)


def test_batch_size_change_retraces_and_reuses():
    """A new batch size is a new signature (a second graph); returning to the first size
    reuses the first graph; every result equals eager."""
    (m1, m2) = _twins("resnet18")
    m1.eval()
    m2.eval()
    compiled = ember.compile(m2, fullgraph=True)
    sizes = [2, 2, 2, 3, 3, 3, 2]
    with ember.no_grad():
        for k, n in enumerate(sizes):
            (x, _), = _batches("resnet18", 1, n=n, seed=k)
            assert_same(compiled(x), m1(x), f"batch {n} (call {k})", rtol=1e-5, atol=1e-6)
    assert len(compiled.graphs) == 2


def test_train_step_batch_size_change_retraces():
    (m1, m2) = _twins("lenet5")
    o1, o2 = (OPTIMIZERS["sgd_momentum"](m.parameters()) for m in (m1, m2))
    eager, compiled = _make_step(m1, o1), ember.compile(_make_step(m2, o2), fullgraph=True)
    batches = _batches("lenet5", 3, n=4) + _batches("lenet5", 3, n=3, seed=2)
    for k, (x, y) in enumerate(batches):
        assert_same(compiled(x, y), eager(x, y), f"loss at step {k}", rtol=1e-4, atol=1e-6)
    assert len(compiled.graphs) == 2
    _assert_same_state(m1, m2, o1, o2)


def test_train_eval_switch_retraces():
    """BatchNorm (batch statistics and running-stat updates in train mode, running stats
    in eval) and dropout: each mode gets its own graph and switching back reuses it."""
    (m1, m2) = _twins("resnet18")
    compiled = ember.compile(m2, fullgraph=True)
    (x, _), = _batches("resnet18", 1)
    outs = []
    with ember.no_grad():
        for mode in ["train"] * 3 + ["eval"] * 3 + ["train", "eval"]:
            for m in (m1, m2):
                m.train(mode == "train")
            c, e = compiled(x), m1(x)
            assert_same(c, e, f"{mode} forward", rtol=1e-5, atol=1e-6)
            outs.append(c.numpy())
    assert len(compiled.graphs) == 2
    assert not np.allclose(outs[0], outs[3])         # the modes really differ
    _assert_same_state(m1, m2)                       # running stats updated alike


def test_dropout_train_eval_switch_retraces():
    (m1, m2) = _twins("mlp")
    compiled = ember.compile(m2, fullgraph=True)
    (x, _), = _batches("mlp", 1)
    with ember.no_grad():
        for k, mode in enumerate(["eval"] * 3 + ["train"] * 3 + ["eval"]):
            for m in (m1, m2):
                m.train(mode == "train")
            c = _seeded(lambda: compiled(x), k)
            e = _seeded(lambda: m1(x), k)
            assert_same(c, e, f"{mode} forward (call {k})", rtol=1e-5, atol=1e-6)
    assert len(compiled.graphs) == 2
