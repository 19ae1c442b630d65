"""Runs built on other runs: initial state from a file, frozen parameters, a fixed mask,
weight snapshots, and the planner filling in the upstream paths."""

import pytest
import torch

from repro.config import ConfigError, run_config_from_dict
from repro.plan import fill_upstream_paths, upstream_files
from repro.train import train


def final_model(path):
    return torch.load(path / "final.pt", weights_only=False)["model"]


def test_mask_stays_fixed_and_masked_weights_stay_zero(tiny_run, tmp_path):
    train(run_config_from_dict(tiny_run), tmp_path / "base", progress=False)
    state = final_model(tmp_path / "base")
    generator = torch.Generator().manual_seed(0)
    masks = {
        name: (torch.rand(value.shape, generator=generator) < 0.3).float()
        for name, value in state.items()
        if name.endswith("weight") and value.dim() == 2
    }
    torch.save(masks, tmp_path / "mask.pt")
    tiny_run["train"]["mask"] = str(tmp_path / "mask.pt")
    train(run_config_from_dict(tiny_run), tmp_path / "ticket", progress=False)
    ticket = final_model(tmp_path / "ticket")
    for name, mask in masks.items():
        assert torch.all(ticket[name][mask == 0] == 0), name
        assert torch.count_nonzero(ticket[name][mask == 1]) == int(mask.sum()), name


def test_init_from_and_freeze(tiny_run, tmp_path):
    tiny_run["train"]["save_weights_at"] = [0, 20]
    train(run_config_from_dict(tiny_run), tmp_path / "base", progress=False)
    assert sorted(p.name for p in (tmp_path / "base" / "weights").iterdir()) == [
        "step_000000000.pt",
        "step_000000020.pt",
    ]
    base = final_model(tmp_path / "base")
    embedding = [name for name in base if name.startswith("embed")]
    assert embedding
    prefix = embedding[0].split(".")[0]
    tiny_run["seed"] = 1  # another init: only the loaded part may equal the base run
    tiny_run["train"].update(
        init_from=str(tmp_path / "base" / "final.pt"), init_parameters=[prefix], freeze=[prefix]
    )
    train(run_config_from_dict(tiny_run), tmp_path / "frozen", progress=False)
    frozen = final_model(tmp_path / "frozen")
    for name in base:
        same = torch.equal(frozen[name], base[name])
        assert same == name.startswith(prefix + "."), name


def test_a_prefix_that_matches_nothing_is_a_config_error(tiny_run, tmp_path):
    tiny_run["train"]["freeze"] = ["embedding_typo"]
    with pytest.raises(ConfigError, match="train.freeze: 'embedding_typo' matches no parameter"):
        train(run_config_from_dict(tiny_run), tmp_path, progress=False)


def test_planner_fills_in_upstream_paths(tiny_run):
    tiny_run["seed"] = 2
    tiny_run["train"]["init_from"] = "results/{scale}/{paper}/base/seed={seed}/final.pt"
    fill_upstream_paths(tiny_run, scale="smoke", paper="tickets")
    config = run_config_from_dict(tiny_run)
    assert upstream_files(config) == ["results/smoke/tickets/base/seed=2/final.pt"]
