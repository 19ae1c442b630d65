"""LSTM classifier: embedded sequence -> LSTM -> linear readout of the last hidden state."""

from __future__ import annotations

import torch
from torch import nn

from repro.models.init import scale_parameters
from repro.models.inputs import TokenInput


class LSTMClassifier(nn.Module):
    """n_outputs overrides the number of outputs: 1 for a single logit read by the bce loss
    (Grokfast's IMDb model: Linear(hidden, 1) and a sigmoid on the last step). init_scale
    multiplies every parameter after the default init (repro.models.init)."""

    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        n_classes: int,
        onehot: bool = False,
        hidden: int = 20,
        n_layers: int = 1,
        d_embed: int = 128,
        n_outputs: int | None = None,
        init_scale: float = 1.0,
    ):
        super().__init__()
        self.embed = TokenInput(vocab_size, d_embed, onehot)
        self.lstm = nn.LSTM(d_embed, hidden, num_layers=n_layers, batch_first=True)
        self.readout = nn.Linear(hidden, n_outputs or n_classes)
        scale_parameters(self, init_scale)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(self.embed(inputs))
        return self.readout(outputs[:, -1])
