"""Bundles in the workflow: which planned runs train together, and the Snakemake rules that
train them (one per bundle, outputs = the member runs' files, before the plain train rule)."""

import json

import pandas as pd
import pytest
import yaml

from conftest import run
from repro.bundles import plan_bundles
from repro.config import ConfigError

DEMO = {
    "paper": "bundle_demo",
    "title": "Bundles in the workflow (test only)",
    "base": {
        "seed": 0,
        "data": {"name": "modular", "p": 11, "operation": "add", "train_fraction": 0.5,
                 "encoding": "onehot"},
        "model": {"name": "mlp", "hidden": 16, "n_layers": 2},
        "optimizer": {"name": "adamw", "lr": 3.0e-3, "weight_decay": 1.0},
        "train": {"steps": 30, "batch_size": 16, "eval_every": 10, "checkpoint_every": 10},
    },
    "experiments": {
        "seeds": {
            "description": "Two weight decays of an MLP and a transformer, three seeds each.",
            "bundle": 4,
            "variants": {
                "mlp": {},
                "mlp_wd0": {"optimizer": {"weight_decay": 0.0}},
                "transformer": {
                    "model": {"name": "transformer", "n_layers": 1, "d_model": 16, "n_heads": 2,
                              "d_mlp": 32},
                    "data": {"encoding": "tokens"},
                },
            },
            "grid": {"seed": [0, 1, 2]},
        }
    },
    "figures": {"fig1": {"title": "Demo", "experiments": ["seeds"]}},
}  # fmt: skip
TARGET = "results/smoke/bundle_demo/seeds/curves.parquet"


@pytest.fixture
def demo_repo(repo_copy):
    (repo_copy / "config/papers/bundle_demo.yaml").write_text(yaml.safe_dump(DEMO))
    return repo_copy


def test_plan_groups_stackable_runs_in_chunks(monkeypatch, tmp_path):
    import repro.plan

    papers = tmp_path / "config" / "papers"
    papers.mkdir(parents=True)
    (papers / "bundle_demo.yaml").write_text(yaml.safe_dump(DEMO))
    monkeypatch.setattr(repro.plan, "ROOT", tmp_path)
    monkeypatch.setattr(repro.plan, "PAPERS_DIR", papers)
    bundles = plan_bundles("bundle_demo", "smoke")
    assert [b.run_ids for b in bundles] == [
        ["mlp_seed=0", "mlp_seed=1", "mlp_seed=2", "mlp_wd0_seed=0"],
        ["mlp_wd0_seed=1", "mlp_wd0_seed=2"],
    ]
    assert bundles[0].state_dir == "results/smoke/bundle_demo/seeds/bundles/bundle_mlp_seed=0"
    spec = json.loads(json.dumps(DEMO))
    spec["experiments"]["seeds"]["variants"]["mlp_wd0"]["train"] = {"dtype": "float64"}
    (papers / "bundle_demo.yaml").write_text(yaml.safe_dump(spec))
    assert [b.run_ids for b in plan_bundles("bundle_demo", "smoke")] == [
        ["mlp_seed=0", "mlp_seed=1", "mlp_seed=2"]  # float64 runs train alone
    ]
    lstm = {"name": "lstm", "hidden": 4, "d_embed": 4}
    spec["experiments"]["seeds"]["variants"]["mlp_wd0"]["train"] = {"autocast": "bf16"}
    spec["experiments"]["seeds"]["variants"]["mlp_wd0"]["model"] = lstm
    (papers / "bundle_demo.yaml").write_text(yaml.safe_dump(spec))
    assert [b.run_ids for b in plan_bundles("bundle_demo", "smoke")] == [
        ["mlp_seed=0", "mlp_seed=1", "mlp_seed=2"]  # so do lstm runs under bf16 autocast
    ]
    spec["experiments"]["seeds"]["bundle"] = 1
    (papers / "bundle_demo.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(ConfigError, match="bundle"):
        plan_bundles("bundle_demo", "smoke")


def test_dry_run_trains_bundles_and_the_rest_alone(demo_repo):
    result = run(["snakemake", "-n", TARGET, "--config", "scale=smoke"], demo_repo)
    assert result.returncode == 0, result.stderr
    jobs = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("rule ")]
    assert sorted(jobs) == [
        "aggregate:",
        "train:",
        "train:",
        "train:",
        "train_bundle_demo_seeds_bundle_mlp_seed_0:",
        "train_bundle_demo_seeds_bundle_mlp_wd0_seed_1:",
    ]


def test_opted_in_paper_experiments_dry_run_at_paper_scale(repo_copy):
    target = "results/paper/exploring_grokking/models/curves.parquet"
    result = run(["snakemake", "-n", target, "--config", "scale=paper"], repo_copy)
    assert result.returncode == 0, result.stderr
    assert "rule train_exploring_grokking_models_bundle_lstm_seed_0:" in result.stdout
    assert "rule train_exploring_grokking_models_bundle_mlp_seed_0:" in result.stdout


def test_smoke_run_of_an_experiment_that_opts_in(demo_repo):
    result = run(["snakemake", "--cores", "2", TARGET, "--config", "scale=smoke"], demo_repo)
    assert result.returncode == 0, result.stderr[-3000:]
    folder = demo_repo / "results/smoke/bundle_demo/seeds"
    curves = pd.read_parquet(folder / "curves.parquet")
    assert curves["run_id"].nunique() == 9
    for variant in ("mlp", "mlp_wd0", "transformer"):
        for seed in range(3):
            run_dir = folder / f"{variant}_seed={seed}"
            for name in ("config.json", "metrics.parquet", "final.pt", "provenance.json"):
                assert (run_dir / name).exists(), run_dir / name
            provenance = json.loads((run_dir / "provenance.json").read_text())
            assert ("bundle" in provenance) == (variant != "transformer")
            assert provenance["steps_done"] == 30
    assert list((folder / "bundles/bundle_mlp_seed=0/checkpoints").glob("step_*.pt"))
    again = run(["snakemake", "-n", TARGET, "--config", "scale=smoke"], demo_repo)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_train_bundle_cli_help_and_one_line_errors(tmp_path):
    from repro.__main__ import main

    assert main(["train-bundle", "exploring_grokking/models/nothing", "--scale", "smoke"]) == 2
    assert main(["train-bundle", "not-a-run"]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["train-bundle", "--help"])
    assert exit_info.value.code == 0
