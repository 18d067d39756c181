"""ember.GradientTape, TensorFlow style, checked against torch's gradients."""
import numpy as np
import pytest
import torch

import ember
from conformance import assert_close


def test_watch_constant_and_restore_requires_grad():
    x = ember.tensor(3.0)
    with ember.GradientTape() as tape:
        tape.watch(x)
        assert x.requires_grad
        y = x * x
    assert not x.requires_grad                        # restored on exit
    assert tape.gradient(y, x).item() == 6.0
    assert x.grad is None                             # nothing accumulated


def test_second_gradient_call_on_non_persistent_raises():
    x = ember.tensor(2.0)
    with ember.GradientTape() as tape:
        tape.watch(x)
        y = x ** 3
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(y, x)


def test_persistent_tape_several_gradients():
    x = ember.tensor([1.0, 2.0])
    with ember.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    assert tape.gradient(z, x).tolist() == [4.0, 32.0]
    assert tape.gradient(y, x).tolist() == [2.0, 4.0]
    assert tape.gradient(z, y).tolist() == [2.0, 8.0]     # w.r.t. an intermediate


def test_variables_requiring_grad_are_watched_automatically():
    w = ember.tensor([1.0, -1.0], requires_grad=True)
    b = ember.tensor(0.5, requires_grad=True)
    unused = ember.tensor(1.0, requires_grad=True)
    with ember.GradientTape() as tape:
        y = ((w * 3).exp() + b).sum()
    assert [id(v) for v in tape.watched_variables()] == [id(w), id(b)]
    gw, gb, gu = tape.gradient(y, [w, b, unused])
    tw = torch.tensor([1.0, -1.0], requires_grad=True)
    ((tw * 3).exp() + 0.5).sum().backward()
    assert_close(gw, tw.grad)
    assert gb.item() == 2.0 and gu is None
    assert w.grad is None


def test_watch_accessed_variables_false():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    x = ember.tensor([3.0, 4.0])
    with ember.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = (w * x).sum()
    assert [id(v) for v in tape.watched_variables()] == [id(x)]
    gx, gw = tape.gradient(y, [x, w])
    assert gx.tolist() == [1.0, 2.0] and gw is None


def test_source_structures_and_unconnected_zero():
    a, b, c = ember.tensor([1.0, 2.0]), ember.tensor(3.0), ember.tensor([5.0])
    with ember.GradientTape(persistent=True) as tape:
        tape.watch([a, b, c])
        y = (a * b).sum()
    g = tape.gradient(y, {"a": a, "pair": (b, c)})
    assert set(g) == {"a", "pair"} and isinstance(g["pair"], tuple)
    assert g["a"].tolist() == [3.0, 3.0] and g["pair"][0].item() == 3.0
    assert g["pair"][1] is None
    z = tape.gradient(y, [c], unconnected_gradients="zero")
    assert isinstance(z, list) and z[0].tolist() == [0.0]
    z = tape.gradient(y, c, unconnected_gradients=ember.autograd.UnconnectedGradients.ZERO)
    assert z.tolist() == [0.0]
    assert tape.gradient(y, a).tolist() == [3.0, 3.0]
    with pytest.raises(ValueError, match="unconnected_gradients"):
        tape.gradient(y, a, unconnected_gradients="bogus")


def test_output_gradients_and_non_scalar_target():
    x = ember.tensor([1.0, 2.0, 3.0])
    with ember.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    assert tape.gradient(y, x).tolist() == [2.0, 4.0, 6.0]          # sum of y
    og = ember.tensor([1.0, 0.0, -1.0])
    assert tape.gradient(y, x, output_gradients=og).tolist() == [2.0, 0.0, -6.0]
    assert tape.gradient([y, y.sum()], x).tolist() == [4.0, 8.0, 12.0]


def test_nested_tapes_second_derivative():
    x = ember.tensor(1.5)
    with ember.GradientTape() as outer:
        outer.watch(x)
        with ember.GradientTape() as inner:
            inner.watch(x)
            y = x.exp() * x ** 3
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    tx = torch.tensor(1.5, requires_grad=True)
    (tdy,) = torch.autograd.grad(tx.exp() * tx ** 3, tx, create_graph=True)
    (td2y,) = torch.autograd.grad(tdy, tx)
    assert_close(dy.detach(), tdy.detach())
    assert_close(d2y, td2y)


def test_stop_recording_and_reset():
    x = ember.tensor(2.0)
    with ember.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        with tape.stop_recording():
            z = x * 10
        assert not z.requires_grad
        tape.reset()
        assert tape.watched_variables() == () and not x.requires_grad
        tape.watch(x)
        w = x * 3
    assert tape.gradient(w, x).item() == 3.0
    assert tape.gradient(z, x) is None
    with pytest.raises(RuntimeError, match="not recording"):
        with tape.stop_recording():
            pass


def test_tape_enables_grad_inside_no_grad():
    x = ember.tensor(2.0)
    with ember.no_grad():
        with ember.GradientTape() as tape:
            tape.watch(x)
            y = x * x
        assert not ember.is_grad_enabled()
    assert tape.gradient(y, x).item() == 4.0


def test_int_watch_warns_and_gives_none():
    i = ember.tensor([1, 2])
    x = ember.tensor([1.0, 2.0])
    with ember.GradientTape() as tape:
        with pytest.warns(UserWarning, match="floating"):
            tape.watch(i)
        tape.watch(x)
        y = (x * i).sum()
    gi, gx = tape.gradient(y, [i, x])
    assert gi is None and gx.tolist() == [1.0, 2.0]


def test_jacobian_vs_torch():
    a = np.array([0.5, -1.0, 2.0])
    w = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    x = ember.tensor(a)
    W = ember.tensor(w)
    with ember.GradientTape() as tape:
        tape.watch(x)
        y = (W @ x).exp()
    j = tape.jacobian(y, x)
    tj = torch.autograd.functional.jacobian(lambda t: (torch.tensor(w) @ t).exp(),
                                            torch.tensor(a))
    assert_close(j, tj)


def test_gradient_for_custom_function_and_params():
    class Double(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = ember.tensor([1.0, 2.0])
    with ember.GradientTape() as tape:
        tape.watch(x)
        y = Double.apply(x).sum()
    assert tape.gradient(y, x).tolist() == [2.0, 2.0]


def test_exported_names():
    assert ember.GradientTape is ember.autograd.GradientTape
