import numpy as np
import pytest
from hypothesis import given, strategies as st

import ember
import ember.nn.functional as EF
from conformance import arrays, check, noncontiguous, shapes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_constant_pad_and_crop(dtype, data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=3))
    k = data.draw(st.integers(1, len(shape)))
    pad = []
    for s in reversed(shape[len(shape) - k:]):
        before = data.draw(st.integers(-s, 2))
        pad += [before, data.draw(st.integers(-(s + min(before, 0)), 2))]
    x = arrays(data.draw, shape, dtype)
    value = data.draw(st.sampled_from([None, 1.5]))
    check(lambda m, x: m.nn.functional.pad(x, tuple(pad), value=value), x)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("k", [1, 2, 3])
@given(data=st.data())
def test_indexed_modes(mode, k, data):
    batched = data.draw(st.booleans())
    shape = (data.draw(st.integers(0, 2)),) if batched else ()
    shape += (data.draw(st.integers(1, 2)),)
    shape += tuple(data.draw(st.integers(2, 3)) for _ in range(k))
    limit = {"reflect": 1, "replicate": 3, "circular": 2}[mode]
    pad = ()
    for i in range(k):
        n = shape[-1 - i]
        top = min(limit, n - (mode == "reflect"))
        before = data.draw(st.integers(-1, top))
        after = data.draw(st.integers(max(-1, 1 - n - before), top))
        if mode == "circular":           # wrapping stays within what cropping leaves
            before, after = min(before, n + min(after, 0)), min(after, n + min(before, 0))
        pad += (before, after)
    x = noncontiguous(arrays(data.draw, shape, np.float64))
    check(lambda m, x: m.nn.functional.pad(x, pad, mode=mode), x)


def test_pad_float32_and_integer_inputs():
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    for mode in ("reflect", "replicate", "circular"):
        check(lambda m, x: m.nn.functional.pad(x, (2, 1), mode=mode), x)
    check(lambda m, x: m.nn.functional.pad(x, (1, 1), value=2.5), np.arange(3), grad=False)
    check(lambda m, x: m.nn.functional.pad(x, (1, 0, 0, 2), mode="replicate"),
          np.arange(6).reshape(1, 2, 3), grad=False)


def test_pad_errors():
    x = ember.randn(1, 2, 3)
    with pytest.raises(RuntimeError, match="divisible by 2"):
        EF.pad(x, (1,))
    with pytest.raises(RuntimeError, match="padding length 8 and input of dimension 3"):
        EF.pad(x, (1,) * 8)
    with pytest.raises(RuntimeError, match="pad.*crops more than"):
        EF.pad(x, (-2, -2))
    with pytest.raises(RuntimeError, match="should be less than.*reflect.*\\(3, 0\\)"):
        EF.pad(x, (3, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        EF.pad(x, (4, 0), mode="circular")
    with pytest.raises(RuntimeError, match="wrapping around.*2 entries left"):
        EF.pad(x, (3, -1), mode="circular")
    with pytest.raises(NotImplementedError, match="padding size 6.*3D"):
        EF.pad(x, (1,) * 6, mode="reflect")
    with pytest.raises(NotImplementedError, match="padding size 2.*1D"):
        EF.pad(ember.randn(3), (1, 1), mode="replicate")
    with pytest.raises(NotImplementedError, match="unrecognised padding mode 'foo'"):
        EF.pad(x, (1, 1), mode="foo")
    with pytest.raises(RuntimeError, match="doesn't take in value"):
        EF.pad(x, (1, 1), mode="reflect", value=1.0)
    with pytest.raises(RuntimeError, match="non-zero dimensions"):
        EF.pad(ember.randn(2, 0), (1, 1), mode="replicate")
    with pytest.raises(RuntimeError, match="too small.*calculated output size 0"):
        EF.pad(ember.randn(1, 2), (-1, -1), mode="replicate")
    with pytest.raises(TypeError, match="element of type float"):
        EF.pad(x, (1.5, 1))
