"""The tickets models embed one-hot inputs by a column lookup (repro.models.tickets.embed_onehot)
instead of the dense one-hot matmul: same logits (exactly), same gradients (to float32
rounding), the dense product for any input that is not one-hot, masks and edge-popup intact,
and bit-for-bit deterministic training per seed on the CPU."""

from __future__ import annotations

import copy

import pytest
import torch

from repro import prune
from repro.config import run_config_from_dict
from repro.data.modular import build
from repro.models import tickets
from repro.models.tickets import TicketsMLP, TicketsTransformer, embed_onehot, onehot_indices
from repro.train import train

P = 13


@pytest.fixture(scope="module")
def dataset():
    return build(P, "add", 0.5, encoding="onehot", symmetric=True)


def dense(monkeypatch):
    """Make every model take the old path: the dense one-hot matmul."""
    monkeypatch.setattr(tickets, "onehot_indices", lambda x: None)


def logits_and_grads(model, inputs, labels):
    model.zero_grad(set_to_none=True)
    logits = model(inputs)
    torch.nn.functional.cross_entropy(logits, labels).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return logits.detach(), grads


MODELS = {
    "mlp": lambda: TicketsMLP(P, 2, P, d_embed=40, hidden=12),
    "transformer": lambda: TicketsTransformer(P, 2, P, d_model=16, d_mlp=24),
    "edge_popup": lambda: TicketsMLP(P, 2, P, d_embed=40, hidden=12, edge_popup_rate=0.6),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_lookup_matches_the_dense_onehot_matmul(name, dataset, monkeypatch):
    torch.manual_seed(0)
    model = MODELS[name]()
    reference = copy.deepcopy(model)  # same weights (and scores)
    inputs, labels = dataset.train.inputs, dataset.train.labels
    assert onehot_indices(inputs.view(len(inputs), 2, P)) is not None  # the fast path is taken
    logits, grads = logits_and_grads(model, inputs, labels)
    dense(monkeypatch)
    dense_logits, dense_grads = logits_and_grads(reference, inputs, labels)
    assert torch.equal(logits, dense_logits)  # every other product is an exact 0
    assert grads.keys() == dense_grads.keys() and "embed.weight" in grads
    for key, grad in grads.items():
        torch.testing.assert_close(grad, dense_grads[key], rtol=1e-5, atol=1e-7)


def test_the_gradient_reaches_only_the_columns_of_the_inputs(dataset):
    torch.manual_seed(0)
    model = TicketsMLP(P, 2, P, d_embed=40, hidden=12)
    inputs = dataset.train.inputs[:3]
    model(inputs).sum().backward()
    used = inputs.view(3, 2, P).sum((0, 1)) > 0
    assert bool(model.embed.weight.grad[:, ~used].eq(0).all())
    assert bool(model.embed.weight.grad[:, used].ne(0).any(0).all())


def test_onehot_indices_accepts_only_exact_onehot_rows():
    rows = torch.eye(4)[[2, 0, 3]]
    assert torch.equal(onehot_indices(rows), torch.tensor([2, 0, 3]))
    assert torch.equal(onehot_indices(rows.double()), torch.tensor([2, 0, 3]))
    for bad in (
        torch.ones(3, 4),  # SynFlow's all-ones input
        rows * 0.5,
        torch.cat([rows[:2], torch.zeros(1, 4)]),  # a row of zeros
        rows + torch.tensor([0.0, 0.0, 0.0, 1e-30]),  # a tiny extra entry
        rows - torch.tensor([1e-30, 0.0, 0.0, 0.0]),  # a tiny negative one
        torch.where(rows == 1, torch.nan, rows),
        rows.clone().requires_grad_(),  # an input gradient is wanted
    ):
        assert onehot_indices(bad) is None


@pytest.mark.parametrize("name", ["mlp", "transformer"])
def test_other_inputs_take_the_dense_product(name, monkeypatch):
    torch.manual_seed(1)
    model = MODELS[name]()
    inputs = torch.rand(5, 2 * P) * (torch.rand(5, 2 * P) > 0.5)
    ones = torch.ones(5, 2 * P)
    fast = [model(x) for x in (inputs, ones)]
    dense(monkeypatch)
    for x, out in zip((inputs, ones), fast, strict=True):
        assert torch.equal(out, model(x))


def test_autocast_embeds_in_the_autocast_dtype(dataset, monkeypatch):
    torch.manual_seed(0)
    layer = torch.nn.Linear(P, 40, bias=False)
    x = dataset.train.inputs.view(-1, 2, P)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fast = embed_onehot(layer, x)
        dense(monkeypatch)
        slow = tickets.embed_onehot(layer, x)
    assert fast.dtype == slow.dtype == torch.bfloat16
    assert torch.equal(fast, slow)


@pytest.mark.parametrize("method", ["snip", "grasp", "synflow"])
def test_pai_scores_are_unchanged(method, dataset, monkeypatch):
    """GraSP differentiates the gradient again: the lookup's double backward must hold too."""
    torch.manual_seed(0)
    model = TicketsMLP(P, 2, P, d_embed=40, hidden=12)
    inputs, labels = dataset.train.inputs, dataset.train.labels

    def scores():
        if method == "synflow":
            return prune.synflow_scores(model, inputs)
        return getattr(prune, f"{method}_scores")(model, inputs, labels)

    fast = scores()
    dense(monkeypatch)
    slow = scores()
    for key, value in fast.items():
        torch.testing.assert_close(value, slow[key], rtol=1e-4, atol=1e-9)


def run_config(mask: str | None = None, model: str = "tickets_mlp"):
    mlp = model == "tickets_mlp"
    sizes = {"d_embed": 40, "hidden": 12} if mlp else {"d_model": 16, "d_mlp": 24}
    return run_config_from_dict(
        {
            "paper": "tickets",
            "experiment": "speed",
            "run_id": "seed=3",
            "seed": 3,
            "data": {
                "name": "modular",
                "p": P,
                "operation": "add",
                "train_fraction": 0.5,
                "encoding": "onehot",
                "symmetric": True,
            },
            "model": {"name": model, **sizes},
            "optimizer": {"name": "adamw", "lr": 3e-3, "betas": [0.9, 0.98], "weight_decay": 1.0},
            "train": {"steps": 40, "batch_size": None, "eval_every": 20}
            | ({"mask": mask} if mask else {}),
        }
    )


def final_state(outdir):
    return torch.load(outdir / "final.pt", weights_only=False)["model"]


@pytest.mark.parametrize("model", ["tickets_mlp", "tickets_transformer"])
def test_training_is_bit_for_bit_deterministic_and_masked_weights_stay_zero(
    model, tmp_path, dataset
):
    torch.manual_seed(0)
    built = (MODELS["mlp"] if model == "tickets_mlp" else MODELS["transformer"])()
    state = {n: p.detach() for n, p in built.named_parameters()}
    mask = prune.global_mask(prune.magnitude_scores(state), 0.6)
    torch.save(mask, tmp_path / "mask.pt")
    states = []
    for name in ("a", "b"):
        train(run_config(str(tmp_path / "mask.pt"), model), tmp_path / name, threads=2)
        states.append(final_state(tmp_path / name))
    for key, value in states[0].items():
        assert torch.equal(value, states[1][key]), key
    assert float(states[0]["embed.weight"][mask["embed.weight"] == 0].abs().max()) == 0.0
    assert all(bool(states[0][key][m == 0].eq(0).all()) for key, m in mask.items())
    assert all(bool(states[0][key][m == 1].ne(0).any()) for key, m in mask.items())


def test_transformer_attention_matches_batched_matmuls(dataset):
    """The two-key attention by products and sums equals softmax(q k^T / sqrt(d)) v."""
    torch.manual_seed(0)
    model = TicketsTransformer(P, 2, P, d_model=16, n_heads=2, d_mlp=24)
    inputs = dataset.train.inputs
    n, heads, head = len(inputs), 2, 8
    x = model.embed(inputs.view(n, 2, P))
    q = model.query(x[:, -1:]).view(n, 1, heads, head).transpose(1, 2)
    k = model.key(x).view(n, 2, heads, head).transpose(1, 2)
    v = model.value(x).view(n, 2, heads, head).transpose(1, 2)
    weights = (q @ k.transpose(-1, -2) / head**0.5).softmax(dim=-1)
    h = x[:, -1] + model.attention_out((weights @ v).transpose(1, 2).reshape(n, -1))
    expected = model.unembed(h + model.outproj(torch.relu(model.inproj(h))))
    torch.testing.assert_close(model(inputs), expected, rtol=1e-5, atol=1e-6)
