"""A small Transformer-encoder sequence classifier (for instance sentiment of token ids).

>>> model = TransformerClassifier(vocab_size=100)
>>> model(ember.randint(1, 100, (4, 12))).shape
ember.Size([4, 2])
"""
from __future__ import annotations

import ember
from ember import nn
from ember.tensor import Tensor

__all__ = ["TransformerClassifier"]


class TransformerClassifier(nn.Module):
    """Token embedding plus a learned position embedding, a post-norm
    ``nn.TransformerEncoder`` (``batch_first=True``, ReLU feed-forward), the mean of the
    encoder outputs over non-padding tokens, and a linear head.

    Input: ``(N, S)`` integer token ids with ``S <= max_len``; tokens equal to
    ``padding_idx`` are masked out of attention (``src_key_padding_mask``) and of the mean,
    and their embedding row gets no gradient. Every sequence needs at least one non-padding
    token (otherwise attention has nothing to attend to and gives NaN, as in PyTorch).
    ``padding_idx=None`` means no padding. Output: ``(N, num_classes)`` logits.

    Parameters: ``embedding.weight`` (vocab_size, d_model), ``pos_embedding.weight``
    (max_len, d_model), ``encoder.layers.{i}.*`` (``nn.TransformerEncoderLayer``'s names),
    ``fc.weight`` / ``fc.bias``.

    >>> model = TransformerClassifier(vocab_size=50, d_model=16, nhead=2, num_layers=1)
    >>> model(ember.tensor([[5, 7, 9, 0, 0]])).shape
    ember.Size([1, 2])
    """

    def __init__(self, vocab_size: int, d_model: int = 64, nhead: int = 4, num_layers: int = 2,
                 dim_feedforward: int = 128, num_classes: int = 2, max_len: int = 512,
                 dropout: float = 0.1, padding_idx: int | None = 0) -> None:
        super().__init__()
        self.padding_idx = padding_idx
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        self.pos_embedding = nn.Embedding(max_len, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.fc = nn.Linear(d_model, num_classes)

    def forward(self, tokens: Tensor) -> Tensor:
        if tokens.ndim != 2:
            raise ValueError(f"TransformerClassifier: expected (N, S) token ids, got shape "
                             f"{list(tokens.shape)}")
        n_pos = self.pos_embedding.num_embeddings
        if tokens.shape[1] > n_pos:
            raise ValueError(f"TransformerClassifier: sequence length {tokens.shape[1]} "
                             f"exceeds max_len={n_pos}")
        positions = ember.arange(tokens.shape[1], device=tokens.device)
        x = self.embedding(tokens) + self.pos_embedding(positions)
        if self.padding_idx is None:
            return self.fc(self.encoder(x).mean(1))
        pad = tokens == self.padding_idx
        x = self.encoder(x, src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).to(x.dtype)
        return self.fc((x * keep).sum(1) / keep.sum(1).clamp(min=1))
