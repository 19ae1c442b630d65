"""Decoder-only transformer for algorithmic tasks (Power et al. 2022: 2 layers, width 128, 4 heads).

The loss is taken at the last position only (the answer), so the last block computes queries,
the attention output, the MLP and the unembedding for that position alone: keys and values still
come from every position, so logits and gradients are exactly those of the full model
(1.6-1.8x faster on CPU, see shared/perf-notes.md).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from repro.models.inputs import TokenInput, activation_layer


class Block(nn.Module):
    """Pre-LN attention + MLP block with causal attention."""

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_mlp: int,
        layer_norm: bool,
        activation: str,
        dropout: float,
    ):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.ln_attention = nn.LayerNorm(d_model) if layer_norm else nn.Identity()
        self.query = nn.Linear(d_model, d_model)
        self.key_value = nn.Linear(d_model, 2 * d_model)
        self.attention_out = nn.Linear(d_model, d_model)
        self.ln_mlp = nn.LayerNorm(d_model) if layer_norm else nn.Identity()
        self.mlp = nn.Sequential(
            nn.Linear(d_model, d_mlp), activation_layer(activation), nn.Linear(d_mlp, d_model)
        )
        self.dropout = nn.Dropout(dropout)  # residual dropout (Power et al.'s ablation)

    def attention(self, h_query: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Queries from h_query (the last positions of h) attend causally to all of h."""
        n, t, d = h.shape
        t_query = h_query.shape[1]
        head = d // self.n_heads
        q = self.query(h_query).view(n, t_query, self.n_heads, head).transpose(1, 2)
        k, v = self.key_value(h).view(n, t, 2, self.n_heads, head).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(head)  # (n, heads, t_query, t)
        query_position = torch.arange(t - t_query, t, device=h.device)[:, None]
        future = torch.arange(t, device=h.device)[None, :] > query_position
        scores = scores.masked_fill(future, float("-inf"))
        mixed = scores.softmax(dim=-1) @ v  # (n, heads, t_query, head)
        return mixed.transpose(1, 2).reshape(n, t_query, d)

    def forward(self, x: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        h = self.ln_attention(x)
        if last_only:
            x, h_query = x[:, -1:], h[:, -1:]
        else:
            h_query = h
        x = x + self.dropout(self.attention_out(self.attention(h_query, h)))
        return x + self.dropout(self.mlp(self.ln_mlp(x)))


class Transformer(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        n_classes: int,
        onehot: bool = False,
        n_layers: int = 2,
        d_model: int = 128,
        n_heads: int = 4,
        d_mlp: int = 512,
        layer_norm: bool = True,
        activation: str = "relu",
        dropout: float = 0.0,
    ):
        super().__init__()
        self.embed = TokenInput(vocab_size, d_model, onehot)
        self.position = nn.Parameter(torch.randn(seq_len, d_model) / math.sqrt(d_model))
        self.blocks = nn.ModuleList(
            Block(d_model, n_heads, d_mlp, layer_norm, activation, dropout) for _ in range(n_layers)
        )
        self.ln_final = nn.LayerNorm(d_model) if layer_norm else nn.Identity()
        self.unembed = nn.Linear(d_model, n_classes, bias=False)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits at the last position, shape (batch, n_classes)."""
        x = self.embed(inputs)
        x = x + self.position[: x.shape[1]]
        for index, block in enumerate(self.blocks):
            x = block(x, last_only=index == len(self.blocks) - 1)
        return self.unembed(self.ln_final(x[:, -1]))
