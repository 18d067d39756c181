import numpy as np
import pytest
from hypothesis import given, strategies as st

import ember
from conformance import arrays, check, noncontiguous

MODES = {3: ["nearest", "nearest-exact", "linear", "area"],
         4: ["nearest", "nearest-exact", "bilinear", "bicubic", "area"],
         5: ["nearest", "nearest-exact", "trilinear"]}
SMOOTH = ("linear", "bilinear", "trilinear", "bicubic")


@st.composite
def resize_config(draw):
    nd = draw(st.sampled_from([3, 4, 4, 5]))
    mode = draw(st.sampled_from(MODES[nd]))
    spatial = tuple(draw(st.integers(1, 4)) for _ in range(nd - 2))
    shape = (1, draw(st.integers(1, 2))) + spatial
    kw = {"mode": mode}
    if mode in SMOOTH:
        kw["align_corners"] = draw(st.sampled_from([None, False, True]))
    if draw(st.booleans()):
        size = tuple(draw(st.integers(1, 5)) for _ in spatial)
        kw["size"] = size if len(size) > 1 or draw(st.booleans()) else size[0]
    else:
        scales = tuple(draw(st.sampled_from([0.5, 0.75, 1.0, 1.5, 1.7, 2.0, 3.0]))
                       for _ in spatial)
        scales = tuple(max(s, 1.0 / n) for s, n in zip(scales, spatial))   # output >= 1
        kw["scale_factor"] = scales if draw(st.booleans()) else min(scales)
        if isinstance(kw["scale_factor"], float):
            kw["scale_factor"] = max(kw["scale_factor"], 1.0 / min(spatial))
        kw["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    return shape, kw


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_interpolate(dtype, data):
    shape, kw = data.draw(resize_config())
    x = arrays(data.draw, shape, dtype)
    check(lambda m, x: m.nn.functional.interpolate(x, **kw), x)


@pytest.mark.parametrize("mode,ac", [("nearest", None), ("nearest-exact", None),
                                     ("bilinear", False), ("bilinear", True),
                                     ("bicubic", False), ("bicubic", True), ("area", None)])
@pytest.mark.parametrize("kw", [dict(size=(7, 13)), dict(scale_factor=2),
                                dict(scale_factor=(0.45, 1.3)), dict(size=(3, 11)),
                                dict(scale_factor=1.3, recompute_scale_factor=True)])
def test_interpolate_float32_feature_maps(mode, ac, kw):
    x = noncontiguous(np.random.default_rng(0).standard_normal((2, 3, 9, 10))
                      .astype(np.float32))
    check(lambda m, x: m.nn.functional.interpolate(x, mode=mode, align_corners=ac, **kw), x)


def test_upsample_alias_warns():
    x = np.random.default_rng(1).standard_normal((1, 2, 3, 3))
    with pytest.warns(UserWarning, match="deprecated"):
        check(lambda m, x: m.nn.functional.upsample(x, scale_factor=2, mode="bilinear",
                                                    align_corners=True), x, gradgrad=False)


@given(data=st.data())
def test_pixel_shuffle_roundtrip(data):
    r = data.draw(st.integers(1, 3))
    lead = tuple(data.draw(st.integers(1, 2)) for _ in range(data.draw(st.integers(0, 2))))
    c, h, w = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)), \
        data.draw(st.integers(1, 2))
    x = arrays(data.draw, lead + (c * r * r, h, w), np.float64)
    check(lambda m, x: m.nn.functional.pixel_shuffle(x, r), x)
    check(lambda m, x: m.pixel_unshuffle(x, r), x.reshape(lead + (c, h * r, w * r)))


def _t(*shape):
    return ember.zeros(*shape)


@pytest.mark.parametrize("call,exc,match", [
    (lambda F: F.interpolate(_t(1, 2, 5, 5), 3, 2.0), ValueError, "only one of size"),
    (lambda F: F.interpolate(_t(1, 2, 5, 5)), ValueError, "either size or scale_factor"),
    (lambda F: F.interpolate(_t(1, 2, 5, 5), 3, mode="linear"), NotImplementedError,
     "4D input, but linear mode needs 3D"),
    (lambda F: F.interpolate(_t(1, 2, 5), 3, mode="bicubic"), NotImplementedError,
     "bicubic mode needs 4D"),
    (lambda F: F.interpolate(_t(1, 2, 5, 5), 3, align_corners=True), ValueError,
     "align_corners option can only be set"),
    (lambda F: F.interpolate(_t(1, 2, 5, 5), (3, 3, 3)), ValueError,
     r"same number of spatial dimensions.*\[5, 5\].*\(3, 3, 3\)"),
    (lambda F: F.interpolate(_t(1, 2, 5, 5), scale_factor=(2.0, 2.0, 2.0)), ValueError,
     r"scale_factor must have the same number"),
    (lambda F: F.interpolate(_t(1, 2, 5, 5), 3, recompute_scale_factor=True), ValueError,
     "recompute_scale_factor is not meaningful"),
    (lambda F: F.interpolate(_t(1, 2, 5, 5), 3, mode="lanczos2"), NotImplementedError,
     "got lanczos2"),
    (lambda F: F.interpolate(_t(2, 3), 3), NotImplementedError, r"got 2D"),
    (lambda F: F.interpolate(_t(1, 2, 5, 5), scale_factor=0.1), RuntimeError,
     "sizes should be greater than 0"),
    (lambda F: F.interpolate(_t(1, 2, 5, 5), 3, mode="bilinear", antialias=True),
     NotImplementedError, "antialias"),
    (lambda F: F.pixel_shuffle(_t(1, 4, 5, 5), 3), RuntimeError,
     r"pixel_shuffle.*input.size\(-3\)=4 is not divisible by 9"),
    (lambda F: F.pixel_shuffle(_t(4, 4), 2), RuntimeError, "at least 3 dimensions"),
    (lambda F: F.pixel_unshuffle(_t(1, 4, 5, 4), 2), RuntimeError,
     r"pixel_unshuffle.*height.*input.size\(-2\)=5"),
    (lambda F: F.pixel_unshuffle(_t(1, 4, 4, 5), 2), RuntimeError, r"width.*size\(-1\)=5"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call(ember.nn.functional)
