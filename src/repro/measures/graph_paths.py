"""Average path length and clustering coefficient of a pruned feed-forward network (Grokking
Tickets v3 section 5.2, Fig 9b). The authors' code for these was not found [U]; these are our
definitions, chosen so that neither is trivially constant on a layered network:

- The graph: one node per unit of every layer (inputs, hidden units, outputs), an undirected,
  unweighted edge for every weight the mask keeps (a weight matrix W, out x in, joins layer i's
  units to layer i+1's). Masks at a fixed pruning rate keep the same number of edges, so these
  numbers compare the *arrangement* of the kept weights over training, as the Ramanujan gap does.
- Average path length L: the mean number of hops of the shortest path over all ordered pairs of
  distinct nodes joined by some path (as networkx.average_shortest_path_length, which needs a
  connected graph: here pairs in different components are left out, and the fraction of pairs
  that are joined is reported beside it). Paths may go back through earlier layers: counted
  forward only, every input-output path has exactly len(layers) hops.
- Clustering C: a layered graph has no triangles (its edges only join consecutive layers, so it
  is bipartite: even against odd layers) and the usual clustering coefficient is 0. We take the
  bipartite clustering of Latapy, Magnien and Del Vecchio 2008 (networkx.algorithms.bipartite.
  clustering, mode "dot"): for a node u, the mean over the nodes v != u that share a neighbour
  with u of |N(u) & N(v)| / |N(u) | N(v)| (0 for a node with no such v: a unit whose weights
  are all pruned); C is its mean over all nodes (networkx.bipartite.average_clustering).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path


def layered_adjacency(masks: list[np.ndarray]) -> np.ndarray:
    """The symmetric 0/1 adjacency over every unit of a chain of layers; masks[i] is layer i's
    (out x in) mask, so masks[i].shape[1] == masks[i - 1].shape[0]."""
    sizes = [masks[0].shape[1]] + [m.shape[0] for m in masks]
    for before, after in zip(masks, masks[1:], strict=False):
        if after.shape[1] != before.shape[0]:
            raise ValueError(f"layers do not chain: {before.shape} then {after.shape}")
    starts = np.cumsum([0, *sizes])
    adjacency = np.zeros((starts[-1], starts[-1]), dtype=np.float64)
    for i, mask in enumerate(masks):
        rows = slice(starts[i + 1], starts[i + 2])  # layer i's outputs
        cols = slice(starts[i], starts[i + 1])  # layer i's inputs
        adjacency[rows, cols] = np.asarray(mask, dtype=np.float64) != 0
    return np.maximum(adjacency, adjacency.T)


def average_path_length(adjacency: np.ndarray) -> tuple[float, float]:
    """(mean shortest-path hops over the ordered pairs of distinct nodes that are joined, the
    fraction of such pairs that are joined); (nan, 0) when no pair is."""
    n = len(adjacency)
    hops = shortest_path(csr_matrix(adjacency), method="D", unweighted=True, directed=False)
    off_diagonal = ~np.eye(n, dtype=bool)
    joined = np.isfinite(hops) & off_diagonal
    if not joined.any():
        return math.nan, 0.0
    return float(hops[joined].mean()), float(joined.sum() / off_diagonal.sum())


def bipartite_clustering(adjacency: np.ndarray) -> float:
    """Mean over all nodes of Latapy et al.'s "dot" clustering (see the module docstring)."""
    a = (np.asarray(adjacency) != 0).astype(np.float64)
    common = a @ a  # |N(u) & N(v)|
    degree = a.sum(1)
    union = degree[:, None] + degree[None, :] - common
    np.fill_diagonal(common, 0)
    second = common > 0  # v != u sharing a neighbour with u
    ratio = np.divide(common, union, out=np.zeros_like(common), where=second)
    per_node = np.divide(ratio.sum(1), second.sum(1), out=np.zeros(len(a)), where=second.any(1))
    return float(per_node.mean())
