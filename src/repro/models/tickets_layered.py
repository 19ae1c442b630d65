"""A plain feed-forward ReLU network of given widths, for the two extra tasks of Grokking Tickets
Fig 2d-e (float feature inputs: polynomial regression, sparse parity).

- Polynomial regression: the official `transfer` branch's OnlyMLP_Polynominal, d -> d -> 48 ->
  500 -> 1 (its "embed" d x d, "inproj" to d_model 48, "outproj" to d_emb 500, "unembed" to one
  output), ReLU after every layer but the last, no biases: widths [40, 48, 500].
- Sparse parity: the one-hidden-layer ReLU network of Barak et al. 2022 / Merrill et al. 2023,
  n -> 1000 -> 2, with biases (their nn.Linear layers): widths [1000], bias true.

Weights are drawn from N(0, (weight_scale / sqrt(fan_in))^2) as every tickets model (the
official MLP class); biases start at 0. Layers are `layers.<i>.weight`, in order: the pruning
code ranks every matrix and the figures read them as consecutive layers.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class TicketsLayeredMLP(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        n_classes: int,
        onehot: bool = True,
        widths: tuple[int, ...] = (48,),
        bias: bool = False,
        weight_scale: float = 1.0,
    ):
        super().__init__()
        if not onehot:
            raise ValueError("tickets_layered_mlp reads float feature vectors, not tokens")
        sizes = [vocab_size * seq_len, *widths, n_classes]
        self.layers = nn.ModuleList(
            nn.Linear(fan_in, fan_out, bias=bias)
            for fan_in, fan_out in zip(sizes, sizes[1:], strict=False)
        )
        for layer in self.layers:
            nn.init.normal_(layer.weight, std=weight_scale / math.sqrt(layer.in_features))
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs.flatten(1)
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)
