"""Multi-layer perceptron on the concatenated inputs (Exploring Grokking: 2 layers of 512)."""

from __future__ import annotations

import torch
from torch import nn

from repro.models.init import scale_parameters
from repro.models.inputs import TokenInput, activation_layer


class MLP(nn.Module):
    """One-hot inputs go straight into the first layer; tokens are embedded (d_embed each)
    and concatenated first. Float feature vectors (MNIST pixels) count as one-hot inputs.
    init_scale multiplies every parameter after the default init (repro.models.init)."""

    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        n_classes: int,
        onehot: bool = False,
        hidden: int = 512,
        n_layers: int = 2,
        d_embed: int = 128,
        activation: str = "relu",
        init_scale: float = 1.0,
    ):
        super().__init__()
        self.embed = None if onehot else TokenInput(vocab_size, d_embed, onehot=False)
        width = seq_len * (vocab_size if onehot else d_embed)
        layers: list[nn.Module] = []
        for _ in range(n_layers):
            layers += [nn.Linear(width, hidden), activation_layer(activation)]
            width = hidden
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)
        scale_parameters(self, init_scale)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs if self.embed is None else self.embed(inputs).flatten(1)
        return self.layers(x)
