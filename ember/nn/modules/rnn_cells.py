"""RNNCell, LSTMCell, GRUCell, and the one-time-step math that they share with RNN/LSTM/GRU.

A recurrent step is split in two so that the layers can do the input half for every time
step at once: ``project_input`` computes ``x @ W_ih^T + b`` (one matrix product for the
whole sequence), and a *step* function adds the hidden half ``h @ W_hh^T`` and applies
the gate math for one time step: ``tanh``/``relu`` for RNN, one fused op for LSTM and GRU
(``ember.ops.recurrent``), so a time step costs two or three graph nodes.
"""
from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import ember
from ember.nn import functional as F, init
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.ops.recurrent import fused_gru_cell, fused_lstm_cell
from ember.tensor import Tensor

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

State = tuple  # (h,) or, for LSTM, (h, c)


class StepWeights(NamedTuple):
    """The per-step weights of one layer and direction."""

    w_hh: Tensor
    b_hh: Tensor | None     # None where it was folded into the input projection
    w_hr: Tensor | None     # LSTM projection (proj_size > 0)


def _rnn_step(act: Callable[[Tensor], Tensor]) -> Callable[..., State]:
    def step(gi: Tensor, state: State, w: StepWeights) -> State:
        return (act(F.linear(state[0], w.w_hh, gi)),)
    return step


def _lstm_step(gi: Tensor, state: State, w: StepWeights) -> State:
    h, c = fused_lstm_cell(F.linear(state[0], w.w_hh, gi), state[1])
    return (h if w.w_hr is None else F.linear(h, w.w_hr)), c


def _gru_step(gi: Tensor, state: State, w: StepWeights) -> State:
    h = state[0]
    return (fused_gru_cell(gi, F.linear(h, w.w_hh, w.b_hh), h),)


class Kind(NamedTuple):
    """What differs between the recurrent families: gate count and one step's math."""

    gates: int
    fold_b_hh: bool     # b_hh may be added to the input projection once for all steps
    step: Callable[[Tensor, State, StepWeights], State]


KINDS = {
    "RNN_TANH": Kind(1, True, _rnn_step(ember.tanh)),
    "RNN_RELU": Kind(1, True, _rnn_step(ember.relu)),
    "LSTM": Kind(4, True, _lstm_step),
    "GRU": Kind(3, False, _gru_step),
}


def project_input(kind: Kind, x: Tensor, w_ih: Tensor, b_ih: Tensor | None,
                  b_hh: Tensor | None) -> Tensor:
    """``x @ W_ih^T + b_ih`` (plus ``b_hh`` where the family allows folding it in)."""
    if kind.fold_b_hh and b_hh is not None:
        b_ih = b_ih + b_hh
    return F.linear(x, w_ih, b_ih)


def uniform_init(module: Module, hidden_size: int) -> None:
    """PyTorch's recurrent init: every parameter ~ U(-1/sqrt(hidden), 1/sqrt(hidden))."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


class RNNCellBase(Module):
    """Shared parameters (``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``), init,
    repr and input checks of the three cells."""

    _kind_name = ""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gates = num_chunks * hidden_size
        self.weight_ih = Parameter(ember.empty(gates, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(ember.empty(gates, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(ember.empty(gates, dtype=dtype, device=device))
            self.bias_hh = Parameter(ember.empty(gates, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        uniform_init(self, self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _run(self, input: Tensor, hx: Any) -> State:
        """Check the input and states (``hx``: a tensor, a tuple for LSTMCell, or None),
        run one step and return the new states, unbatched again where the input was 1-D."""
        name = type(self).__name__
        n_states = 2 if self._kind_name == "LSTM" else 1
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             f"instead")
        states = None if hx is None else ((hx,) if n_states == 1 else tuple(hx))
        for k, s in enumerate(states or ()):
            if s.dim() not in (1, 2):
                what = "hidden" if n_states == 1 else f"hx[{k}]"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {s.dim()}D "
                                 f"instead")
            if s.dim() != input.dim():
                raise RuntimeError(f"{name}: hidden state {k} is {s.dim()}-D but the input is "
                                   f"{input.dim()}-D; they must both be batched or unbatched")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if x.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {x.shape[1]} "
                               f"expected {self.input_size}")
        if states is None:
            zeros = ember.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
            states = (zeros,) * n_states
        elif not batched:
            states = tuple(s.unsqueeze(0) for s in states)
        for k, s in enumerate(states):
            if s.shape[0] != x.shape[0]:
                raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden{k} "
                                   f"batch size {s.shape[0]}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got "
                                   f"{s.shape[1]}, expected {self.hidden_size}")
        kind = KINDS[self._kind_name]
        gi = project_input(kind, x, self.weight_ih, self.bias_ih, self.bias_hh)
        out = kind.step(gi, states, StepWeights(self.weight_hh,
                                                None if kind.fold_b_hh else self.bias_hh,
                                                None))
        return out if batched else tuple(s.squeeze(0) for s in out)


class RNNCell(RNNCellBase):
    """One Elman step: ``h' = act(x @ W_ih^T + b_ih + h @ W_hh^T + b_hh)``, act tanh or relu.

    >>> cell = ember.nn.RNNCell(3, 4)
    >>> cell(ember.randn(2, 3)).shape
    ember.Size([2, 4])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    @property
    def _kind_name(self) -> str:
        return "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """The next hidden state, ``(batch, hidden_size)`` or ``(hidden_size,)``."""
        return self._run(input, hx)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step with torch's gates (i, f, g, o); returns ``(h', c')``.

    >>> h, c = ember.nn.LSTMCell(3, 4)(ember.randn(2, 3))
    >>> h.shape, c.shape
    (ember.Size([2, 4]), ember.Size([2, 4]))
    """

    _kind_name = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor]:
        """The next ``(h, c)``, each ``(batch, hidden_size)`` or ``(hidden_size,)``."""
        return self._run(input, hx)


class GRUCell(RNNCellBase):
    """One GRU step with torch's gates (r, z, n) and ``n = tanh(W_in x + b_in + r * (W_hn h
    + b_hn))``; ``h' = (1 - z) * n + z * h``.

    >>> ember.nn.GRUCell(3, 4)(ember.randn(2, 3)).shape
    ember.Size([2, 4])
    """

    _kind_name = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """The next hidden state, ``(batch, hidden_size)`` or ``(hidden_size,)``."""
        return self._run(input, hx)[0]
