"""no_grad / enable_grad / set_grad_enabled / inference_mode as context managers and
decorators."""
import pytest

import ember


def _records():
    return (ember.ones(1, requires_grad=True) * 2).requires_grad


def test_no_grad_context_and_nesting():
    assert ember.is_grad_enabled()
    with ember.no_grad():
        assert not ember.is_grad_enabled() and not _records()
        with ember.enable_grad():
            assert ember.is_grad_enabled() and _records()
        assert not _records()
    assert ember.is_grad_enabled() and _records()


def test_decorators_with_and_without_call():
    @ember.no_grad()
    def a():
        return _records()

    @ember.no_grad
    def b():
        return _records()

    @ember.enable_grad
    def c():
        return _records()

    @ember.inference_mode()
    def d():
        return _records(), ember.autograd.is_inference_mode_enabled()

    @ember.set_grad_enabled(False)
    def e():
        return _records()

    assert a.__name__ == "a" and not a() and not b() and not e()
    assert ember.is_grad_enabled()                # decorating did not flip the flag
    with ember.no_grad():
        assert c()
    assert d() == (False, True) and not ember.autograd.is_inference_mode_enabled()


def test_set_grad_enabled_function_and_context():
    ember.set_grad_enabled(False)
    try:
        assert not _records()
    finally:
        ember.set_grad_enabled(True)
    with ember.set_grad_enabled(False):
        assert not _records()
    assert _records()
    with ember.no_grad():
        with ember.set_grad_enabled(True):
            assert _records()
        assert not _records()


def test_inference_mode_and_false():
    with ember.inference_mode():
        assert not _records() and ember.autograd.is_inference_mode_enabled()
    with ember.inference_mode(False):
        assert _records()
    assert not ember.autograd.is_inference_mode_enabled()


def test_flag_restored_after_exception():
    with pytest.raises(ValueError):
        with ember.no_grad():
            raise ValueError("boom")
    assert ember.is_grad_enabled()

    @ember.no_grad
    def bad():
        raise ValueError("boom")
    with pytest.raises(ValueError):
        bad()
    assert ember.is_grad_enabled()


def test_no_grad_results_are_leaves():
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        y = x * 2
    assert y.is_leaf and not y.requires_grad and y.grad_fn is None
    with ember.no_grad():
        x.mul_(2)                                  # in-place on a leaf is fine here
    assert x.tolist() == [2.0, 2.0]


def test_grad_mode_is_per_thread():
    import threading
    seen = []
    with ember.no_grad():
        t = threading.Thread(target=lambda: seen.append(ember.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]
