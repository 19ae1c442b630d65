"""profiles/slurm without a cluster: it plans the paper-scale DAG with GPU training jobs, and
profiles/default (loaded as the workflow profile under --profile) cannot silently change it.
The real cluster is tested by tests/slurm (`make test-slurm`)."""

import re

import yaml

from conftest import ROOT, run

PROFILES = ROOT / "profiles"


def profile(name):
    return yaml.safe_load((PROFILES / name / "config.yaml").read_text())


def test_default_profile_does_not_override_the_slurm_profile():
    """Under `--profile profiles/slurm`, profiles/default overrides each key it sets."""
    slurm, default = profile("slurm"), profile("default")
    assert slurm["executor"] == "slurm" and "executor" not in default
    for key in default.keys() & slurm.keys():
        assert default[key] == slurm[key], key


def job_resources(dry_run_output):
    """[(rule, {resource: value})] of every job in a dry run."""
    jobs = re.findall(r"^rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", dry_run_output, re.M)
    return [(rule, dict(item.split("=", 1) for item in line.split(", "))) for rule, line in jobs]


def test_slurm_dry_run_plans_gpu_training_jobs_at_paper_scale(repo_copy):
    """Without a cluster (a dry run never submits). At smoke scale gpu=0: make test-slurm's
    jobs run on a node without GPUs."""
    result = run(
        ["snakemake", "-n", "--profile", "profiles/slurm", "--config", "scale=paper"], repo_copy
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Using profiles profiles/slurm and workflow specific profile profiles/default" in (
        result.stderr
    )
    train = [resources for rule, resources in job_resources(result.stdout) if rule == "train"]
    assert len(train) > 10
    for resources in train:  # 1e5 steps: hours, a GPU, and room for a CUDA context
        assert resources["gpu"] == "1" and resources["mem_mb"] == "8000"
        assert int(resources["runtime"]) >= 60


def test_only_training_goes_to_the_cluster():
    """Every rule that runs a command is a localrule (login node), except `train`."""
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for name, body in re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", path.read_text(), re.M):
            runs_something = re.search(r"^\s+(shell|run|script|notebook|wrapper):", body, re.M)
            local = re.search(r"^\s+localrule:\s+True", body, re.M)
            if name == "train":
                assert not local, "train must be submitted"
            elif runs_something:
                assert local, f"{path.name}: rule {name} would be submitted to SLURM"
