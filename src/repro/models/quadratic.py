"""The bias-free two-layer quadratic network of "Why Do You Grok?" (Mohamadi et al. 2024):

    f(a, b) = V (W [e_a; e_b])^2,   W in R^{hidden x 2p},  V in R^{n_classes x hidden},

i.e. f_c = sum_k V_ck (Q_ka + R_kb)^2 with W = [Q R]. He (Kaiming normal, fan-in) init, both
layers multiplied by `init_scale` (the paper's alpha). One-hot inputs [e_a | e_b] go through a
matmul; token inputs ([a, op, b, =] or [a, b]) index the columns of W instead (same function,
no one-hot matmul), which is what makes the many-run sweeps cheap.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class QuadraticNet(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        n_classes: int,
        onehot: bool = True,
        hidden: int = 128,
        init_scale: float = 1.0,
    ):
        super().__init__()
        self.p = n_classes
        self.onehot = onehot
        self.b_position = 2 if seq_len == 4 else 1  # [a, op, b, =] or [a, b]
        self.W = nn.Parameter(torch.randn(hidden, 2 * n_classes) * math.sqrt(2 / (2 * n_classes)))
        self.V = nn.Parameter(torch.randn(n_classes, hidden) * math.sqrt(2 / hidden))
        with torch.no_grad():
            self.W.mul_(init_scale)
            self.V.mul_(init_scale)

    def hidden_preactivation(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.onehot:
            return inputs @ self.W.T
        a, b = inputs[:, 0], inputs[:, self.b_position]
        return (self.W[:, a] + self.W[:, self.p + b]).T

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.hidden_preactivation(inputs).pow(2) @ self.V.T
