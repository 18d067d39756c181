"""RNN, LSTM, GRU: multi-layer, optionally bidirectional recurrent layers (PyTorch's API).

The input projection of a whole sequence is one matrix product per layer and direction;
only the hidden projection and the gate math run per time step (see ``rnn_cells``).
PackedSequence inputs are not supported.
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any

import ember
from ember.nn import functional as F
from ember.nn.modules.module import Module
from ember.nn.modules.rnn_cells import (KINDS, GRUCell, LSTMCell, RNNCell, RNNCellBase,
                                        State, StepWeights, project_input, uniform_init)
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_NAMES = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "LSTM": "LSTM", "GRU": "GRU"}


def _scan(step: Any, gi: Tensor, state: State, w: StepWeights, reverse: bool
          ) -> tuple[Tensor, State]:
    """Run ``step`` over the time steps of ``gi`` (``(T, N, gates)``); return the stacked
    outputs ``(T, N, H)`` in time order and the final state."""
    xs = gi.unbind(0)
    outs: list = [None] * len(xs)
    for t in (reversed(range(len(xs))) if reverse else range(len(xs))):
        state = step(xs[t], state, w)
        outs[t] = state[0]
    return ember.stack(outs), state


def _check_args(input_size: Any, hidden_size: Any, num_layers: int, bias: Any,
                batch_first: Any, dropout: Any, proj_size: int) -> None:
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) \
            or not 0 <= dropout <= 1:
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                      "non-zero dropout expects num_layers greater than 1, but got "
                      f"dropout={dropout} and num_layers={num_layers}", stacklevel=4)
    for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                              ("input_size", input_size, int),
                              ("hidden_size", hidden_size, int)):
        if not isinstance(value, kind):
            raise TypeError(f"{name} should be of type {kind.__name__}, got: "
                            f"{type(value).__name__}")
        if kind is int and value <= 0:
            raise ValueError(f"{name} must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable "
                         "projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters named as in PyTorch (``weight_ih_l{k}``,
    ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}``, each with
    ``_reverse`` for the backward direction), their init, shape checks and the layer loop.

    ``mode`` is ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if mode not in KINDS:
            raise ValueError("Unrecognized RNN mode: " + mode)
        _check_args(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                    proj_size)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gates = KINDS[mode].gates * hidden_size
        out_size = proj_size or hidden_size
        dirs = 2 if bidirectional else 1
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else out_size * dirs
            for suffix in ("", "_reverse")[:dirs]:
                shapes = {"weight_ih": (gates, in_size), "weight_hh": (gates, out_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for base, shape in shapes.items():
                    names.append(f"{base}_l{layer}{suffix}")
                    setattr(self, names[-1],
                            Parameter(ember.empty(*shape, dtype=dtype, device=device)))
                self._all_weights.append(names)
        self._flat_weights_names = [n for names in self._all_weights for n in names]
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch."""
        uniform_init(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """A no-op kept for PyTorch compatibility (cuDNN weight packing has no analogue)."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters grouped per layer and direction, in PyTorch's order."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        shown = (("proj_size", self.proj_size != 0), ("num_layers", self.num_layers != 1),
                 ("bias", self.bias is not True), ("batch_first", self.batch_first is not False),
                 ("dropout", self.dropout != 0), ("bidirectional", self.bidirectional is not False))
        return f"{self.input_size}, {self.hidden_size}" + "".join(
            f", {name}={getattr(self, name)}" for name, show in shown if show)

    def _direction_weights(self, k: int) -> tuple:
        layer, suffix = divmod(k, 2 if self.bidirectional else 1)
        tag = f"_l{layer}{'_reverse' if suffix else ''}"
        return tuple(getattr(self, p + tag, None)
                     for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))

    def _prepare(self, input: Tensor, hx: Any) -> tuple[Tensor, State | None, bool]:
        """Check ``input`` and ``hx`` like PyTorch; return the time-major batched input,
        the batched initial states (or None) and whether the input was batched."""
        name, lstm = _NAMES[self.mode], self.mode == "LSTM"
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D "
                             f"{'' if lstm or name == 'GRU' else 'tensor '}instead")
        batched = input.dim() == 3
        states = None if hx is None else ((hx[0], hx[1]) if lstm else (hx,))
        if states is not None and any(s.dim() != input.dim() for s in states):
            dims = ", ".join(f"{s.dim()}-D" for s in states)
            what, got = ("hx and cx", f"({dims}) tensors") if lstm else ("hx", f"{dims} tensor")
            raise RuntimeError(f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, "
                               f"{what} should also be {input.dim()}-D but got {got}")
        if not batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
            states = None if states is None else tuple(s.unsqueeze(1) for s in states)
        w_dtype = self.weight_ih_l0.dtype
        if input.dtype != w_dtype:
            raise ValueError(f"{name} input dtype ({input.dtype}) does not match weight dtype "
                             f"({w_dtype}). Convert input: input.to({w_dtype}), or convert "
                             f"model: model.to({input.dtype})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        x = input.transpose(0, 1) if self.batch_first else input
        if x.shape[0] == 0:
            raise RuntimeError(f"Expected sequence length to be larger than 0 in {name}")
        if states is not None:
            lead = (self.num_layers * (2 if self.bidirectional else 1), x.shape[1])
            sizes = (self.proj_size or self.hidden_size, self.hidden_size)
            for k, s in enumerate(states):
                expected = lead + (sizes[k],)
                if tuple(s.shape) != expected:
                    which = f"hidden[{k}] size" if lstm else "hidden size"
                    raise RuntimeError(f"Expected {which} {expected}, got {list(s.shape)}")
                if s.dtype != input.dtype:
                    raise RuntimeError(f"{name}: hidden state dtype {s.dtype} does not match "
                                       f"input dtype {input.dtype}")
        return x, states, batched

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Any]:
        """``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``); ``output`` is ``(T, N, D*H)``
        (``(N, T, D*H)`` with ``batch_first``), ``h_n`` is ``(D*num_layers, N, H)``; the
        batch dimension is absent for unbatched 2-D input."""
        x, states, batched = self._prepare(input, hx)
        kind = KINDS[self.mode]
        dirs = 2 if self.bidirectional else 1
        n_layers = self.num_layers * dirs
        if states is None:
            sizes = (self.proj_size or self.hidden_size, self.hidden_size)
            states = tuple(ember.zeros(n_layers, x.shape[1], sizes[k], dtype=x.dtype,
                                       device=x.device)
                           for k in range(2 if self.mode == "LSTM" else 1))
        initial = [s.unbind(0) for s in states]
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                w_ih, w_hh, b_ih, b_hh, w_hr = self._direction_weights(k)
                gi = project_input(kind, x, w_ih, b_ih, b_hh)
                w = StepWeights(w_hh, None if kind.fold_b_hh else b_hh, w_hr)
                out, final = _scan(kind.step, gi, tuple(s[k] for s in initial), w, d == 1)
                outs.append(out)
                finals.append(final)
            x = outs[0] if dirs == 1 else ember.cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        output = x.transpose(0, 1) if self.batch_first else x
        h_n = [ember.stack([f[j] for f in finals]) for j in range(len(states))]
        if not batched:
            output = output.squeeze(0 if self.batch_first else 1)
            h_n = [h.squeeze(1) for h in h_n]
        return output, (tuple(h_n) if self.mode == "LSTM" else h_n[0])


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(x_t @ W_ih^T + b_ih + h_{t-1} @ W_hh^T + b_hh)``, act
    ``"tanh"`` or ``"relu"``; stacked ``num_layers`` deep, optionally bidirectional.

    >>> out, h = ember.nn.RNN(3, 4, num_layers=2)(ember.randn(5, 2, 3))
    >>> out.shape, h.shape
    (ember.Size([5, 2, 4]), ember.Size([2, 2, 4]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if nonlinearity not in modes:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        super().__init__(modes[nonlinearity], input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """LSTM with PyTorch's gates (i, f, g, o) and optional output projection
    (``proj_size``: ``h_t = W_hr (o * tanh(c_t))``). ``hx`` is a tuple ``(h_0, c_0)``.

    >>> out, (h, c) = ember.nn.LSTM(3, 4, batch_first=True)(ember.randn(2, 5, 3))
    >>> out.shape, h.shape, c.shape
    (ember.Size([2, 5, 4]), ember.Size([1, 2, 4]), ember.Size([1, 2, 4]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """GRU with PyTorch's gates (r, z, n): ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
    ``h' = (1 - z) * n + z * h``.

    >>> out, h = ember.nn.GRU(3, 4, bidirectional=True)(ember.randn(5, 3))
    >>> out.shape, h.shape
    (ember.Size([5, 8]), ember.Size([2, 4]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)
