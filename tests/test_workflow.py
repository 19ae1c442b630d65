"""The Snakemake DAG: dry runs at every scale, lint, config errors, and an end-to-end smoke run."""

import json

import pytest
import yaml

from conftest import run
from repro.claims import VERDICTS

PAPER_YAML = "config/papers/exploring_grokking.yaml"


@pytest.mark.parametrize("scale", ["smoke", "laptop", "paper"])
def test_dry_run_plans_the_whole_dag(repo_copy, scale):
    result = run(["snakemake", "-n", "--config", f"scale={scale}"], repo_copy)
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout and "report" in result.stdout


def test_lint_and_format(repo_copy):
    lint = run(["snakemake", "--lint"], repo_copy)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = run(["snakefmt", "--check", "Snakefile", "workflow/rules"], repo_copy)
    assert fmt.returncode == 0, fmt.stderr


def edit_paper(repo, path, value):
    spec = yaml.safe_load((repo / PAPER_YAML).read_text())
    node = spec
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    (repo / PAPER_YAML).write_text(yaml.safe_dump(spec))


@pytest.mark.parametrize(
    "config, edit, message",
    [
        (["scale=huge"], None, "config error: config: scale: 'huge' is not one of"),
        (["threads_per_run=0"], None, "config error: config: threads_per_run"),
        ([], (["base", "data", "p"], 91), "data.p: 91 is not prime"),
        ([], (["base", "data", "operation"], "a%b"), "data.operation: 'a%b' may only use"),
        ([], (["base", "data", "train_fraction"], 1.2), "data.train_fraction: 1.2 is greater"),
        ([], (["base", "model", "name"], "resnet"), "model.name: 'resnet' is not one of"),
        ([], (["base", "optimizer", "name"], "lion"), "optimizer.name: 'lion' is not one of"),
    ],
)
def test_bad_config_fails_with_one_line_before_any_job(repo_copy, config, edit, message):
    if edit:
        edit_paper(repo_copy, *edit)
    result = run(["snakemake", "-n", "--config", *config], repo_copy)
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if message in line]
    assert lines, result.stdout + result.stderr
    assert lines[0].startswith("config error:") and len(lines[0]) < 300
    assert not (repo_copy / "results").exists()


# One figure of each other paper, chosen to cross its special wiring: tickets' masks made from
# a base run, pre-grokked runs loading an upstream checkpoint, the eNTK measure, Grokfast's
# filters. Each paper's whole smoke DAG runs in its own slow test (make test-slow).
OTHER_FIGURES = ["grokfast_fig2", "tickets_fig1", "modular_polynomials_fig2", "why_grok_fig1"]


def test_smoke_pipeline_end_to_end(repo_copy):
    papers = 'papers=["exploring_grokking"]'
    result = run(
        ["snakemake", "--cores", "2", "all", *OTHER_FIGURES, "--config", "scale=smoke", papers],
        repo_copy,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for target in OTHER_FIGURES:
        paper, figure = target.rsplit("_", 1)
        assert (repo_copy / "paper_figures" / paper / f"{figure}.claims.json").exists(), target
    figures = repo_copy / "paper_figures" / "exploring_grokking"
    spec = yaml.safe_load((repo_copy / PAPER_YAML).read_text())
    for figure in spec["figures"]:
        for suffix in (".png", ".pdf", ".md", ".csv", ".claims.json"):
            assert (figures / f"{figure}{suffix}").stat().st_size > 0
    claims = json.loads((figures / "claims.json").read_text())
    assert claims["scale"] == "smoke" and len(claims["claims"]) >= 6
    for claim in claims["claims"]:
        assert claim["verdict"] in VERDICTS
        assert claim["paper_value"] and claim["our_value"] and claim["criterion"]
    report = (repo_copy / "paper_figures" / "REPORT.md").read_text()
    assert "![fig1](exploring_grokking/fig1.png)" in report and "not run at this scale" in report

    # one figure by name rebuilds from the logged runs, without training
    for path in figures.glob("fig1.*"):
        path.unlink()
    again = run(
        ["snakemake", "--cores", "2", "exploring_grokking_fig1", "--config", "scale=smoke"],
        repo_copy,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert (figures / "fig1.png").exists()
    assert "rule train:" not in again.stderr and "rule figure:" in again.stderr

    html = run(
        ["snakemake", "--report", "report.html", "--config", "scale=smoke", papers], repo_copy
    )
    assert html.returncode == 0, html.stderr[-3000:]
    assert (repo_copy / "report.html").stat().st_size > 10_000


@pytest.mark.slow
def test_grokfast_smoke_dag_end_to_end(repo_copy):
    result = run(
        ["snakemake", "--cores", "2", "grokfast", "--config", "scale=smoke"],
        repo_copy,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    spec = yaml.safe_load((repo_copy / "config/papers/grokfast.yaml").read_text())
    for figure in spec["figures"]:
        for suffix in (".png", ".pdf", ".md", ".csv", ".claims.json"):
            assert (repo_copy / "paper_figures/grokfast" / f"{figure}{suffix}").exists()
    claims = json.loads((repo_copy / "paper_figures/grokfast/claims.json").read_text())
    assert claims["scale"] == "smoke" and claims["claims"]
