"""Grokking Tickets: the paper config builds a consistent DAG (every ticket names a mask its base
run can make and starts from the base run's theta_0), one figure trains only its own runs, the
dry run plans every scale, and the smoke DAG draws every figure with claims."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from conftest import ROOT, run
from repro.claims import VERDICTS
from repro.plan import plan_paper

MASK_PATH = re.compile(
    r"results/(?P<scale>\w+)/tickets/masks/(?P<experiment>\w+)/(?P<run>[^/]+)/"
    r"(?P<method>[a-z0-9]+)_k=(?P<rate>[0-9.]+)_step=(?P<step>[0-9]+|final)\.pt"
)
TRAIN_JOB = re.compile(r"wildcards: scale=(\w+), paper=tickets, experiment=(\w+), run=(\S+)")
MASK_METHODS = {"magnitude", "random", "snip", "grasp", "synflow", "l1", "l2", "weights"}
MASK_JOB = re.compile(r"wildcards: scale=\w+, experiment=(\w+), run=\S+, method=(\w+)")


@pytest.mark.parametrize("scale", ["smoke", "laptop", "paper"])
def test_every_mask_is_made_from_a_saved_snapshot_of_a_matching_base(scale):
    runs = {run.key: run.config for run in plan_paper("tickets", scale)}
    derived = 0
    for config in runs.values():
        for path in filter(None, (config.train.mask, config.train.init_from)):
            match = MASK_PATH.fullmatch(path)
            assert match, path
            derived += 1
            base = runs[f"{match['experiment']}/{match['run']}"]
            step, method = match["step"], match["method"]
            if method in ("random", "snip", "grasp", "synflow"):
                assert step == "0", path  # pruning at initialisation scores theta_0
            assert step == "final" or int(step) in base.train.save_weights_at, path
            assert 0 in base.train.save_weights_at  # theta_0 is checked against it
            assert (config.seed, config.data) == (base.seed, base.data), path
            if method == "weights":  # a snapshot to start from (edge-popup): any model
                assert int(step) > 0 and float(match["rate"]) == 0, path
                continue
            # the same seed and model rebuild the base run's theta_0: the rewind
            assert config.model == base.model, path
    assert derived >= 15


def dry_run_jobs(repo, target, scale="smoke"):
    result = run(["snakemake", "-n", target, "--config", f"scale={scale}"], repo)
    assert result.returncode == 0, result.stderr[-3000:]
    trains = TRAIN_JOB.findall(result.stdout)
    masks = MASK_JOB.findall(result.stdout)
    return trains, masks


@pytest.mark.parametrize(
    "figure, experiments, bases",
    [
        ("fig1", {"base_mlp", "tickets_mlp"}, {"base_mlp"}),
        ("fig16", {"base_transformer", "tickets_transformer"}, {"base_transformer"}),
        ("fig5", {"base_mlp", "tickets_mlp", "controls_mlp", "pai_mlp"}, {"base_mlp"}),
        ("fig2d", {"base_poly", "tickets_poly"}, {"base_poly"}),
        ("fig15", {"base_poly", "base_parity"}, set()),
    ],
)
def test_one_figure_trains_only_its_base_and_its_tickets(repo_copy, figure, experiments, bases):
    trains, masks = dry_run_jobs(repo_copy, f"tickets_{figure}")
    assert {experiment for _, experiment, _ in trains} == experiments
    assert {experiment for experiment, _ in masks} == bases
    planned = [r for r in plan_paper("tickets", "smoke") if r.config.experiment in experiments]
    assert len(trains) == len(planned)


@pytest.mark.parametrize("scale", ["laptop", "paper"])
def test_dry_run_plans_every_run_at_scale(repo_copy, scale):
    trains, masks = dry_run_jobs(repo_copy, "tickets", scale)
    assert len(trains) == len(plan_paper("tickets", scale))
    assert masks and all(method in MASK_METHODS for _, method in masks)


@pytest.mark.slow
def test_smoke_dag_end_to_end(repo_copy):
    result = run(
        ["snakemake", "--cores", "2", "tickets", "--config", "scale=smoke"],
        repo_copy,
        timeout=2400,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = repo_copy / "paper_figures" / "tickets"
    spec = yaml.safe_load((ROOT / "config/papers/tickets.yaml").read_text())
    for figure in spec["figures"]:
        for suffix in (".png", ".pdf", ".md", ".csv", ".claims.json"):
            assert (figures / f"{figure}{suffix}").stat().st_size > 0, figure + suffix
    claims = json.loads((figures / "claims.json").read_text())
    assert claims["scale"] == "smoke" and len(claims["claims"]) >= len(spec["figures"])
    for claim in claims["claims"]:
        assert claim["verdict"] in VERDICTS
        assert claim["paper_value"] and claim["our_value"] and claim["criterion"]

    for path in figures.glob("fig5.*"):  # a figure by name: redrawn without training
        path.unlink()
    again = run(["snakemake", "--cores", "2", "tickets_fig5", "--config", "scale=smoke"], repo_copy)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "rule train:" not in again.stderr and "rule tickets_mask:" not in again.stderr
    assert (figures / "fig5.png").exists()
