"""Anomaly detection names the op whose backward first produced NaN and shows where the
user called it."""
import pytest

import ember

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")     # 0/0 in sqrt's backward


def test_detect_anomaly_names_op_and_user_line():
    x = ember.zeros(2, requires_grad=True)
    with ember.autograd.detect_anomaly():
        assert ember.autograd.is_anomaly_enabled()
        y = x.sqrt()  # FORWARD-LINE-MARKER
        z = (y * 0).sum()
        with pytest.raises(RuntimeError) as info:
            z.backward()
    msg = str(info.value)
    assert "SqrtBackward0" in msg and "nan" in msg
    assert "FORWARD-LINE-MARKER" in msg and "test_anomaly.py" in msg
    assert not ember.autograd.is_anomaly_enabled()


def test_set_detect_anomaly_function_and_context():
    ember.autograd.set_detect_anomaly(True)
    try:
        assert ember.autograd.is_anomaly_enabled()
    finally:
        ember.autograd.set_detect_anomaly(False)
    assert not ember.autograd.is_anomaly_enabled()
    with ember.autograd.set_detect_anomaly(True):
        assert ember.autograd.is_anomaly_enabled()
    assert not ember.autograd.is_anomaly_enabled()


def test_without_anomaly_nan_passes_silently():
    x = ember.zeros(2, requires_grad=True)
    (x.sqrt() * 0).sum().backward()
    assert all(v != v for v in x.grad.tolist())


def test_anomaly_in_custom_function():
    class Bad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * float("inf")

    x = ember.ones(2, requires_grad=True)
    with ember.autograd.detect_anomaly():
        y = Bad.apply(x)  # CUSTOM-MARKER
        with pytest.raises(RuntimeError, match="BadBackward") as info:
            y.sum().backward()
    assert "CUSTOM-MARKER" in str(info.value)
