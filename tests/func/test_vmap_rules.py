"""The batching rules of ember.func.vmap, family by family, against torch.func.vmap.

Each case is written once against a namespace ``m`` (ember or torch) and runs under both
vmaps on the same float64 data; forward cases check values, ``*_GRADS`` cases check
per-example gradients (``vmap(grad(f))``), which run every op's backward through the
rules as well. No case may fall back to the per-example loop.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.func

import ember
import ember.func
from ember.func._batching import DECOMPOSITIONS, HIDDEN_BACKWARD, RULES
from ember.ops.registry import REGISTRY

rng = np.random.default_rng(0)
pytestmark = pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning")


def R(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def I(high: int, *shape: int) -> np.ndarray:
    return rng.integers(0, high, shape)


def _to(m, a):
    return m.tensor(a) if isinstance(a, np.ndarray) else a


def assert_close(ours, ref) -> None:
    if isinstance(ref, torch.Tensor):
        assert isinstance(ours, ember.Tensor), type(ours)
        assert tuple(ours.shape) == tuple(ref.shape), (tuple(ours.shape), tuple(ref.shape))
        assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
        np.testing.assert_allclose(ours.detach().numpy().astype(np.float64),
                                   ref.detach().numpy().astype(np.float64),
                                   rtol=1e-7, atol=1e-9)
    elif isinstance(ref, dict):
        assert sorted(ours) == sorted(ref)
        for k in ref:
            assert_close(ours[k], ref[k])
    else:
        assert isinstance(ours, (tuple, list)) and len(ours) == len(ref), (ours, ref)
        for a, b in zip(ours, ref):
            assert_close(a, b)


def check(case, arrays, in_dims=0, grad: bool = False) -> None:
    """``case(m, F, *args)`` under both vmaps (of its gradient in argument 0 when
    ``grad``), with no fallback warning from Ember."""
    def run(m, fm):
        fn = (lambda *a: case(m, m.nn.functional, *a))
        if grad:
            fn = fm.grad(fn)
        return fm.vmap(fn, in_dims=in_dims)(*[_to(m, a) for a in arrays])
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="vmap")
        ours = run(ember, ember.func)
    assert_close(ours, run(torch, torch.func))


# -- elementwise and broadcasting ------------------------------------------------------

ELEMENTWISE = {
    "arith": (lambda m, F, a, b: (a + b, a - 2 * b, a * b, a / (b.abs() + 1), a ** 2,
                                  2.0 ** a, -a, a // 0.7, a % 0.7, m.fmod(a, 0.7)),
              [R(3, 4), R(3, 4)], 0),
    "broadcast": (lambda m, F, a, b: (a + b, m.maximum(a, b), m.atan2(a, b), m.hypot(a, b)),
                  [R(3, 2, 4), R(4)], (0, None)),
    "lower rank batched": (lambda m, F, a, b: (a * b, m.where(a > 0, a, b), m.lerp(a, b, 0.3)),
                           [R(3, 4), R(2, 5, 4)], (0, None)),
    "0-d examples": (lambda m, F, a, b: (a * b, a + 1, m.clamp(b, a, a + 1), a.exp()),
                     [R(3), R(2, 3)], (0, None)),
    "promotion": (lambda m, F, a, b: (a + b, a * b, m.where(b > 0, a, b)),
                  [R(3).astype(np.float32), R(4)], (0, None)),
    "int and bool": (lambda m, F, a, b: (a + b, a * 2, a // 2, a % 3, a > b, a == 1, a & b,
                                         ~(a > 1), m.logical_and(a > 0, b > 1), a.sign()),
                     [I(5, 3, 4), I(5, 4)], (0, None)),
    "unary math": (lambda m, F, a: (a.sin(), a.cos(), a.tanh(), a.sigmoid(), a.abs().sqrt(),
                                    a.abs().log1p(), a.erf(), a.floor(), a.round(), a.frac(),
                                    a.isnan(), m.isfinite(a / 0), a.reciprocal(), a.exp2()),
                   [R(3, 2, 3)], 0),
    "activations": (lambda m, F, a: (F.relu(a), F.gelu(a), F.gelu(a, approximate="tanh"),
                                     F.silu(a), F.softplus(a), F.elu(a), F.leaky_relu(a, 0.1),
                                     F.hardtanh(a), F.mish(a), F.hardswish(a),
                                     F.hardsigmoid(a), F.logsigmoid(a), F.threshold(a, 0.1, 2.0),
                                     F.relu6(a), F.selu(a), F.celu(a)),
                    [R(3, 5)], 0),
    "clamp tensors": (lambda m, F, a, lo: (m.clamp(a, lo, lo + 1), a.clamp(min=0.0)),
                      [R(4, 3), R(4)], (1, None)),
    "losses": (lambda m, F, x, t: (F.binary_cross_entropy(x.sigmoid(), t), F.mse_loss(x, t),
                                   F.l1_loss(x, t, reduction="sum"), F.smooth_l1_loss(x, t),
                                   F.binary_cross_entropy_with_logits(x, t)),
               [R(3, 4), rng.random((3, 4))], 0),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise(name):
    check(*ELEMENTWISE[name])


# -- reductions and ops along a dim ---------------------------------------------------------

REDUCTIONS = {
    "sums": (lambda m, F, a: (a.sum(), a.sum(0), a.sum((0, -1), keepdim=True), a.mean(1),
                              a.prod(1), m.nansum(a), a.logsumexp(-1), a.norm(), a.norm(p=1)),
             [R(3, 2, 4)], 0),
    "spread": (lambda m, F, a: (a.var(0), a.std(-1, keepdim=True), a.var(unbiased=False),
                                m.std_mean(a, 1)[0]),
               [R(3, 4, 5)], 2),
    "extremes": (lambda m, F, a: (a.amax(0), a.amin((0, 1)), a.max(), a.max(1).values,
                                  a.min(0).indices, a.argmax(), a.argmin(1, keepdim=True),
                                  a.argmax(0, keepdim=True)),
                 [R(3, 4, 5)], 1),
    "logical": (lambda m, F, a: ((a > 0).all(0), (a > 0).any(), m.count_nonzero(a > 0, 1)),
                [R(3, 4, 5)], 0),
    "along dim": (lambda m, F, a: (a.softmax(-1), a.log_softmax(0), a.cumsum(1),
                                   a.cumprod(0), F.softmin(a, 1)),
                  [R(3, 4, 5)], 0),
    "sorting": (lambda m, F, a: (m.sort(a, 1).values, m.sort(a, 0, descending=True).indices,
                                 a.topk(2, 1).values, a.kthvalue(2, 0).indices,
                                 m.median(a, 1).values, m.argsort(a, -1)),
                [R(3, 4, 5)], 0),
    "0-d examples": (lambda m, F, a: (a.sum(), a.argmax(), a.softmax(0), a.cumsum(0),
                                      a.max(0).values, m.sort(a, 0).values),
                     [R(3)], 0),
}


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions(name):
    check(*REDUCTIONS[name])


# -- shape ops and joining ------------------------------------------------------------------

SHAPE = {
    "reshape": (lambda m, F, a: (a.reshape(20), a.view(5, 4), a.flatten(), a.unsqueeze(0),
                                 a[None].squeeze(0), a.unflatten(1, (5, 1)), a.reshape(-1, 2)),
                [R(3, 4, 5)], 0),
    "reshape moved": (lambda m, F, a: (a.reshape(20), a.flatten(0)), [R(4, 3, 5)], 1),
    "permute": (lambda m, F, a: (a.permute(2, 0, 1), a.transpose(0, -1), a.mT,
                                 a.movedim(0, 2), a[0].t()),
                [R(4, 3, 5, 2)], 1),
    "expand": (lambda m, F, a, b: (a.expand(2, 4), a[None].expand(3, 2, 4), a.repeat(2, 2),
                                   a.tile((2,)), b.expand_as(a)),
               [R(3, 4), R(3, 1)], 0),
    "flip roll": (lambda m, F, a: (a.flip(0), a.roll(1, 1), a.roll(2), m.fliplr(a)),
                  [R(3, 4, 5)], 0),
    "diagonals": (lambda m, F, a: (a.diagonal(), m.diagonal(a, 1, 1, 0), m.triu(a),
                                   m.tril(a, -1), m.diag_embed(a[0]), m.diag(a[:, 0])),
                  [R(4, 5, 3)], 2),
    "padding": (lambda m, F, a: (F.pad(a, (1, 2)), F.pad(a, (1, 1, 2, 0), value=3.0),
                                 F.pad(a[None], (1, 2), mode="reflect"),
                                 F.pad(a[None], (1, 1, 1, 1), mode="replicate"),
                                 F.pad(a[None], (2, 1), mode="circular")),
                [R(3, 4, 5)], 0),
    "joining": (lambda m, F, a, b: (m.cat([a, b], 0), m.stack([a, b], 1), m.cat([b, a], -1),
                                    m.cat([a, m.zeros(0)], 0), m.hstack([a, b])),
                [R(3, 4, 5), R(4, 5)], (0, None)),
    "splitting": (lambda m, F, a: (a.split(2, 1), a.unbind(0), a.chunk(2, -1),
                                   m.tensor_split(a, 3, 1), a.narrow(1, 1, 2)),
                  [R(3, 4, 5)], 0),
    "resize": (lambda m, F, a: (F.interpolate(a, scale_factor=2),
                                F.interpolate(a, size=(3, 5), mode="bilinear"),
                                F.pixel_shuffle(a[:, :4], 2), F.adaptive_avg_pool2d(a, (2, 3))),
               [R(3, 1, 4, 6, 5)], 0),
}


@pytest.mark.parametrize("name", SHAPE)
def test_shape_ops(name):
    check(*SHAPE[name])


# -- indexing, gather, scatter, embedding ------------------------------------------------

def _set(a, key, v):
    a = a.clone()
    a[key] = v
    return a


INDEXING = {
    "basic": (lambda m, F, a: (a[0], a[:, 1], a[..., 1:3], a[None, 1], a[1, ::2], a[-1, ..., 0]),
              [R(3, 4, 5, 6)], 0),
    "advanced": (lambda m, F, a: (a[[0, 2]], a[:, [1, 0]], a[[0, 1], :, [1, 2]],
                                  a[0, [1, 2]], a[[0, 1], 1],
                                  a[:, m.tensor([True, False, True, True, False])]),
                 [R(3, 4, 5, 6)], 0),
    "batched index": (lambda m, F, a, i: (a[i], a[:, i], a[i, :, i], a[:, :, i], a[None, i],
                                          a[1, i], a[i, 1]),
                      [R(3, 4, 5, 6), I(4, 3, 2)], 0),
    "unbatched tensor, batched index": (lambda m, F, a, i: (a[i], a[:, i]),
                                        [R(4, 5), I(4, 3, 2)], (None, 0)),
    "setitem": (lambda m, F, a, v: (_set(a, (0, slice(1, 3)), v), _set(a, (slice(None), 1), 2.0),
                                    _set(a, ([0, 2], 1), v[0]), _set(a, 1, v[1])),
                [R(3, 4, 5), R(3, 2)], 0),
    "setitem unbatched value": (lambda m, F, a, v: _set(a, (1, [0, 3]), v),
                                [R(3, 4, 5), R(2)], (0, None)),
    "inplace": (lambda m, F, a, b: _inplace(a.clone(), b), [R(3, 4, 5), R(5)], (0, None)),
    "gather scatter": (lambda m, F, a, i, v: (a.gather(0, i), a.scatter(0, i, v),
                                              a.scatter_add(1, i, v), m.take(a, i),
                                              a.scatter(1, i, 2.5)),
                       [R(3, 4, 5), I(4, 3, 2, 3), R(3, 2, 3)], 0),
    "index family": (lambda m, F, a, i, s: (m.index_select(a, 1, i), a.index_copy(0, i, s),
                                           a.index_add(0, i, s, alpha=2.0),
                                           a.masked_fill(a > 0, 0.5)),
                     [R(3, 4, 5), np.array([[2, 0], [1, 3], [0, 1]]), R(3, 2, 5)], 0),
    "index_put": (lambda m, F, a, i, v: (a.index_put((i,), v, accumulate=True),
                                         a.index_put((i, i), v[:, 0])),
                  [R(3, 4, 5), I(4, 3, 6), R(3, 6, 5)], 0),
    "embedding": (lambda m, F, i, w: (F.embedding(i, w), F.embedding(i, w, padding_idx=1)),
                  [I(6, 3, 4), R(6, 5)], (0, None)),
    "embedding batched weight": (lambda m, F, i, w: F.embedding(i, w),
                                 [I(6, 3, 4), R(3, 6, 5)], 0),
}


def _inplace(a, b):
    a += b
    a.mul_(2).clamp_(-1, 1)
    a[0].zero_()
    return a


@pytest.mark.parametrize("name", INDEXING)
def test_indexing(name):
    check(*INDEXING[name])


def test_batched_mask_indexing_raises():
    with pytest.raises(RuntimeError, match="boolean mask"):
        ember.func.vmap(lambda a: a[a > 0])(ember.tensor(R(3, 4)))


# -- matrix products, convolution, pooling --------------------------------------------------

LINALG = {
    "matmul": (lambda m, F, a, b: (a @ b, a @ b[:, 0], a[0] @ b, a[0] @ b[:, 0],
                                   m.matmul(a[None], b)),
               [R(3, 4, 5), R(3, 5, 6)], 0),
    "matmul unbatched right": (lambda m, F, a, b: (a @ b, b.T @ a.T, a[0] @ b, a @ b[:, 0]),
                               [R(3, 4, 5), R(5, 4)], (0, None)),
    "matmul unbatched left": (lambda m, F, a, b: (a @ b, a[0] @ b, a @ b[:, 0], a @ b[None]),
                              [R(4, 5), R(3, 5, 6)], (None, 0)),
    "einsum": (lambda m, F, a, b: (m.einsum("ij,jk->ik", a, b), m.einsum("ij->j", a),
                                   m.einsum("ij,ij->", a, a), m.einsum("...j,jk", a, b)),
               [R(3, 4, 5), R(5, 6)], (0, None)),
    "linear": (lambda m, F, x, w, b: (F.linear(x, w, b), F.linear(x, w), F.linear(x[0], w, b),
                                      F.bilinear(x, x, w[:, :, None].expand(4, 5, 5)[:2])),
               [R(3, 2, 5), R(4, 5), R(4)], (0, None, None)),
    "linear batched weight": (lambda m, F, x, w, b: (F.linear(x, w, b), F.linear(x[0], w),
                                                     F.linear(x, w[0])),
                              [R(3, 2, 5), R(3, 4, 5), R(3, 4)], 0),
    "linear batched bias": (lambda m, F, x, w, b: F.linear(x, w, b),
                            [R(2, 5), R(4, 5), R(3, 4)], (None, None, 0)),
}


@pytest.mark.parametrize("name", LINALG)
def test_linalg(name):
    check(*LINALG[name])


CONV = {
    "conv2d": (lambda m, F, x, w, b: (F.conv2d(x, w, b, padding=1), F.conv2d(x[0], w, stride=2),
                                      F.conv2d(x, w[:3, :1], groups=3, dilation=2)),
               [R(3, 2, 3, 7, 6), R(4, 3, 3, 3), R(4)], (0, None, None)),
    "conv2d batched weight": (lambda m, F, x, w, b: (F.conv2d(x, w, b, stride=2, padding=1),
                                                     F.conv2d(x, w[:, :1], groups=3)),
                              [R(3, 2, 3, 6, 6), R(3, 6, 3, 3, 3), R(3, 6)], 0),
    "conv2d unbatched input": (lambda m, F, x, w: F.conv2d(x, w), [R(2, 3, 6, 6), R(3, 4, 3, 3, 3)],
                               (None, 0)),
    "conv2d batched bias": (lambda m, F, x, w, b: F.conv2d(x, w, b),
                            [R(3, 2, 3, 5, 5), R(4, 3, 3, 3), R(3, 4)], (0, None, 0)),
    "conv1d transposed": (lambda m, F, x, w: (F.conv1d(x, w, padding=1),
                                              F.conv_transpose1d(x, w.transpose(0, 1), stride=2)),
                          [R(3, 2, 4, 7), R(3, 5, 4, 3)], (0, 0)),
    "pooling": (lambda m, F, x: (F.max_pool2d(x, 2), F.max_pool2d(x, 3, 1, 1),
                                 F.avg_pool2d(x, 3, 1, 1), F.adaptive_max_pool2d(x, 3),
                                 F.max_pool1d(x[0], 2), F.avg_pool1d(x[0], 2)),
                [R(3, 2, 4, 6, 6)], 0),
    "unfold fold": (lambda m, F, x: (F.unfold(x, 2), F.fold(F.unfold(x, 2, stride=2), (6, 6), 2,
                                                            stride=2)),
                    [R(3, 2, 4, 6, 6)], 0),
    "unpool": (lambda m, F, x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2),
               [R(3, 2, 4, 6, 6)], 0),
}


@pytest.mark.parametrize("name", CONV)
def test_conv_and_pooling(name):
    check(*CONV[name])


# -- normalization, softmax losses --------------------------------------------------------

NN = {
    "layer_norm": (lambda m, F, x, w, b: (F.layer_norm(x, (5,), w, b), F.layer_norm(x, (4, 5)),
                                          F.rms_norm(x, (5,), w)),
                   [R(3, 4, 5), R(5), R(5)], (0, None, None)),
    "layer_norm batched weight": (lambda m, F, x, w: F.layer_norm(x, (5,), w),
                                  [R(3, 4, 5), R(3, 5)], 0),
    "group batch instance norm": (lambda m, F, x, w: (F.group_norm(x, 2, w), F.instance_norm(x),
                                                      F.batch_norm(x, None, None, w, None,
                                                                   training=True)),
                                  [R(3, 2, 4, 5), R(4)], (0, None)),
    "cross_entropy": (lambda m, F, x, t: (F.cross_entropy(x, t),
                                          F.cross_entropy(x, t, reduction="sum"),
                                          F.cross_entropy(x, t, reduction="none"),
                                          F.cross_entropy(x, t, ignore_index=1),
                                          F.cross_entropy(x[0], t[0]), F.nll_loss(x, t)),
                      [R(3, 4, 5), I(5, 3, 4)], 0),
    "cross_entropy spatial": (lambda m, F, x, t: F.cross_entropy(x, t),
                              [R(3, 2, 4, 3), I(4, 3, 2, 3)], 0),
    "cross_entropy unbatched logits": (lambda m, F, x, t: F.cross_entropy(x, t),
                                       [R(4, 5), I(5, 3, 4)], (None, 0)),
}


@pytest.mark.parametrize("name", NN)
def test_nn_ops(name):
    check(*NN[name])


def test_batch_norm_with_unbatched_running_stats_raises():
    rm, rv = ember.zeros(4), ember.ones(4)
    with pytest.raises(RuntimeError, match="running statistics"):
        ember.func.vmap(lambda x: ember.nn.functional.batch_norm(x, rm, rv, training=True))(
            ember.tensor(R(3, 2, 4)))


def test_nonzero_raises():
    with pytest.raises(RuntimeError, match="dynamic shape"):
        ember.func.vmap(lambda a: a.nonzero())(ember.tensor(R(3, 4)))


# -- per-example gradients: every family's backward through the rules ---------------------

def _mlp(m, F, x, w, b, t):
    return F.cross_entropy(F.linear(F.relu(F.linear(x, w, b)), w.T[:3]).unsqueeze(0),
                           t.unsqueeze(0))


GRADS = {
    "elementwise": (lambda m, F, x, y: (x.sin() * y + (x / (y.abs() + 1)) ** 2 - F.gelu(x)
                                        + m.where(x > 0, x, y).exp() + m.clamp(x, -0.5)).sum(),
                    [R(3, 4), R(4)], (0, None)),
    "reductions": (lambda m, F, x: (x.softmax(1) * x.log_softmax(0)).sum() + x.amax(0).sum()
                   + x.norm() + x.var(1).sum() + x.logsumexp(0).sum() + x.cumsum(1).sum(),
                   [R(3, 4, 5)], 0),
    "shape": (lambda m, F, x: (x.permute(1, 0).reshape(20) ** 2).sum()
              + (F.pad(x, (1, 2)) ** 3).sum() + x.diagonal().sum() ** 2 + x.flip(0)[0].sum()
              + (m.cat([x, x.roll(1, 0)]) ** 2).mean() + x.expand(2, 4, 5).sin().sum(),
              [R(3, 4, 5)], 0),
    "indexing": (lambda m, F, x, i: (x[i] ** 2).sum() + (x[1:3] * x[0]).sum()
                 + x.gather(0, i[:, None].expand(2, 5)).sin().sum()
                 + m.index_select(x, 0, i).exp().sum(),
                 [R(3, 4, 5), I(4, 3, 2)], 0),
    "matmul linear einsum": (lambda m, F, x, w: (F.linear(x, w).tanh() @ w).sum()
                             + m.einsum("ij,kj->ik", x, w).sin().sum() + (x[0] @ x[1]),
                             [R(3, 2, 5), R(4, 5)], (0, None)),
    "conv pool": (lambda m, F, x, w: (F.max_pool2d(F.conv2d(x[None], w, padding=1), 2) ** 2).sum()
                  + F.avg_pool2d(x[None], 2).sin().sum()
                  + F.conv_transpose2d(x[None], w.transpose(0, 1)).pow(2).mean()
                  + F.adaptive_max_pool2d(x[None], 3).sum() + F.unfold(x[None], 2).pow(2).sum(),
                  [R(3, 2, 6, 6), R(3, 2, 3, 3)], (0, None)),
    "norms": (lambda m, F, x, w: (F.layer_norm(x, (5,), w[0], w[1]) ** 3).sum()
              + (F.group_norm(x[None], 2) ** 3).sum() + F.rms_norm(x, (5,)).pow(3).sum(),
              [R(3, 4, 5), R(2, 5)], (0, None)),
    "losses": (lambda m, F, x, t: F.cross_entropy(x, t) + F.cross_entropy(x, t, reduction="sum")
               + F.mse_loss(x, x.detach() * 0.5)
               + F.binary_cross_entropy(x.sigmoid(), x.sigmoid().detach()),
               [R(3, 4, 5), I(5, 3, 4)], 0),
    "weight of an mlp": (lambda m, F, w, x, b, t: _mlp(m, F, x, w, b, t),
                         [R(6, 5), R(3, 5), R(6), I(3, 3)], (None, 0, None, 0)),
    "embedding weight": (lambda m, F, w, i: F.embedding(i, w).pow(2).sum(),
                         [R(6, 4), I(6, 3, 5)], (None, 0)),
    "conv weight": (lambda m, F, w, x: (F.conv2d(x[None], w, padding=1).tanh()).sum(),
                    [R(3, 2, 3, 3), R(4, 2, 5, 5)], (None, 0)),
}


@pytest.mark.parametrize("name", GRADS)
def test_per_example_grads(name):
    check(*GRADS[name], grad=True)


def test_lstm_gru_cells_per_example_grads():
    # torch's RNN cells do not run under its vmap; the oracle is a loop over examples
    ember.manual_seed(0)
    lstm, gru = ember.nn.LSTMCell(4, 3).double(), ember.nn.GRUCell(4, 3).double()

    def loss(scale, x):
        h, c = lstm(x[None] * scale)
        return (h ** 2).sum() + c.sum() + gru(x[None] * scale, h).pow(2).sum()
    w, xs = ember.tensor(1.5, dtype=ember.float64), ember.tensor(R(3, 4))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="vmap")
        ours = ember.func.vmap(ember.func.grad(loss), in_dims=(None, 0))(w, xs)
    ref = ember.stack([ember.func.grad(loss)(w, x) for x in xs])
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-10)


# -- the rule table --------------------------------------------------------------------------

#: ops that run per example on purpose (no batched formula worth having yet)
PER_EXAMPLE = {"median_all"}


def test_every_op_has_a_rule():
    missing = sorted(n for n in REGISTRY
                     if n not in RULES and n not in DECOMPOSITIONS and n not in PER_EXAMPLE)
    assert not missing, f"ops without a batching rule: {missing}"


def test_ops_with_hidden_outputs_can_record_per_example_backward():
    for name, op in REGISTRY.items():
        if op.hidden and op.differentiable:
            assert name in HIDDEN_BACKWARD or name in DECOMPOSITIONS, name
