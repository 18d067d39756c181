"""Fused gate math of one LSTM or GRU time step (what follows the two matrix products).

Composed of single ops, one LSTM step is about ten ops, each a Python dispatch and a graph
node; fused, it is one. Forward keeps the gate activations as hidden outputs; backward
applies the hand-written vector-Jacobian product to them with one array op. Under
``create_graph=True`` backward instead recomputes the activations from the inputs with
Ember ops and applies the same product with Ember ops, so second derivatives are exact.
Each formula is written once, for arrays and tensors alike (``_lstm_acts``, ``_lstm_vjp``,
...): only ``sig``, ``tanh`` and ``cat`` differ between the two.
"""
from __future__ import annotations

from typing import Any, Callable

from ember.autograd.grad_mode import state as _grad_state
from ember.ops.joining import cat
from ember.ops.math import _sigmoid, sigmoid, tanh
from ember.ops.registry import Op, register
from ember.tensor import Tensor

__all__ = ["fused_lstm_cell", "fused_gru_cell"]


def _tensor_math() -> tuple[Callable, Callable, Callable]:
    return sigmoid, tanh, lambda parts: cat(parts, -1)


def _array_math(xp: Any) -> tuple[Callable, Callable, Callable]:
    return (lambda a: _sigmoid(xp, a), xp.tanh,
            lambda parts: xp.concatenate(parts, axis=-1))


def _lstm_acts(sig: Callable, tanh_: Callable, gates: Any, c: Any) -> tuple:
    """Gate activations in torch's order (i, f, g, o), the new cell and its tanh."""
    n = c.shape[-1]
    i, f = sig(gates[..., :n]), sig(gates[..., n:2 * n])
    g, o = tanh_(gates[..., 2 * n:3 * n]), sig(gates[..., 3 * n:])
    c_new = f * c + i * g
    return i, f, g, o, tanh_(c_new), c_new


def _lstm_vjp(cat_: Callable, acts: tuple, c: Any, gh: Any, gc: Any) -> tuple:
    i, f, g, o, tc = acts[:5]
    dc = gc + gh * o * (1 - tc * tc)
    dgates = cat_([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
                   gh * tc * o * (1 - o)])
    return dgates, dc * f


def _gru_acts(sig: Callable, tanh_: Callable, gi: Any, gh: Any, h: Any) -> tuple:
    """``r``, ``z``, ``n`` (torch's formula ``n = tanh(i_n + r * h_n)``) and the new h."""
    m = h.shape[-1]
    r = sig(gi[..., :m] + gh[..., :m])
    z = sig(gi[..., m:2 * m] + gh[..., m:2 * m])
    n = tanh_(gi[..., 2 * m:] + r * gh[..., 2 * m:])
    return r, z, n, n + z * (h - n)


def _gru_vjp(cat_: Callable, acts: tuple, gh: Any, h: Any, g: Any) -> tuple:
    r, z, n = acts[:3]
    m = h.shape[-1]
    dn = g * (1 - z) * (1 - n * n)
    dr = dn * gh[..., 2 * m:] * r * (1 - r)
    dz = g * (h - n) * z * (1 - z)
    return cat_([dr, dz, dn]), cat_([dr, dz, dn * r]), g * z


class FusedLstmCell(Op):
    """``(gates, c) -> (h, c')`` with ``gates = x W_ih^T + h W_hh^T + biases`` of shape
    ``(..., 4H)`` in torch's gate order (i, f, g, o)."""

    hidden = 5          # i, f, g, o, tanh(c')

    def forward(self, xp: Any, gates: Any, c: Any) -> Any:
        i, f, g, o, tc, c_new = _lstm_acts(*_array_math(xp)[:2], gates, c)
        return o * tc, c_new, i, f, g, o, tc

    def backward(self, ctx: Any, gh: Tensor, gc: Tensor) -> tuple:
        gates, c = ctx.inputs
        if _grad_state.enabled:
            acts = _lstm_acts(sigmoid, tanh, gates, c)
            return _lstm_vjp(_tensor_math()[2], acts, c, gh, gc)
        return _lstm_backward(gh, gc, c, *ctx.saved)


class FusedGruCell(Op):
    """``(gi, gh, h) -> h'`` with ``gi = x W_ih^T + b_ih`` and ``gh = h W_hh^T + b_hh`` of
    shape ``(..., 3H)`` in torch's gate order (r, z, n)."""

    hidden = 3          # r, z, n

    def forward(self, xp: Any, gi: Any, gh: Any, h: Any) -> Any:
        r, z, n, h_new = _gru_acts(*_array_math(xp)[:2], gi, gh, h)
        return h_new, r, z, n

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        gi, gh, h = ctx.inputs
        if _grad_state.enabled:
            acts = _gru_acts(sigmoid, tanh, gi, gh, h)
            return _gru_vjp(_tensor_math()[2], acts, gh, h, g)
        return _gru_backward(g, gh, h, *ctx.saved)


class _FusedBackward(Op):
    """The array form of a fused cell's vector-Jacobian product, used where no graph of
    the backward is recorded (it is never differentiated)."""

    differentiable = False

    def __init__(self, name: str, vjp: Callable, order: Callable) -> None:
        self.name = name
        self._vjp, self._order = vjp, order
        super().__init__()

    def forward(self, xp: Any, *arrays: Any) -> Any:
        return self._vjp(_array_math(xp)[2], *self._order(arrays))


# argument orders: (gh, gc, c, *acts) for the LSTM, (g, gh, h, *acts) for the GRU
_lstm_backward = register(_FusedBackward(
    "fused_lstm_cell_backward", _lstm_vjp, lambda a: (a[3:], a[2], a[0], a[1])))
_gru_backward = register(_FusedBackward(
    "fused_gru_cell_backward", _gru_vjp, lambda a: (a[3:], a[1], a[2], a[0])))

fused_lstm_cell = register(FusedLstmCell())
fused_gru_cell = register(FusedGruCell())
