"""BERT-style encoder and GPT-2-style decoder written once against ``m`` (``ember`` or
``torch``), so both frameworks run the same architecture for the transformer benchmarks.

- :func:`bert_encoder`: post-LN encoder like BERT / all-MiniLM-L6-v2 (word, position and
  token-type embeddings, LayerNorm eps 1e-12; separate query/key/value projections;
  exact-erf GELU). Its output is the last hidden state ``(batch, seq, hidden)``.
- :func:`gpt2`: pre-LN decoder like GPT-2 small (token and position embeddings; a fused
  ``c_attn`` projection; causal attention; tanh GELU; final LayerNorm; LM head tied to
  the token embedding, applied as ``F.linear(h, wte.weight)``). Its output is the logits
  ``(batch, seq, vocab)``.

Dropout is left out (probability 0): inference does not use it, and in a train step its
random masks would make the two frameworks compute different things. Attention runs
through ``F.scaled_dot_product_attention`` on both sides. :func:`twins` builds the PyTorch
model, then the Ember one with PyTorch's initial weights copied in.

>>> import ember
>>> model = gpt2(ember, TINY_GPT2)
>>> model(ember.zeros((1, 8), dtype=ember.int64)).shape
ember.Size([1, 8, 100])
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

__all__ = ["Config", "MINILM", "GPT2_SMALL", "TINY_BERT", "TINY_GPT2", "bert_encoder",
           "gpt2", "twins"]


@dataclass(frozen=True)
class Config:
    """Sizes of one model: ``hidden`` split over ``heads``, FFN width ``ffn``."""

    layers: int
    hidden: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int


MINILM = Config(layers=6, hidden=384, heads=12, ffn=1536, vocab=30522, max_positions=512)
GPT2_SMALL = Config(layers=12, hidden=768, heads=12, ffn=3072, vocab=50257,
                    max_positions=1024)
TINY_BERT = Config(layers=1, hidden=32, heads=4, ffn=64, vocab=100, max_positions=16)
TINY_GPT2 = Config(layers=1, hidden=32, heads=4, ffn=64, vocab=100, max_positions=16)


@functools.cache
def _classes(m: Any) -> SimpleNamespace:
    """The model classes subclassing ``m.nn.Module`` (built once per framework)."""
    nn, F = m.nn, m.nn.functional

    def heads(x: Any, n: int) -> Any:
        """(batch, seq, hidden) -> (batch, heads, seq, hidden / heads)."""
        b, t, d = x.shape
        return x.reshape(b, t, n, d // n).transpose(1, 2)

    def merge(x: Any) -> Any:
        b, n, t, d = x.shape
        return x.transpose(1, 2).reshape(b, t, n * d)

    class BertLayer(nn.Module):
        """Self-attention, then the FFN; each sublayer adds its input, then LayerNorm."""

        def __init__(self, c: Config) -> None:
            super().__init__()
            self.heads = c.heads
            self.query = nn.Linear(c.hidden, c.hidden)
            self.key = nn.Linear(c.hidden, c.hidden)
            self.value = nn.Linear(c.hidden, c.hidden)
            self.attn_out = nn.Linear(c.hidden, c.hidden)
            self.attn_norm = nn.LayerNorm(c.hidden, eps=1e-12)
            self.intermediate = nn.Linear(c.hidden, c.ffn)
            self.output = nn.Linear(c.ffn, c.hidden)
            self.out_norm = nn.LayerNorm(c.hidden, eps=1e-12)

        def forward(self, x: Any) -> Any:
            q, k, v = (heads(p(x), self.heads) for p in (self.query, self.key, self.value))
            a = merge(F.scaled_dot_product_attention(q, k, v))
            x = self.attn_norm(x + self.attn_out(a))
            return self.out_norm(x + self.output(F.gelu(self.intermediate(x))))

    class BertEncoder(nn.Module):
        """Embeddings (word + position + token type 0, LayerNorm), then the layers."""

        def __init__(self, c: Config) -> None:
            super().__init__()
            self.word = nn.Embedding(c.vocab, c.hidden)
            self.position = nn.Embedding(c.max_positions, c.hidden)
            self.token_type = nn.Embedding(2, c.hidden)
            self.norm = nn.LayerNorm(c.hidden, eps=1e-12)
            self.layers = nn.ModuleList([BertLayer(c) for _ in range(c.layers)])

        def forward(self, tokens: Any) -> Any:
            t = tokens.shape[1]
            x = self.word(tokens) + self.position.weight[:t] + self.token_type.weight[0]
            x = self.norm(x)
            for layer in self.layers:
                x = layer(x)
            return x

    class GPT2Block(nn.Module):
        """``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``; causal attention."""

        def __init__(self, c: Config) -> None:
            super().__init__()
            self.heads = c.heads
            self.ln_1 = nn.LayerNorm(c.hidden)
            self.c_attn = nn.Linear(c.hidden, 3 * c.hidden)
            self.attn_proj = nn.Linear(c.hidden, c.hidden)
            self.ln_2 = nn.LayerNorm(c.hidden)
            self.c_fc = nn.Linear(c.hidden, c.ffn)
            self.mlp_proj = nn.Linear(c.ffn, c.hidden)

        def forward(self, x: Any) -> Any:
            q, k, v = self.c_attn(self.ln_1(x)).split(x.shape[-1], dim=-1)
            q, k, v = (heads(p, self.heads) for p in (q, k, v))
            x = x + self.attn_proj(merge(F.scaled_dot_product_attention(q, k, v,
                                                                        is_causal=True)))
            h = F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")
            return x + self.mlp_proj(h)

    class GPT2(nn.Module):
        """Token + position embeddings, the blocks, ``ln_f``, the tied LM head."""

        def __init__(self, c: Config) -> None:
            super().__init__()
            self.wte = nn.Embedding(c.vocab, c.hidden)
            self.wpe = nn.Embedding(c.max_positions, c.hidden)
            self.blocks = nn.ModuleList([GPT2Block(c) for _ in range(c.layers)])
            self.ln_f = nn.LayerNorm(c.hidden)

        def forward(self, tokens: Any) -> Any:
            x = self.wte(tokens) + self.wpe.weight[:tokens.shape[1]]
            for block in self.blocks:
                x = block(x)
            return F.linear(self.ln_f(x), self.wte.weight)

    return SimpleNamespace(BertEncoder=BertEncoder, GPT2=GPT2)


def bert_encoder(m: Any, config: Config = MINILM) -> Any:
    """A BERT-style encoder (see the module doc) built with ``m``'s layers."""
    return _classes(m).BertEncoder(config)


def gpt2(m: Any, config: Config = GPT2_SMALL) -> Any:
    """A GPT-2-style decoder with a tied LM head (see the module doc)."""
    return _classes(m).GPT2(config)


def twins(kind: str, config: Config, em: Any, th: Any) -> tuple[Any, Any]:
    """``(ember model, torch model)`` of ``kind`` (``"bert"`` or ``"gpt2"``) holding the
    same weights, drawn (seeded) in PyTorch and copied into Ember."""
    from benchmarks.training import copy_state
    build = {"bert": bert_encoder, "gpt2": gpt2}[kind]
    th.manual_seed(0)
    th_model = build(th, config)
    with th.no_grad():      # BERT's and GPT-2's initialization: N(0, 0.02), zero biases
        for name, p in th_model.named_parameters():
            if p.ndim == 2:
                p.normal_(0.0, 0.02)
            elif name.endswith("bias"):
                p.zero_()
    em_model = build(em, config)
    copy_state(th_model, em_model, em)
    return em_model, th_model
