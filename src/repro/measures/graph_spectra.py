"""Spectral measures of a pruned layer seen as a bipartite graph (Grokking Tickets v3 section 5.2,
App. J; the authors' code for these was not found, so the normalisation is ours, see below).

A layer W (out x in) with mask m is the bipartite graph between its in- and out-units whose edge
weights are |W * m|. Its adjacency [[0, B], [B^T, 0]] has eigenvalues +-s_i, the singular values
of B, so everything here comes from one SVD.

- weighted spectral gap: lambda_0 - lambda_1 of the weighted adjacency scaled to lambda_0 = 1,
  i.e. 1 - s_2 / s_1 (in [0, 1]; the paper's values, 0.36-0.81, are of this size).
- Ramanujan gap: sqrt(2 d_avg - 1) - mu(G) on the unweighted graph of the mask, d_avg its average
  degree and mu the largest non-trivial |eigenvalue| (for a bipartite graph +-s_1 are trivial, so
  mu = s_2 of the mask matrix). Negative: the graph is less well connected than a Ramanujan graph
  of that degree.
"""

from __future__ import annotations

import math

import numpy as np


def singular_values(matrix: np.ndarray) -> np.ndarray:
    return np.linalg.svd(np.asarray(matrix, dtype=np.float64), compute_uv=False)


def weighted_spectral_gap(weights: np.ndarray, mask: np.ndarray) -> float:
    s = singular_values(np.abs(weights) * mask)
    return math.nan if s[0] == 0 else float(1 - s[1] / s[0])


def ramanujan_gap(mask: np.ndarray) -> float:
    mask = np.asarray(mask, dtype=np.float64)
    degree = 2 * mask.sum() / sum(mask.shape)  # 2 |E| / |V|
    s = singular_values(mask)
    return float(math.sqrt(max(2 * degree - 1, 0.0)) - s[1])
