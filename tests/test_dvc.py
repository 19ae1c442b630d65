"""DVC wiring: dvc.yaml's shape, the per-claim metrics and curves files, and make pull/push's
parsing. The round trip through a remote is `make test-dvc` (tests/dvc_roundtrip.py)."""

import json
import subprocess

import pandas as pd
import pytest
import yaml
from dvc_roundtrip import job_counts

from conftest import ROOT, run
from repro.dvc_views import claim_metrics, slug, write_claim_metrics, write_curves
from repro.share import ShareError, not_up_to_date, snakemake_target

# Modules that only draw, judge, report or wire commands: not deps of the runs stage, so a
# change to them does not mark runs stale. Every other module of src/repro must be a runs dep.
NOT_TRAINING = {
    "__init__.py",
    "__main__.py",
    "allocator.py",  # malloc thresholds: speed only, never a number
    "claims.py",
    "dvc_views.py",
    "figures.py",
    "papers",
    "report.py",
    "share.py",
}


def stages():
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def test_runs_stage_depends_on_all_training_code():
    deps = set(stages()["runs"]["do"]["deps"])
    for path in sorted((ROOT / "src" / "repro").iterdir()):
        if path.name in NOT_TRAINING or path.name == "__pycache__":
            continue
        assert f"src/repro/{path.name}" in deps, (
            f"src/repro/{path.name}: add it to the runs stage's deps in dvc.yaml, or to "
            "NOT_TRAINING here if it cannot change a run's results"
        )


def test_every_output_persists_and_every_cmd_hands_over_to_snakemake():
    for name, stage in stages().items():
        stage = stage.get("do", stage)
        snakemake_target(name, stage["cmd"])
        for section in ("outs", "metrics", "plots"):
            for entry in stage.get(section, []):
                (path, options), *_ = entry.items()
                assert options.get("persist") is True, f"{name}: {path} needs persist: true"


def test_dvc_reads_the_pipeline(repo_copy, tmp_path):
    subprocess.run(["git", "init", "--quiet"], cwd=repo_copy, check=True)
    # DVC's state and index for this repository in tmp_path, not in /var/tmp/dvc
    (repo_copy / ".dvc" / "config.local").write_text(f"[core]\nsite_cache_dir = {tmp_path}/dvc\n")
    listed = run(["dvc", "stage", "list", "--name-only"], repo_copy)
    assert listed.returncode == 0, listed.stderr
    papers = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["papers"]
    expected = {f"{group}@{paper}" for paper in papers for group in ("runs", "figures")}
    assert set(listed.stdout.split()) == expected | {"report"}
    ignored = run(
        [
            "dvc",
            "check-ignore",
            "results/smoke/p/e/r/checkpoints/step_1.pt",
            "src/x/__pycache__/m.pyc",
        ],
        repo_copy,
    )
    assert ignored.returncode == 0 and len(ignored.stdout.split()) == 2, ignored.stdout


def claims_file(tmp_path, statements):
    claims = [
        {
            "figure": figure,
            "statement": statement,
            "paper_value": f"paper {i}",
            "our_value": f"ours {i}",
            "criterion": "c",
            "verdict": "reproduced",
        }
        for i, (figure, statement) in enumerate(statements)
    ]
    path = tmp_path / "claims.json"
    path.write_text(json.dumps({"paper": "p", "title": "t", "scale": "smoke", "claims": claims}))
    return path


def test_one_metrics_file_per_claim(tmp_path):
    path = claims_file(
        tmp_path,
        [
            ("fig1", "The MLP (2x512) does not grok within the budget."),
            ("fig1", "The MLP (2x512) does not grok within the budget, again."),
            ("fig2", "Grokking is most pronounced near 50% training data."),
        ],
    )
    assert slug("The MLP (2x512) does not grok.") == "mlp_2x512_does_not_grok"
    assert list(claim_metrics(path)) == [
        "fig1.mlp_2x512_does_not_grok",
        "fig1.mlp_2x512_does_not_grok_2",
        "fig2.grokking_most_pronounced_near_50",
    ]
    out = tmp_path / "metrics"
    out.mkdir()
    (out / "fig9.a_claim_since_removed.json").write_text("{}")
    write_claim_metrics(path, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "fig1.mlp_2x512_does_not_grok.json",
        "fig1.mlp_2x512_does_not_grok_2.json",
        "fig2.grokking_most_pronounced_near_50.json",
    ]
    first = json.loads((out / "fig1.mlp_2x512_does_not_grok.json").read_text())
    assert first == {"paper": "paper 0", "ours": "ours 0", "verdict": "reproduced"}


def test_curves_csv_names_runs_by_experiment(tmp_path):
    files = []
    for experiment in ("models", "optimizers"):
        folder = tmp_path / experiment
        folder.mkdir()
        frame = pd.DataFrame(
            {
                "step": [10, 0],
                "split": ["val", "val"],
                "loss": [1.0, 2.0],
                "accuracy": [0.5, 0.1],
                "run_id": ["seed=0", "seed=0"],
            }
        )
        frame.to_parquet(folder / "curves.parquet")
        files.append(folder / "curves.parquet")
    assert write_curves(files, tmp_path / "curves.csv") == 4
    table = pd.read_csv(tmp_path / "curves.csv")
    assert list(table.columns) == ["run", "split", "step", "accuracy", "loss"]
    assert table["run"].tolist() == ["models/seed=0"] * 2 + ["optimizers/seed=0"] * 2
    assert table["step"].tolist() == [0, 10, 0, 10]


DRY_RUN = """Building DAG of jobs...
Job stats:
job                count
---------------  -------
train                 14
learning_curves        1
total                 15

rule train:
    ...
Job stats:
job                count
---------------  -------
train                 14
learning_curves        1
total                 15

This was a dry-run (flag -n).
"""


def test_job_counts_reads_the_first_job_summary():
    assert job_counts(DRY_RUN) == {"train": 14, "learning_curves": 1}
    nothing = "Building DAG of jobs...\nNothing to be done (all requested files are present)."
    assert job_counts(nothing) == {}


def test_stage_cmd_convention():
    assert snakemake_target("runs@p", "snakemake --cores all p_runs") == "p_runs"
    with pytest.raises(ShareError, match="stage x: cmd must start"):
        snakemake_target("x", "python train.py")


SUMMARY = """output_file\tdate\trule\tlog-file(s)\tstatus\tplan
paper_figures/REPORT.md\tSun Nov 29 23:38:10 2026\treport\tlogs/r.log\tok\tno update
paper_figures/p/fig3.png\t-\tfigure\tlogs/f.log\tmissing\tno update
results/x/final.pt\tSun Nov 29 23:38:10 2026\ttrain\tlogs/t.log\tok\tupdate pending
"""


def test_push_sees_missing_and_stale_outputs_that_a_dry_run_does_not():
    assert not_up_to_date("Building DAG of jobs...\n" + SUMMARY) == [
        ("paper_figures/p/fig3.png", "missing"),
        ("results/x/final.pt", "update pending"),
    ]
    with pytest.raises(ShareError, match="no table"):
        not_up_to_date("Building DAG of jobs...")
