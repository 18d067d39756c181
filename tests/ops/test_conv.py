import numpy as np
import pytest
from hypothesis import given, strategies as st

import ember

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.")
from conformance import arrays, check, noncontiguous


def fn(m, name):
    return getattr(m.nn.functional, name)


@st.composite
def conv_config(draw, nd=2, transposed=False):
    """A small valid convolution: shapes of input / weight / bias and the keyword args."""
    groups = draw(st.sampled_from([1, 1, 2]))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    n = draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    dil = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    kw = {"stride": stride, "dilation": dil, "groups": groups}
    if transposed:
        pad = tuple(draw(st.integers(0, 1)) for _ in range(nd))
        kw["padding"] = pad
        kw["output_padding"] = tuple(draw(st.integers(0, max(s, d) - 1))
                                     for s, d in zip(stride, dil))
        sizes = tuple(draw(st.integers(1, 3)) for _ in range(nd))
        # the output must be positive: (n-1)*s - 2p + d(k-1) + op + 1 >= 1
        if any((m - 1) * s - 2 * p + d * (kk - 1) + 1 < 1
               for m, s, p, d, kk in zip(sizes, stride, pad, dil, k)):
            kw["padding"] = (0,) * nd
        x = (n, og * groups) + sizes
        w = (og * groups, cg) + k
        b = (cg * groups,)
    else:
        mode = draw(st.sampled_from(["int", "int", "tuple", "same", "valid"]))
        if mode == "same":
            kw["stride"] = 1
            kw["padding"] = "same"
            pad = tuple(d * (kk - 1) for kk, d in zip(k, dil))
        elif mode == "valid":
            kw["padding"] = "valid"
            pad = (0,) * nd
        else:
            p = tuple(draw(st.integers(0, 1)) for _ in range(nd))
            kw["padding"] = p if mode == "tuple" else p[0]
            pad = tuple(2 * q for q in p) if mode == "tuple" else (2 * p[0],) * nd
        ek = tuple(d * (kk - 1) + 1 for kk, d in zip(k, dil))
        sizes = tuple(max(1, e - q) + draw(st.integers(0, 2)) for e, q in zip(ek, pad))
        x = (n, cg * groups) + sizes
        w = (og * groups, cg) + k
        b = (og * groups,)
    return x, w, (b if draw(st.booleans()) else None), kw


def _run(name, data, dtype, nd=2, transposed=False):
    xs, ws, bs, kw = data.draw(conv_config(nd, transposed))
    x = arrays(data.draw, xs, dtype)
    w = arrays(data.draw, ws, dtype)
    args = (x, w) if bs is None else (x, w, arrays(data.draw, bs, dtype))
    check(lambda m, *a: fn(m, name)(*a, **kw), *args)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_conv2d(dtype, data):
    _run("conv2d", data, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_conv_transpose2d(dtype, data):
    _run("conv_transpose2d", data, dtype, transposed=True)


@given(data=st.data())
def test_conv1d_and_transpose1d(data):
    _run("conv1d", data, np.float64, nd=1)
    _run("conv_transpose1d", data, np.float64, nd=1, transposed=True)


def test_depthwise_and_multiplier_groups_float64():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 3, 4, 4))
    for w_shape, kw in [((3, 1, 2, 2), dict(groups=3, padding=1, stride=2)),
                        ((6, 1, 2, 2), dict(groups=3, dilation=2)),
                        ((3, 1, 3, 3), dict(groups=3, padding="same"))]:
        w = rng.standard_normal(w_shape)
        b = rng.standard_normal(w_shape[0])
        check(lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, **kw), x, w, b)
    w = rng.standard_normal((3, 1, 3, 2))
    check(lambda m, x, w: m.nn.functional.conv_transpose2d(x, w, groups=3, stride=2,
                                                           output_padding=1), x, w)


def test_unbatched_noncontiguous_and_same_even_kernel():
    rng = np.random.default_rng(2)
    x = noncontiguous(rng.standard_normal((2, 5, 4)))
    w = rng.standard_normal((3, 2, 2, 3))
    check(lambda m, x, w: m.nn.functional.conv2d(x, w, padding="same", dilation=(1, 2)), x, w)
    check(lambda m, x, w: m.conv2d(x, w, stride=(2, 1)), x, w, gradgrad=False)
    wt = rng.standard_normal((2, 3, 2, 2))
    check(lambda m, x, w: m.conv_transpose2d(x, w, stride=2), x, wt, gradgrad=False)
    x1 = rng.standard_normal((2, 5))
    check(lambda m, x, w: m.conv1d(x, w, padding="same"), x1, rng.standard_normal((3, 2, 4)))


def test_size_zero_batch_and_channels():
    check(lambda m, x, w: m.nn.functional.conv2d(x, w, padding=1),
          np.ones((0, 2, 3, 3), np.float32), np.ones((4, 2, 3, 3), np.float32))
    # zero input channels: torch returns a (2, 0, 2, 2) tensor; the sum over no
    # channels is 0, so Ember gives the bias at every pixel
    y = ember.nn.functional.conv2d(_t(2, 0, 3, 3), _t(4, 0, 2, 2), ember.arange(4.0))
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(
        np.arange(4.0, dtype=np.float32)[:, None, None], (2, 4, 2, 2)))


def test_integer_conv_matches_torch():
    x = np.arange(32).reshape(1, 2, 4, 4).astype(np.int64)
    w = np.arange(-4, 4).reshape(2, 1, 2, 2).astype(np.int64)
    check(lambda m, x, w: m.nn.functional.conv2d(x, w, groups=2, stride=2), x, w)
    check(lambda m, x, w: m.nn.functional.conv2d(x, w.reshape(1, 2, 2, 2)), x, w)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), dilation=(1, 2),
                                                          padding=1, stride=(2, 1))])
def test_unfold_fold(kw):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 4, 5))
    check(lambda m, x: m.nn.functional.unfold(x, **kw), x)
    check(lambda m, x: m.nn.functional.unfold(x, **kw), x[0])
    cols = fn(ember, "unfold")(ember.from_numpy(x), **kw)
    c = rng.standard_normal(tuple(cols.shape))
    check(lambda m, c: m.nn.functional.fold(c, (4, 5), **kw), c)
    check(lambda m, c: m.nn.functional.fold(c, (4, 5), **kw), c[1])


# -- CNN layer shapes (float32, forward and backward against torch) ---------------------

LAYERS = [  # (input, weight, kwargs)
    ((8, 1, 28, 28), (6, 1, 5, 5), dict(padding=2)),          # LeNet-5 conv1
    ((8, 6, 14, 14), (16, 6, 5, 5), dict()),                  # LeNet-5 conv2
    ((2, 3, 64, 64), (64, 3, 7, 7), dict(stride=2, padding=3)),   # ResNet-18 stem (small)
    ((2, 64, 16, 16), (64, 64, 3, 3), dict(padding=1)),       # layer1 block
    ((2, 64, 16, 16), (128, 64, 3, 3), dict(stride=2, padding=1)),  # layer2 downsample
    ((2, 64, 16, 16), (128, 64, 1, 1), dict(stride=2)),       # 1x1 shortcut
    ((2, 256, 4, 4), (512, 256, 3, 3), dict(stride=2, padding=1)),  # layer4
    ((2, 32, 16, 16), (32, 1, 3, 3), dict(padding=1, groups=32)),  # MobileNet depthwise
]


@pytest.mark.parametrize("xs,ws,kw", LAYERS)
def test_cnn_layer_shapes_float32(xs, ws, kw):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(xs).astype(np.float32)
    w = (rng.standard_normal(ws) / np.sqrt(np.prod(ws[1:]))).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    check(lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, **kw), x, w, b,
          rtol=1e-4, atol=1e-4)


def test_conv_transpose_decoder_shape_float32():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 64, 8, 8)).astype(np.float32)
    w = (rng.standard_normal((64, 32, 4, 4)) / 32).astype(np.float32)
    check(lambda m, x, w: m.nn.functional.conv_transpose2d(x, w, stride=2, padding=1), x, w,
          atol=1e-4)


def test_grad_fn_and_double_backward_through_weight():
    x = ember.randn(1, 2, 4, 4, dtype=ember.float64, requires_grad=True)
    w = ember.randn(3, 2, 2, 2, dtype=ember.float64, requires_grad=True)
    y = fn(ember, "conv2d")(x, w, stride=2)
    assert y.requires_grad and y.grad_fn is not None
    assert ember.autograd.gradgradcheck(lambda a, b: fn(ember, "conv2d")(a, b, stride=2,
                                                                       padding=1), (x, w))


def _second_order(m, x, w, b, kw):
    """Gradients of a loss built from conv2d's first-order gradients (create_graph)."""
    y = m.nn.functional.conv2d(x, w, b, **kw)
    gx, gw = m.autograd.grad((y * y).sum(), (x, w), create_graph=True)
    ((gx * gx).sum() + (gw * gw.sin()).sum()).backward()
    return y, gx, gw


@pytest.mark.parametrize("keep", [True, False])
@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, dilation=(1, 2)),
                                dict(groups=2, padding=(0, 1))])
def test_cached_and_rebuilt_columns_match_torch(monkeypatch, keep, kw):
    """The forward's kept columns (``keep``) and columns rebuilt in the backward give the
    same first- and second-order gradients as torch."""
    from ember.ops import conv
    import torch
    if not keep:
        monkeypatch.setattr(conv, "KEEP_COLS_BYTES", -1)
    rng = np.random.default_rng(6)
    xs, ws = rng.standard_normal((3, 4, 5, 6)), rng.standard_normal((4, 4 // kw.get(
        "groups", 1), 3, 2))
    bs = rng.standard_normal(4)
    res = {}
    for m in (ember, torch):
        ts = [m.from_numpy(a.copy()).requires_grad_() for a in (xs, ws, bs)]
        outs = _second_order(m, *ts, kw)
        res[m] = [t.detach().numpy() for t in outs] + [t.grad.numpy() for t in ts]
    for e, t in zip(res[ember], res[torch]):
        np.testing.assert_allclose(e, t, rtol=1e-9, atol=1e-9)


def test_conv_weight_with_given_columns_equals_rebuilt():
    from ember.ops import conv
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 6, 5)).astype(np.float32)
    g = rng.standard_normal((2, 6, 3, 5)).astype(np.float32)
    geom = dict(stride=(2, 1), pad=(1, 1, 1, 1), dilation=(1, 1), groups=2)
    cols = conv._cols_of(np, x, (3, 3), (3, 5), geom["stride"], geom["pad"],
                         geom["dilation"], geom["groups"])
    given = conv._conv_w.forward(np, x, g, cols, ksize=(3, 3), **geom)
    rebuilt = conv._conv_w.forward(np, x, g, None, ksize=(3, 3), **geom)
    np.testing.assert_array_equal(given, rebuilt)
    y = conv._conv.forward(np, x, rng.standard_normal((6, 2, 3, 3)).astype(np.float32),
                           None, out=(3, 5), **geom)
    np.testing.assert_array_equal(y[1], cols)           # the hidden output is the columns


def test_batch_transposes_of_aliasing_sizes():
    """Inputs whose rows are a multiple of 1 KiB apart take the staged transpose."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((16, 4, 8, 8)).astype(np.float32)
    w = (rng.standard_normal((4, 4, 3, 3)) / 6).astype(np.float32)
    check(lambda m, x, w: m.nn.functional.conv2d(x, w, padding=1), x, w, atol=1e-5)


def test_kept_columns_stay_within_the_budget(monkeypatch):
    """Convolutions keep their columns while the kept bytes fit ``KEEP_COLS_BYTES``, the
    later ones rebuild theirs; the count drops back as the graph frees them, and the
    gradients are those of keeping everything."""
    from ember.ops import conv
    rng = np.random.default_rng(9)
    xs = rng.standard_normal((2, 4, 6, 6))
    ws = [rng.standard_normal((4, 4, 3, 3)) / 6 for _ in range(3)]
    one = 4 * 9 * 6 * 6 * 2 * 8                   # float64 columns of each convolution
    grads = {}
    for budget in (3 * one, one):
        start = conv._kept.nbytes                       # other tests' graphs still alive
        monkeypatch.setattr(conv, "KEEP_COLS_BYTES", start + budget)
        x = ember.from_numpy(xs.copy()).requires_grad_()
        w = [ember.from_numpy(a.copy()).requires_grad_() for a in ws]
        ys = [x]
        for wi in w:
            ys.append(ember.nn.functional.conv2d(ys[-1], wi, padding=1))
        kept = [y.grad_fn.saved[0] is not None for y in ys[1:]]
        assert kept == ([True] * 3 if budget == 3 * one else [True, False, False])
        assert conv._kept.nbytes == start + sum(kept) * one
        (ys[-1] * ys[-1]).sum().backward()
        assert conv._kept.nbytes == start               # released by the backward
        grads[budget] = [t.grad.numpy() for t in [x] + w]
        del ys
    for a, b in zip(grads[3 * one], grads[one]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_kept_columns_of_a_graph_dropped_unused_are_uncounted(monkeypatch):
    from ember.ops import conv
    start = conv._kept.nbytes
    monkeypatch.setattr(conv, "KEEP_COLS_BYTES", start + (1 << 20))
    x = ember.randn(2, 3, 5, 5, requires_grad=True)
    y = ember.nn.functional.conv2d(x, ember.randn(4, 3, 3, 3), padding=1)
    assert conv._kept.nbytes > start
    del y
    assert conv._kept.nbytes == start


# -- errors ---------------------------------------------------------------------------

def _t(*shape, dtype=ember.float32):
    return ember.zeros(*shape, dtype=dtype)


@pytest.mark.parametrize("call,exc,match", [
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(2, 4, 3)), RuntimeError, r"conv2d.*weight.*4-dim"),
    (lambda F: F.conv2d(_t(4, 5), _t(2, 4, 3, 3)), RuntimeError, r"conv2d.*3D.*4D.*\[4, 5\]"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(2, 3, 3, 3)), RuntimeError,
     r"conv2d.*groups=1.*\[2, 3, 3, 3\].*3 channels.*got 4"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(3, 2, 3, 3), groups=2), RuntimeError,
     r"conv2d.*divisible by 2"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(2, 4, 7, 7)), RuntimeError,
     r"conv2d.*\(5 x 5\).*\(7 x 7\).*greater"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(2, 4, 3, 3), dilation=3), RuntimeError,
     r"Kernel size can't be greater"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(2, 4, 3, 3), stride=0), RuntimeError,
     "non-positive stride"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(2, 4, 3, 3), dilation=0), RuntimeError,
     "dilation should be greater than zero"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(2, 4, 3, 3), groups=0), RuntimeError,
     "non-positive groups"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(2, 4, 3, 3), padding="same", stride=2),
     RuntimeError, "same.*strided"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(2, 4, 3, 3), padding="full"), RuntimeError,
     "Invalid padding string"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(2, 4, 3, 3), padding=-1), RuntimeError,
     "negative padding"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(2, 4, 3, 3), stride=(1, 2, 3)), RuntimeError,
     r"stride.*list of 2 values"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(2, 4, 3, 3, dtype=ember.float64)), RuntimeError,
     r"conv2d.*same dtype"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(2, 4, 3, 3), _t(3)), RuntimeError,
     r"bias.*2 elements.*\[3\]"),
    (lambda F: F.conv2d(_t(1, 4, 5, 5), _t(0, 4, 3, 3)), RuntimeError, "at least 1"),
    (lambda F: F.conv1d(_t(1, 4, 5, 5), _t(2, 4, 3)), RuntimeError, r"conv1d.*2D.*3D"),
    (lambda F: F.conv_transpose2d(_t(1, 4, 5, 5), _t(4, 2, 3, 3), stride=2, output_padding=2),
     RuntimeError, "output padding must be smaller"),
    (lambda F: F.conv_transpose2d(_t(1, 4, 5, 5), _t(3, 2, 3, 3)), RuntimeError,
     r"conv_transpose2d.*transposed=1.*to have 3 channels, but got 4"),
    (lambda F: F.conv_transpose2d(_t(1, 4, 5, 5), _t(4, 2, 3, 3), padding="same"), TypeError,
     "padding"),
    (lambda F: F.conv_transpose2d(_t(1, 4, 1, 1), _t(4, 2, 1, 1), padding=1), RuntimeError,
     "too small"),
    (lambda F: F.unfold(_t(1, 4, 5, 5), 7), RuntimeError, r"unfold.*sliding blocks"),
    (lambda F: F.unfold(_t(4, 5), 2), RuntimeError, r"unfold.*3D or 4D"),
    (lambda F: F.unfold(_t(1, 4, 5, 5), 0), RuntimeError, r"unfold.*greater than zero"),
    (lambda F: F.fold(_t(1, 12, 5), (4, 4), 2), RuntimeError,
     r"fold.*3 \* 3 = 9.*input.size\(2\)=5"),
    (lambda F: F.fold(_t(1, 13, 9), (4, 4), 2), RuntimeError, r"fold.*divisible.*13"),
    (lambda F: F.fold(_t(12, 9, 1, 1), (4, 4), 2), RuntimeError, r"fold.*2D or 3D"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call(ember.nn.functional)
