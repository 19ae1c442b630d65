"""Pruning (repro.prune) and the mask command (repro.masks): exact kept fractions, the global
ranking, the PaI scores against what they must satisfy, norm-matched controls, rewinding to
theta_0, and the measures of the tickets paper."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from repro import masks, prune
from repro.config import ConfigError, run_config_from_dict
from repro.data.modular import build
from repro.measures.tickets import fourier_entropy_of, weight_norms
from repro.models.tickets import TicketsMLP, TicketsTransformer
from repro.train import train

TICKETS_RUN = {
    "paper": "tickets",
    "experiment": "base",
    "run_id": "seed=0",
    "seed": 0,
    "data": {
        "name": "modular",
        "p": 11,
        "operation": "add",
        "train_fraction": 0.5,
        "encoding": "onehot",
        "symmetric": True,
    },
    "model": {"name": "tickets_mlp", "d_embed": 20, "hidden": 8},
    "optimizer": {"name": "adamw", "lr": 3e-3, "weight_decay": 1.0},
    "train": {"steps": 30, "batch_size": None, "eval_every": 10, "save_weights_at": [0, 10]},
}


def random_state(seed=0):
    generator = torch.Generator().manual_seed(seed)
    return {
        "a.weight": torch.randn(10, 20, generator=generator),
        "b.weight": torch.randn(7, 10, generator=generator) * 0.1,  # small: pruned first
        "b.bias": torch.randn(7, generator=generator),  # a vector: never pruned
    }


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.25, 0.6, 0.81, 0.9, 0.99])
def test_kept_fraction_is_one_minus_the_pruning_rate_exactly(rate):
    state = random_state()
    mask = prune.global_mask(prune.magnitude_scores(state), rate)
    assert set(mask) == {"a.weight", "b.weight"}
    n = 10 * 20 + 7 * 10
    removed = sum(int((m == 0).sum()) for m in mask.values())
    assert removed == round(rate * n)
    assert all(set(m.unique().tolist()) <= {0.0, 1.0} for m in mask.values())
    kept = sum(int(m.sum()) for m in mask.values())
    assert kept == n - round(rate * n)
    assert prune.kept_fraction(mask) == pytest.approx(1 - rate, abs=0.5 / n + 1e-12)
    if (rate * n).is_integer():  # then exactly (up to the float of 1 - rate)
        assert prune.kept_fraction(mask) == pytest.approx(1 - rate, rel=1e-12)


def test_the_ranking_is_global_and_keeps_the_largest_magnitudes():
    state = random_state()
    mask = prune.global_mask(prune.magnitude_scores(state), 0.5)
    kept = torch.cat([state[n][mask[n] == 1].abs() for n in mask])
    removed = torch.cat([state[n][mask[n] == 0].abs() for n in mask])
    assert kept.min() >= removed.max()
    # the small layer loses more than half, the large one less: one ranking, not per layer
    assert float(mask["b.weight"].mean()) < 0.5 < float(mask["a.weight"].mean())


def test_ties_give_an_exact_count_and_a_deterministic_mask():
    scores = {"w": torch.ones(4, 5)}
    first = prune.global_mask(scores, 0.35)
    assert int((first["w"] == 0).sum()) == 7
    assert torch.equal(first["w"], prune.global_mask(scores, 0.35)["w"])


def test_a_bad_rate_is_a_config_error():
    with pytest.raises(ConfigError, match="pruning_rate"):
        prune.global_mask({"w": torch.ones(2, 2)}, 1.0)


@pytest.mark.parametrize("p", [1, 2])
def test_norm_matched_control_has_the_tickets_norm(p):
    state = random_state()
    mask = prune.global_mask(prune.magnitude_scores(random_state(1)), 0.6)
    control, ratio = prune.norm_matched_state(state, mask, p)
    names = list(mask)
    target = prune.norm((state[n] * mask[n] for n in names), p)
    assert prune.norm((control[n] for n in names), p) == pytest.approx(
        target, rel=1e-6
    )  # float32 weights
    assert 0 < ratio < 1
    assert torch.allclose(control["b.bias"], state["b.bias"] * ratio)  # one scalar for all


def tiny_problem():
    dataset = build(11, "add", 0.5, encoding="onehot", symmetric=True)
    torch.manual_seed(0)
    return dataset, TicketsMLP(11, 2, 11, d_embed=12, hidden=6)


def test_snip_is_the_gradient_times_the_weight():
    dataset, model = tiny_problem()
    loss = torch.nn.functional.cross_entropy(model(dataset.train.inputs), dataset.train.labels)
    loss.backward()
    scores = prune.snip_scores(model, dataset.train.inputs, dataset.train.labels)
    for name, parameter in model.named_parameters():
        torch.testing.assert_close(scores[name], (parameter.grad * parameter).abs().detach())


def test_grasp_is_the_hessian_gradient_product_times_the_weight():
    dataset, model = tiny_problem()
    names = [n for n, _ in model.named_parameters()]
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    shapes = [p.shape for p in model.parameters()]

    def loss_of(vector):
        params, start = {}, 0
        for name, shape in zip(names, shapes, strict=True):
            params[name] = vector[start : start + shape.numel()].view(shape)
            start += shape.numel()
        logits = torch.func.functional_call(model, params, (dataset.train.inputs,)) / 200.0
        return torch.nn.functional.cross_entropy(logits, dataset.train.labels)

    gradient = torch.autograd.functional.jacobian(loss_of, flat)
    _, hg = torch.autograd.functional.hvp(loss_of, flat, gradient)
    expected = hg * flat
    scores = prune.grasp_scores(model, dataset.train.inputs, dataset.train.labels)
    got = torch.cat([scores[n].flatten() for n in names])
    torch.testing.assert_close(got, expected, rtol=1e-3, atol=1e-9)


def test_synflow_conserves_the_flow_in_every_layer():
    """With |theta| and non-negative inputs the ReLU MLP is linear and R is homogeneous of degree
    1 in each layer's weights, so each layer's scores sum to R (Tanaka et al.'s conservation)."""
    dataset, model = tiny_problem()
    scores = prune.synflow_scores(model, dataset.train.inputs)
    stripped = {n: p.detach().abs() for n, p in model.named_parameters()}
    total = float(torch.func.functional_call(model, stripped, (dataset.train.inputs,)).sum())
    for name in scores:
        assert float(scores[name].sum()) == pytest.approx(total, rel=1e-4), name
    assert next(model.parameters()).dtype == torch.float32  # the model is left as it was


def test_jaccard_distance():
    a = {"w": torch.tensor([1.0, 1.0, 0.0, 0.0])}
    assert prune.jaccard_distance(a, a) == {"w": 0.0}
    assert prune.jaccard_distance(a, {"w": 1 - a["w"]}) == {"w": 1.0}
    assert prune.jaccard_distance(a, {"w": torch.tensor([1.0, 0, 1, 0])})["w"] == 1 - 1 / 3


def test_fourier_entropy_is_low_for_a_periodic_row_and_high_for_noise():
    tokens = torch.arange(67, dtype=torch.float64)
    periodic = torch.cos(2 * math.pi * 5 * tokens / 67)[None]
    noise = torch.randn(48, 67, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert fourier_entropy_of(periodic) < 1e-6
    assert fourier_entropy_of(noise) > 0.8 * math.log(32)


def test_weight_norms_are_sums_of_per_tensor_norms():
    model = TicketsTransformer(11, 2, 11, d_model=8, n_heads=1, d_mlp=8)
    norms = weight_norms(model, None, None)
    expected = sum(float(p.detach().double().norm()) for p in model.parameters())
    assert norms["l2_norm"] == pytest.approx(expected)


@pytest.fixture
def base_run(tmp_path):
    train(run_config_from_dict(TICKETS_RUN), tmp_path / "base", progress=False)
    return tmp_path / "base"


def test_a_ticket_is_rewound_to_theta0_and_keeps_its_mask(base_run, tmp_path):
    mask, description = masks.make(base_run, "magnitude", 0.6, "10")
    assert "kept fraction" in description
    n = sum(m.numel() for m in mask.values())
    assert sum(int(m.sum()) for m in mask.values()) == n - round(0.6 * n)
    torch.save(mask, tmp_path / "mask.pt")
    ticket = dict(TICKETS_RUN, train={**TICKETS_RUN["train"], "mask": str(tmp_path / "mask.pt")})
    train(run_config_from_dict(ticket), tmp_path / "ticket", progress=False)
    theta0 = torch.load(base_run / "weights" / "step_000000000.pt", weights_only=True)
    start = torch.load(tmp_path / "ticket" / "weights" / "step_000000000.pt", weights_only=True)
    end = torch.load(tmp_path / "ticket" / "final.pt", weights_only=False)["model"]
    for name, m in mask.items():
        assert torch.equal(start[name], theta0[name] * m), name  # rewound, then masked
        assert torch.all(end[name][m == 0] == 0), name  # the mask never changed
        assert torch.count_nonzero(end[name][m == 1]) == int(m.sum()), name


@pytest.mark.parametrize("method", ["random", "snip", "grasp", "synflow"])
def test_pai_masks_have_the_rate(base_run, method):
    mask, _ = masks.make(base_run, method, 0.6, "0")
    n = sum(m.numel() for m in mask.values())
    assert sum(int((m == 0).sum()) for m in mask.values()) == round(0.6 * n)


def test_norm_control_file_is_a_scaled_theta0(base_run):
    state, description = masks.make(base_run, "l2", 0.6, "final")
    theta0 = torch.load(base_run / "weights" / "step_000000000.pt", weights_only=True)
    ratio = float(state["inproj.weight"].flatten()[0] / theta0["inproj.weight"].flatten()[0])
    assert "r_2" in description and 0 < ratio < 1
    for name in theta0:
        torch.testing.assert_close(state[name], theta0[name] * ratio)


def test_a_step_the_base_did_not_save_is_a_config_error(base_run):
    with pytest.raises(ConfigError, match="save_weights_at"):
        masks.make(base_run, "magnitude", 0.6, "20")


def test_a_base_run_whose_init_cannot_be_rebuilt_is_refused(base_run):
    snapshot = base_run / "weights" / "step_000000000.pt"
    state = torch.load(snapshot, weights_only=True)
    state["inproj.weight"] += 1.0
    torch.save(state, snapshot)
    with pytest.raises(ConfigError, match="theta_0"):
        masks.make(base_run, "magnitude", 0.6, "final")


def test_the_mask_command_writes_the_file(base_run, tmp_path):
    from repro.__main__ import main

    out = tmp_path / "m" / "magnitude_k=0.6_step=final.pt"
    args = ["mask", str(base_run), "--method", "magnitude", "--rate", "0.6", "--out", str(out)]
    assert main(args) == 0
    assert set(torch.load(out, weights_only=True)) == {
        "embed.weight",
        "inproj.weight",
        "outproj.weight",
        "unembed.weight",
    }


def test_graph_spectra_of_known_graphs():
    from repro.measures.graph_spectra import ramanujan_gap, weighted_spectral_gap

    complete = np.ones((6, 4))  # K_{6,4}: one non-zero singular value
    assert weighted_spectral_gap(complete, complete) == pytest.approx(1.0)
    degree = 2 * 24 / 10
    assert ramanujan_gap(complete) == pytest.approx(math.sqrt(2 * degree - 1))
    two_blocks = np.kron(np.eye(2), np.ones((3, 2)))  # two disconnected K_{3,2}: s_1 = s_2
    assert weighted_spectral_gap(two_blocks, two_blocks) == pytest.approx(0.0, abs=1e-12)
    assert ramanujan_gap(two_blocks) < ramanujan_gap(complete)


def test_the_tickets_task_and_models_have_the_papers_shapes():
    dataset = build(67, "add", 0.4, encoding="onehot", symmetric=True)
    assert (len(dataset.train), len(dataset.val)) == (911, 1367)  # 2,278 pairs a <= b
    mlp = TicketsMLP(67, 2, 67)
    shapes = {name: tuple(p.shape) for name, p in mlp.named_parameters()}
    assert shapes == {
        "embed.weight": (500, 67),
        "inproj.weight": (48, 500),
        "outproj.weight": (500, 48),
        "unembed.weight": (67, 500),
    }
    assert sum(p.numel() for p in mlp.parameters()) == 115_000
    assert mlp.inproj.weight.std().item() == pytest.approx(1 / math.sqrt(500), rel=0.05)
    transformer = TicketsTransformer(67, 2, 67)
    assert all(p.dim() == 2 for p in transformer.parameters())  # no biases, no LayerNorm
    logits = transformer(dataset.train.inputs[:5])
    assert logits.shape == (5, 67)
    # the answer does not depend on the order of a and b only through position: a+b = b+a
    swapped = dataset.train.inputs[:5].view(5, 2, 67).flip(1).reshape(5, 134)
    assert torch.allclose(mlp(swapped), mlp(dataset.train.inputs[:5]))


def test_edge_popup_trains_scores_only_and_keeps_the_rate_per_layer():
    dataset = build(11, "add", 0.5, encoding="onehot", symmetric=True)
    torch.manual_seed(0)
    model = TicketsMLP(11, 2, 11, d_embed=12, hidden=6, edge_popup_rate=0.6)
    weights = {n: p.detach().clone() for n, p in model.named_parameters() if "weight" in n}
    for name, parameter in model.named_parameters():
        parameter.requires_grad_("scores" in name)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    scores = model.inproj.scores.detach().clone()
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(model(dataset.train.inputs), dataset.train.labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert not torch.equal(model.inproj.scores, scores)  # straight-through gradients arrive
    for name, parameter in model.named_parameters():
        if "weight" in name:
            assert torch.equal(parameter, weights[name])
    from repro.models.tickets import TopScores

    mask = TopScores.apply(model.inproj.scores.abs(), 0.4)
    assert int(mask.sum()) == round(0.4 * mask.numel())
