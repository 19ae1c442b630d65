"""Building blocks of Grokking Tickets Figs 2d, 2e, 9b and 15: the polynomial-regression and
sparse-parity datasets, the layered MLP they train, and the path-length and clustering measures
of a pruned layered network (on hand-made graphs with known answers)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from repro.config import ConfigError
from repro.data import build_dataset, check_data_config
from repro.data.sparse_parity import parity
from repro.losses import mse
from repro.measures.graph_paths import (
    average_path_length,
    bipartite_clustering,
    layered_adjacency,
)
from repro.models import build_model


def test_poly_regression_shapes_formula_and_determinism():
    data = build_dataset({"name": "poly_regression", "dim": 40, "n_train": 100, "n_val": 100}, 3)
    assert data.train.inputs.shape == (100, 40) and data.val.inputs.shape == (100, 40)
    assert data.train.labels.dtype == torch.float32 and data.n_classes == 1
    again = build_dataset({"name": "poly_regression", "dim": 40, "n_train": 100, "n_val": 100}, 3)
    assert torch.equal(data.train.inputs, again.train.inputs)
    assert torch.equal(data.val.labels, again.val.labels)
    other = build_dataset({"name": "poly_regression"}, 4)
    assert not torch.equal(data.train.inputs, other.train.inputs)
    x = torch.cat([data.train.inputs, data.val.inputs]).double()
    assert float(x.pow(2).sum(1).mean()) == pytest.approx(1.0, abs=0.1)  # x ~ N(0, I / d)
    # y = (x . beta)^2 / 2 with ONE beta ~ N(0, I) for train and test: the generator's first draw
    generator = torch.Generator().manual_seed(3)
    beta = torch.randn(40, generator=generator)
    for split in (data.train, data.val):
        assert torch.allclose(split.labels, (split.inputs @ beta) ** 2 / 2)


def test_poly_regression_mse_is_scalar_regression():
    data = build_dataset({"name": "poly_regression", "dim": 8, "n_train": 5, "n_val": 5}, 0)
    model = build_model({"name": "tickets_layered_mlp", "widths": [8, 6, 10]}, data)
    outputs = model(data.train.inputs)
    assert outputs.shape == (5, 1)
    expected = (outputs.squeeze(1) - data.train.labels) ** 2
    assert torch.allclose(mse(outputs, data.train.labels), expected)
    assert [name for name, _ in model.named_parameters()] == [
        f"layers.{i}.weight" for i in range(4)
    ]  # no biases, as the official OnlyMLP_Polynominal


def test_sparse_parity_labels_shapes_and_determinism():
    config = {"name": "sparse_parity", "n_bits": 12, "parity_bits": 3, "n_train": 64, "n_val": 32}
    data = build_dataset(config, 7)
    assert data.train.inputs.shape == (64, 12) and data.val.inputs.shape == (32, 12)
    assert set(data.train.inputs.unique().tolist()) == {-1.0, 1.0}
    assert data.train.labels.dtype == torch.int64 and data.n_classes == 2
    assert torch.equal(data.train.inputs, build_dataset(config, 7).train.inputs)
    # exactly 3 coordinates determine the label: product of the support's +-1 bits = -1 <=> 1
    x = torch.cat([data.train.inputs, data.val.inputs])
    y = torch.cat([data.train.labels, data.val.labels])
    supports = [
        (i, j, k)
        for i in range(12)
        for j in range(i + 1, 12)
        for k in range(j + 1, 12)
        if torch.equal((x[:, [i, j, k]].prod(1) < 0).long(), y)
    ]
    assert len(supports) == 1
    assert torch.equal(parity(x, torch.tensor(supports[0])), y)
    assert 0.3 < float(y.float().mean()) < 0.7


def test_parity_formula_by_hand():
    x = torch.tensor([[1.0, 1, 1, 1], [-1, 1, 1, 1], [-1, -1, 1, 1], [-1, -1, -1, 1]])
    assert parity(x, torch.tensor([0, 1, 2])).tolist() == [0, 1, 0, 1]
    assert parity(x, torch.tensor([3])).tolist() == [0, 0, 0, 0]


def test_bad_data_config_is_one_config_error():
    with pytest.raises(ConfigError, match="data.parity_bits"):
        check_data_config({"name": "sparse_parity", "n_bits": 4, "parity_bits": 5})
    with pytest.raises(ConfigError, match="data.dim"):
        check_data_config({"name": "poly_regression", "dim": 0})


def test_layered_graph_path_length_and_clustering_by_hand():
    # a path 0 - 1 - 2 (two layers of one weight each): hops 1, 1, 2 over ordered pairs
    path = layered_adjacency([np.ones((1, 1)), np.ones((1, 1))])
    length, joined = average_path_length(path)
    assert length == pytest.approx((1 + 1 + 2) * 2 / 6) and joined == 1.0
    # nodes 0 and 2 share their only neighbour: Jaccard 1; node 1 has no second neighbour: 0
    assert bipartite_clustering(path) == pytest.approx((1 + 0 + 1) / 3)
    # complete bipartite K_{2,2} (one dense 2 x 2 layer): every second neighbour has the same
    # neighbourhood, so C = 1; hops 1 (4 edges x 2) and 2 (2 same-side pairs x 2)
    dense = layered_adjacency([np.ones((2, 2))])
    assert bipartite_clustering(dense) == pytest.approx(1.0)
    assert average_path_length(dense)[0] == pytest.approx((8 * 1 + 4 * 2) / 12)
    # a pruned weight cuts the graph: 2 in, 1 out, only input 0 kept -> input 1 is isolated
    cut = layered_adjacency([np.array([[1.0, 0.0]])])
    length, joined = average_path_length(cut)
    assert length == 1.0 and joined == pytest.approx(2 / 6)
    assert bipartite_clustering(cut) == 0.0
    with pytest.raises(ValueError, match="do not chain"):
        layered_adjacency([np.ones((3, 2)), np.ones((1, 2))])


def test_graph_measures_match_networkx():
    nx = pytest.importorskip("networkx")
    from networkx.algorithms import bipartite

    rng = np.random.default_rng(0)
    masks = [rng.random((5, 4)) < 0.5, rng.random((3, 5)) < 0.6, rng.random((4, 3)) < 0.7]
    adjacency = layered_adjacency(masks)
    graph = nx.from_numpy_array(adjacency)
    assert bipartite_clustering(adjacency) == pytest.approx(
        bipartite.average_clustering(graph, mode="dot")
    )
    biggest = graph.subgraph(max(nx.connected_components(graph), key=len))
    if len(biggest) == len(graph):
        assert average_path_length(adjacency)[0] == pytest.approx(
            nx.average_shortest_path_length(graph)
        )
    lengths = dict(nx.all_pairs_shortest_path_length(graph))
    hops = [d for u, row in lengths.items() for v, d in row.items() if u != v]
    assert average_path_length(adjacency)[0] == pytest.approx(np.mean(hops))
    assert not math.isnan(bipartite_clustering(adjacency))
