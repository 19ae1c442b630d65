"""The DAG on a real one-node SLURM cluster (scripts/slurm/up.sh). Run by `make test-slurm`,
which starts the cluster and sets REPRO_SLURM_TEST=1; skipped in `make test`.

1. `snakemake --profile profiles/slurm` (the README's command) submits every training job with
   sbatch (sacct lists them) and none of the local rules, and ends with the same metrics,
   weights, tables and claims as a local run of the same DAG.
2. A training job preempted (`scontrol requeue`) and then cancelled (`scancel`) mid-training
   checkpoints on SIGTERM each time, is requeued by SLURM and then resubmitted by Snakemake
   with twice the time and memory, resumes, and ends identical to an uninterrupted run.
3. On a cluster without accounting the plugin's default status command (sacct: the binary
   exists, every query fails) hangs; the profile's `slurm-status-command: squeue` finishes.
(With accounting, sacct polling would also hang on 2: sacct says "CANCELLED by 0", which the
plugin does not take for a failure. squeue says CANCELLED: hence the profile's choice.)
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from datetime import datetime, timedelta

import pandas as pd
import pytest
import torch
import yaml

from conftest import ROOT, run, shell_env

pytestmark = pytest.mark.skipif(
    os.environ.get("REPRO_SLURM_TEST") != "1",
    reason="needs the test SLURM cluster: run `make test-slurm`",
)

PAPER = "exploring_grokking"
# Test 1's target: one figure of the smoke DAG by default (3 training jobs, 2.5 min). Each SLURM
# job starts Snakemake twice (the plugin's job step, then srun) before it trains: ~20 s a job on
# 2 cores, so the paper's whole smoke DAG (14 jobs; its SLURM run alone took 6.5 min here) is
# left to REPRO_SLURM_TARGET=exploring_grokking make test-slurm.
TARGET = os.environ.get("REPRO_SLURM_TARGET", f"{PAPER}_fig1")
# Tests 2 and 3 poll job states every few seconds instead of the plugin's 40 s and more: it
# changes how often Snakemake asks, not what it submits. Test 1 runs the README's command as is.
FAST_POLL = [
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--seconds-between-status-checks",
    "2",
]
SMOKE = ["--config", "scale=smoke"]


def sacct(run_id: str) -> list[dict]:
    """The jobs of one Snakemake run (its jobs are all named after the run id), oldest first."""
    since = (datetime.now() - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%S")
    fields = ["JobIDRaw", "State", "Comment", "Timelimit", "ReqMem"]
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-D", "--name", run_id, "-S", since, "-o",
         ",".join(f"{f}%300" if f == "Comment" else f for f in fields)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines()]


def run_id_of(log: str) -> str:
    match = re.search(r"SLURM run ID: (\S+)", log)
    assert match, log[-3000:]
    return match.group(1)


def submitted_job_ids(log: str) -> list[str]:
    return re.findall(r"has been submitted with SLURM jobid (\d+)", log)


def minutes(limit: str) -> int:
    """sacct's Timelimit, [D-]HH:MM:SS, in minutes."""
    days, _, clock = limit.rpartition("-")
    hours, mins, _ = (int(part) for part in clock.split(":"))
    return (int(days or 0) * 24 + hours) * 60 + mins


def slurm_state(job_id: str) -> str:
    """What slurmctld says about a job (squeue keeps finished jobs for MinJobAge, 5 min)."""
    return subprocess.run(
        ["squeue", "-h", "--states=all", "-j", job_id, "-o", "%T"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def trained_runs(repo):
    return sorted(p.parent.relative_to(repo) for p in (repo / "results").rglob("final.pt"))


def read_table(path):
    """A figure's table without its timing columns (wall time differs between any two runs)."""
    table = pd.read_csv(path)
    return table.drop(columns=[c for c in table.columns if "time" in c])


def assert_same_outputs(a, b):
    """Metrics and weights of every run, and every claim and table are identical (but the
    tables' timing columns)."""
    runs = trained_runs(a)
    assert runs and runs == trained_runs(b)
    for run_dir in runs:
        pd.testing.assert_frame_equal(
            pd.read_parquet(a / run_dir / "metrics.parquet"),
            pd.read_parquet(b / run_dir / "metrics.parquet"),
            check_exact=True,
        )
        wa, wb = (torch.load(r / run_dir / "final.pt", weights_only=False)["model"] for r in (a, b))
        assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa), run_dir
    claims = sorted(p.relative_to(a) for p in a.glob("paper_figures/**/*.json"))
    assert claims == sorted(p.relative_to(b) for p in b.glob("paper_figures/**/*.json"))
    for path in claims:
        assert (a / path).read_text() == (b / path).read_text(), path
    for path in sorted(p.relative_to(a) for p in a.glob("paper_figures/**/*.csv")):
        pd.testing.assert_frame_equal(read_table(a / path), read_table(b / path), check_exact=True)


def clone(repo, where):
    shutil.copytree(repo, where, ignore=shutil.ignore_patterns(".snakemake", "results", "logs"))
    return where


def start(command, cwd, log_path):
    """Snakemake in the background, its output in log_path."""
    with open(log_path, "w") as out:
        return subprocess.Popen(
            command, cwd=cwd, env=shell_env(), stdout=out, stderr=subprocess.STDOUT
        )


def finish(process, log_path, timeout):
    """Wait for a background Snakemake; on timeout, stop it (SIGINT lets the plugin scancel
    its jobs; SIGTERM is not enough, env-notes.md) and fail."""
    try:
        assert process.wait(timeout=timeout) == 0, log_path.read_text()[-5000:]
    except subprocess.TimeoutExpired:
        stop(process)
        raise


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def local_reference(repo, target, tmp_path):
    """The same DAG in a copy of repo, run locally; it trains while the cluster run waits for
    its status polls (the test's time, not the comparison, gains from running both at once)."""
    local = clone(repo, tmp_path / "local")
    log_path = tmp_path / "local.log"
    return local, log_path, start(["snakemake", "--cores", "1", target, *SMOKE], local, log_path)


def test_profile_submits_every_training_job_and_matches_a_local_run(repo_copy, tmp_path):
    """The smoke DAG of TARGET, exactly as the README says, and the same locally."""
    local, local_log, local_run = local_reference(repo_copy, TARGET, tmp_path)
    on_slurm = run(["snakemake", "--profile", "profiles/slurm", TARGET, *SMOKE], repo_copy, 1200)
    log = on_slurm.stdout + on_slurm.stderr
    finish(local_run, local_log, 600)
    assert on_slurm.returncode == 0, log[-5000:]
    assert "Using profiles profiles/slurm and workflow specific profile profiles/default" in log

    # sacct lists one completed job per training run, and nothing else went through sbatch
    jobs = sacct(run_id_of(log))
    runs = trained_runs(repo_copy)
    assert len(jobs) == len(runs) == len(submitted_job_ids(log)) > 0
    assert all(job["State"] == "COMPLETED" for job in jobs), jobs
    comments = {job["Comment"] for job in jobs}
    expected = {"rule_train_wildcards_" + "_".join(run_dir.parts[1:]) for run_dir in runs}
    assert comments == expected

    assert list(repo_copy.glob("paper_figures/**/*.claims.json"))
    assert_same_outputs(repo_copy, local)


def edit_smoke_training(repo, **train):
    path = repo / "config" / "papers" / f"{PAPER}.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["scales"]["smoke"]["train"].update(train)
    path.write_text(yaml.safe_dump(spec))


def planned_outdir(repo, experiment):
    env = {**shell_env(), "PYTHONPATH": str(repo / "src")}
    plan = subprocess.run(
        ["python", "-m", "repro", "plan", PAPER, "--scale", "smoke"],
        cwd=repo, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return next(outdir for outdir in plan if f"/{experiment}/" in outdir)


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def test_preempted_and_cancelled_job_resumes_and_ends_identical(repo_copy, tmp_path):
    """One long smoke run (no periodic checkpoints: only SIGTERM writes one), started with the
    README's other form, `--workflow-profile profiles/slurm`."""
    steps = 3000  # ~18 s of training at the smoke model's ~170 steps/s
    edit_smoke_training(repo_copy, steps=steps, eval_every=100, checkpoint_every=0)
    outdir = planned_outdir(repo_copy, "train_fraction")
    target = f"{outdir}/final.pt"
    log_path = tmp_path / "snakemake.log"
    train_log = repo_copy / outdir / "log.txt"

    def log():
        return log_path.read_text() if log_path.exists() else ""

    def training_log():
        return train_log.read_text() if train_log.exists() else ""

    def step_reached(fraction):
        done = re.findall(rf"step (\d+)/{steps} ", training_log())
        return done and int(done[-1]) >= fraction * steps

    local, local_log, local_run = local_reference(repo_copy, target, tmp_path)
    command = ["snakemake", "--workflow-profile", "profiles/slurm", target, *FAST_POLL, *SMOKE]
    snakemake = start(command, repo_copy, log_path)
    try:
        # preemption: SLURM takes the node back (SIGTERM), requeues the job, runs it again
        wait_for(lambda: step_reached(0.2), 180, "training to pass 20%")
        first = submitted_job_ids(log())[0]
        subprocess.run(["scontrol", "requeue", first], check=True)
        # SLURM holds a requeued job back for 2 minutes; an admin may release it sooner
        wait_for(lambda: slurm_state(first) == "PENDING", 60, "the job to be requeued")
        subprocess.run(["scontrol", "update", f"jobid={first}", "StartTime=now"], check=True)
        wait_for(lambda: training_log().count("resumed from") == 1, 180, "the requeued job")
        # cancellation: SLURM says CANCELLED, Snakemake resubmits it (attempt 2)
        wait_for(lambda: step_reached(0.6), 180, "training to pass 60%")
        subprocess.run(["scancel", first], check=True)
        finish(snakemake, log_path, 300)
        finish(local_run, local_log, 300)
    finally:
        stop(snakemake)
        stop(local_run)

    text = training_log()
    stops = [int(s) for s in re.findall(r"signal 15: checkpoint written at step (\d+)", text)]
    provenance = json.loads((repo_copy / outdir / "provenance.json").read_text())
    assert len(stops) == 2 and provenance["resumed_from_steps"] == stops, text
    assert 0.2 * steps <= stops[0] < stops[1] < steps

    jobs = sacct(run_id_of(log()))
    first_job = [job for job in jobs if job["JobIDRaw"] == first]
    retry = [job for job in jobs if job["JobIDRaw"] != first]
    # sacct -D: both runs of the first job; scancel reads "CANCELLED by <uid>" there
    assert [job["State"].split()[0] for job in first_job] == ["REQUEUED", "CANCELLED"], jobs
    assert len(retry) == 1 and retry[0]["State"] == "COMPLETED", jobs
    # attempt 2 asks for twice the time and memory (train_runtime, train_mem_mb)
    assert retry[0]["ReqMem"] == "2000M" and first_job[0]["ReqMem"] == "1000M", jobs
    assert minutes(retry[0]["Timelimit"]) == 2 * minutes(first_job[0]["Timelimit"]), jobs

    assert_same_outputs(repo_copy, local)


@pytest.fixture
def cluster_without_accounting():
    up = ROOT / "scripts" / "slurm" / "up.sh"
    subprocess.run([up, "--no-accounting"], check=True, capture_output=True)
    yield
    subprocess.run([up], check=True, capture_output=True)  # as make test-slurm found it


def test_without_accounting_sacct_polling_hangs_and_the_profile_finishes(
    repo_copy, tmp_path, cluster_without_accounting
):
    disabled = subprocess.run(["sacct", "-X", "-n"], capture_output=True, text=True)
    assert "accounting storage is disabled" in disabled.stderr
    target = f"{planned_outdir(repo_copy, 'train_fraction')}/final.pt"
    squeue_copy = clone(repo_copy, tmp_path / "squeue")

    # the plugin's default where the sacct binary exists: every query fails, the job is dropped
    log_path = tmp_path / "hang.log"
    command = ["snakemake", "--profile", "profiles/slurm", target, "--slurm-status-command",
               "sacct", "--verbose", *FAST_POLL, *SMOKE]  # fmt: skip
    hanging = start(command, repo_copy, log_path)
    try:
        job = wait_for(lambda: submitted_job_ids(log_path.read_text()), 120, "the submission")[0]
        wait_for(lambda: slurm_state(job) == "COMPLETED", 120, f"SLURM job {job} to complete")
        with pytest.raises(subprocess.TimeoutExpired):
            hanging.wait(timeout=20)  # the job is done in SLURM, Snakemake still waits
    finally:
        stop(hanging)
    hang_log = log_path.read_text()
    # every query failed, the plugin gave the job up, and now polls nothing, forever
    assert "accounting storage is disabled" in hang_log
    assert "No active jobs; skipping status query." in hang_log

    # the profile as it is (slurm-status-command: squeue)
    fixed = run(
        ["snakemake", "--profile", "profiles/slurm", target, *FAST_POLL, *SMOKE], squeue_copy, 300
    )
    assert fixed.returncode == 0, (fixed.stdout + fixed.stderr)[-5000:]
    assert len(submitted_job_ids(fixed.stdout + fixed.stderr)) == 1
    assert (squeue_copy / target).exists()
