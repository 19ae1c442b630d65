"""Measures of Grokking Tickets (v3 sections 4.1 and 5.2), logged at every evaluation.

- `weight_norms`: the L1 and L2 norms of all weights, summed per tensor as the official code's
  get_weight_norm does (sum_i ||W_i||_p). Pruned weights are exactly 0, so for a ticket this is
  the norm of theta * m.
- `fourier_entropy`: W_inproj = W_in W_E (hidden x p); per neuron, the amplitudes of the DFT over
  the p inputs at frequencies 1 .. floor(p/2) - 1, normalised to sum 1; the entropy
  -sum q log q (nats), averaged over neurons (rows that are all zero, pruned neurons, are
  skipped). The official vis_activate.py computes CrossEntropyLoss(P, P), i.e. log-softmax of P,
  which is not this entropy; we follow the paper's formula.
"""

from __future__ import annotations

import math

import torch


def weight_norms(model, inputs, labels) -> dict[str, float]:
    tensors = [p.detach().double() for p in model.parameters()]
    return {
        "l1_norm": float(sum(t.abs().sum() for t in tensors)),
        "l2_norm": float(sum(torch.linalg.vector_norm(t) for t in tensors)),
    }


def inproj_matrix(model) -> torch.Tensor:
    """W_in W_E: how each hidden neuron responds to each input token (hidden x p)."""
    return (model.inproj.weight @ model.embed.weight).detach().double()


def fourier_entropy_of(matrix: torch.Tensor) -> float:
    """Mean over rows of the entropy of the normalised DFT amplitudes at 1 .. floor(n/2) - 1."""
    n = matrix.shape[1]
    amplitudes = torch.fft.fft(matrix, dim=1).abs()[:, 1 : n // 2]
    totals = amplitudes.sum(1, keepdim=True)
    alive = totals.squeeze(1) > 0
    if not bool(alive.any()):
        return math.nan
    q = amplitudes[alive] / totals[alive]
    entropy = -(q * torch.log(q.clamp_min(1e-300))).sum(1)
    return float(entropy.mean())


def fourier_entropy(model, inputs, labels) -> dict[str, float]:
    return {"fourier_entropy": fourier_entropy_of(inproj_matrix(model))}
