"""End-to-end smoke run of Furuta et al. (modular polynomials): every figure, table and claim,
pre-grokked runs trained after their upstream run, FFD/FCR logged in the runs' metrics."""

import json

import pandas as pd
import pytest
import yaml

from conftest import run
from repro.claims import VERDICTS

PAPER = "modular_polynomials"


@pytest.mark.slow
def test_smoke_pipeline_end_to_end(repo_copy):
    result = run(
        ["snakemake", "--cores", "2", PAPER, "--config", "scale=smoke"],
        repo_copy,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    spec = yaml.safe_load((repo_copy / f"config/papers/{PAPER}.yaml").read_text())
    figures = repo_copy / "paper_figures" / PAPER
    for figure in spec["figures"]:
        for suffix in (".png", ".pdf", ".md", ".csv", ".claims.json"):
            assert (figures / f"{figure}{suffix}").stat().st_size > 0, figure + suffix
    claims = json.loads((figures / "claims.json").read_text())
    assert claims["scale"] == "smoke" and len(claims["claims"]) >= 25
    for claim in claims["claims"]:
        assert claim["verdict"] in VERDICTS
        assert claim["paper_value"] and claim["our_value"] and claim["criterion"]

    results = repo_copy / "results" / "smoke" / PAPER
    curves = pd.read_parquet(results / "scratch" / "curves.parquet")
    for column in ("ffd_we", "fcr_we", "ffd_wl", "fcr_wl", "we_cos_1", "wl_sin_5"):
        assert curves[column].between(0, 1).all() or column.startswith("w"), column
        assert curves[column].notna().all(), column
    multitask = pd.read_parquet(results / "multitask" / "curves.parquet")
    assert {"accuracy_task0", "accuracy_task1", "accuracy_task2"} <= set(multitask.columns)
    # the pre-grokked embedding really is the upstream run's, and stayed frozen
    import torch

    upstream = torch.load(
        results / "pretrain" / "operation=add_seed=0" / "final.pt", weights_only=False
    )["model"]
    downstream = torch.load(
        results / "pg" / "add_e_operation=mul_train_fraction=0.3_seed=0" / "final.pt",
        weights_only=False,
    )["model"]
    assert torch.equal(upstream["embed.weight.weight"], downstream["embed.weight.weight"])
    assert not torch.equal(upstream["unembed.weight"], downstream["unembed.weight"])
