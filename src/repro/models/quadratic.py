"""The bias-free two-layer quadratic network of "Why Do You Grok?" (Mohamadi et al. 2024):

    f(a, b) = V (W [e_a; e_b])^2,   W in R^{hidden x 2p},  V in R^{n_classes x hidden},

i.e. f_c = sum_k V_ck (Q_ka + R_kb)^2 with W = [Q R]. He (Kaiming normal, fan-in) init, both
layers multiplied by `init_scale` (the paper's alpha). One-hot inputs [e_a | e_b] go through a
matmul; token inputs ([a, op, b, =] or [a, b]) index the columns of W instead (same function,
no one-hot matmul), which is what makes the many-run sweeps cheap.

Regression task (repro.data.modular_regression, token inputs [a, b, c], seq_len 3): the output is
the scalar g = e_c^T f(a, b), shape (batch,). f is computed once per distinct (a, b) pair of the
batch and c is indexed afterwards: a training set of n = 2 p^2.25 triples holds at most p^2
pairs, so this does p^2 rows of work instead of n (see bench/ and the why_grok tests).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from repro.models.init import scale_parameters


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
        self.regression = seq_len == 3 and not onehot  # [a, b, c] -> g = f_c(a, b)
        self.b_position = 2 if seq_len == 4 else 1  # [a, op, b, =], [a, b] or [a, b, c]
        self.W = nn.Parameter(torch.randn(hidden, 2 * n_classes) * math.sqrt(2 / (2 * n_classes)))
        self.V = nn.Parameter(torch.randn(n_classes, hidden) * math.sqrt(2 / hidden))
        scale_parameters(self, init_scale)

    def hidden_preactivation(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.onehot:
            return inputs @ self.W.T
        return self.pair_preactivation(inputs[:, 0], inputs[:, self.b_position])

    def pair_preactivation(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Q e_a + R e_b, shape (batch, hidden); index_select measured ~2x faster than W[:, a]
        (forward + backward) on the CPU."""
        return (self.W.index_select(1, a) + self.W.index_select(1, self.p + b)).T

    def pair_outputs(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """f(a, b) for int64 tensors a, b: shape (batch, p)."""
        return self.pair_preactivation(a, b).pow(2) @ self.V.T

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.regression:
            return self.hidden_preactivation(inputs).pow(2) @ self.V.T
        a, b, c = inputs[:, 0], inputs[:, 1], inputs[:, 2]
        if len(inputs) <= self.p:
            # few examples (e.g. one per call under torch.func.vmap in the eNTK): per example,
            # g = sum_k V_ck (Q_ka + R_kb)^2, O(hidden) each
            hidden = (self.W[:, a] + self.W[:, self.p + b]).T.pow(2)
            return (hidden * self.V[c]).sum(-1)
        pairs, inverse = torch.unique(a * self.p + b, return_inverse=True)
        table = self.pair_outputs(pairs // self.p, pairs % self.p)  # (distinct pairs, p)
        return table[inverse, c]
