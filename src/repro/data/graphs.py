"""Batches of small molecular graphs as padded dense tensors, indexable like a tensor.

The training loop indexes `split.inputs[indices]`, slices it for evaluation and moves it with
`.to(device)`; a Graphs object supports exactly that, so graph datasets fit the same Split as
every other dataset. Dense padding is cheap here: QM9 molecules have at most 29 atoms (with
hydrogens), so a molecule costs 29 x 29 x 4 edge floats (13 KB).

- nodes: float32 (n_graphs, max_nodes, node_features), zero rows past a graph's last node;
- edges: float32 (n_graphs, max_nodes, max_nodes, edge_features), edges[g, i, j] is the feature
  vector (bond type one-hot) of the edge i -> j, all zero where there is no edge; symmetric;
- mask: bool (n_graphs, max_nodes), True on real nodes.
`sparse()` gives the PyTorch Geometric layout (x, edge_index, edge_attr, batch) for message
passing written against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Graphs:
    nodes: torch.Tensor
    edges: torch.Tensor
    mask: torch.Tensor

    def __len__(self) -> int:
        return self.nodes.shape[0]

    def __getitem__(self, index) -> Graphs:
        return Graphs(self.nodes[index], self.edges[index], self.mask[index])

    def to(self, device, dtype: torch.dtype | None = None) -> Graphs:
        """On `device`; the float features (not the mask) also cast to `dtype` if given."""
        features = (
            t.to(device, dtype) if dtype else t.to(device) for t in (self.nodes, self.edges)
        )
        return Graphs(*features, self.mask.to(device))

    def is_floating_point(self) -> bool:
        """Models treat float inputs as feature vectors, not token ids."""
        return True

    @property
    def shape(self) -> torch.Size:
        return self.nodes.shape

    def sparse(self):
        """(x (total_nodes, F), edge_index (2, E) int64, edge_attr (E, B), batch (total_nodes,))
        with nodes numbered graph after graph, edges sorted by (source, target)."""
        graph, node = torch.nonzero(self.mask, as_tuple=True)
        number = torch.full(self.mask.shape, -1, dtype=torch.int64, device=self.mask.device)
        number[graph, node] = torch.arange(len(graph), device=self.mask.device)
        g, i, j = torch.nonzero(self.edges.abs().sum(-1) > 0, as_tuple=True)
        edge_index = torch.stack([number[g, i], number[g, j]])
        order = torch.argsort(edge_index[0] * len(graph) + edge_index[1])
        return self.nodes[graph, node], edge_index[:, order], self.edges[g, i, j][order], graph


def pad(graphs: list[tuple[torch.Tensor, torch.Tensor]]) -> Graphs:
    """[(nodes (n_i, F), edges (n_i, n_i, B)), ...] -> Graphs padded to the largest n_i."""
    size = max(nodes.shape[0] for nodes, _ in graphs)
    features, bond_features = graphs[0][0].shape[1], graphs[0][1].shape[2]
    out = Graphs(
        torch.zeros(len(graphs), size, features),
        torch.zeros(len(graphs), size, size, bond_features),
        torch.zeros(len(graphs), size, dtype=torch.bool),
    )
    for k, (nodes, edges) in enumerate(graphs):
        n = nodes.shape[0]
        out.nodes[k, :n], out.edges[k, :n, :n], out.mask[k, :n] = nodes, edges, True
    return out
