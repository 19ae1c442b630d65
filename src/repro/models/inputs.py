"""Input layers shared by the models: token ids or one-hot vectors -> vectors per position."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


def activation_layer(name: str) -> nn.Module:
    return ACTIVATIONS[name]()


class TokenInput(nn.Module):
    """Embeds int64 tokens (batch, seq) with a lookup table, or float one-hot inputs
    (batch, seq * vocab) with a bias-free linear map: the same function of a one-hot vector."""

    def __init__(self, vocab_size: int, d_model: int, onehot: bool):
        super().__init__()
        self.vocab_size, self.onehot = vocab_size, onehot
        if onehot:
            self.weight = nn.Linear(vocab_size, d_model, bias=False)
        else:
            self.weight = nn.Embedding(vocab_size, d_model)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.onehot:
            return self.weight(inputs.view(inputs.shape[0], -1, self.vocab_size))
        return self.weight(inputs)
