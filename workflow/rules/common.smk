# Helpers shared by all rules: config validation, run planning, paths.
# The logic lives in src/repro (tested there); this file only wires it to Snakemake.
import functools
import json
import math
import sys
from pathlib import Path

SRC = Path(workflow.basedir) / "src"
sys.path.insert(0, str(SRC))

from snakemake.utils import validate

from repro.config import ConfigError, check_schema, load_schema
from repro.plan import load_paper, plan_paper, run_overrides, upstream_files

# in every job: `python -m repro` finds the package however snakemake was started
# (with --use-conda too, where the env has the dependencies but not this package)
shell.prefix(f"export PYTHONPATH='{SRC}'; ")

try:
    # one-line errors naming the key, before any job; then snakemake fills the defaults
    check_schema(config, load_schema("config.schema.yaml"), where="config")
    validate(config, "../../config/schemas/config.schema.yaml")
    SCALE = config["scale"]
    PAPERS = config["papers"]
    for _paper in PAPERS:
        plan_paper(_paper, SCALE, run_overrides(config))
except ConfigError as error:
    print(f"config error: {error}", file=sys.stderr)
    sys.exit(1)


wildcard_constraints:
    scale="smoke|laptop|paper",
    paper="[a-z_]+",
    experiment="[a-z0-9_]+",
    run="[^/]+",
    figure="(fig|table)[a-z0-9_]*",


@functools.cache
def planned(paper, scale):
    """{experiment/run_id: PlannedRun} of one paper at one scale. Runs whose data must be
    downloaded (data.smk's data_files) are left out unless --config download=true: their
    figures then say `not run at this scale`."""
    return {
        run.key: run
        for run in plan_paper(paper, scale, run_overrides(config))
        if DOWNLOAD or not data_files(run.config.data)
    }


def planned_experiments(paper, scale):
    """Experiments with at least one planned run."""
    return {run.config.experiment for run in planned(paper, scale).values()}


def planned_run(wildcards):
    """The PlannedRun of a train job's wildcards."""
    key = f"{wildcards.experiment}/{wildcards.run}"
    runs = planned(wildcards.paper, wildcards.scale)
    if key not in runs:
        raise WorkflowError(
            f"no run {key!r} is planned for {wildcards.paper} at scale {wildcards.scale}"
        )
    return runs[key]


def run_upstream_files(wildcards):
    """Files of other runs that this run starts from (a checkpoint, a pruning mask)."""
    return upstream_files(planned_run(wildcards).config)


def run_data_files(wildcards):
    """Downloaded files this run reads (made by data.smk's fetch rules); [] for generated or
    packaged data."""
    return data_files(planned_run(wildcards).config.data)


def run_config_json(wildcards):
    """The run's identity (its config without settings equal to their defaults): a params
    entry, so an edited config reruns the run, and a new engine setting does not."""
    return json.dumps(planned_run(wildcards).config.identity(), sort_keys=True)


def experiment_runs(wildcards):
    """Run folders of one experiment."""
    return [
        run.outdir
        for run in planned(wildcards.paper, wildcards.scale).values()
        if run.config.experiment == wildcards.experiment
    ]


RUN_FILES = ("config.json", "metrics.parquet", "final.pt", "provenance.json")


def experiment_run_files(wildcards):
    return [
        f"{outdir}/{name}"
        for outdir in experiment_runs(wildcards)
        for name in RUN_FILES
    ]


def figure_names(paper):
    return list(load_paper(paper)["figures"])


def figure_experiments(wildcards):
    """The aggregated tables a figure reads, at the configured scale."""
    experiments = load_paper(wildcards.paper)["figures"][wildcards.figure][
        "experiments"
    ]
    return [
        f"results/{SCALE}/{wildcards.paper}/{experiment}/{table}.parquet"
        for experiment in experiments
        if experiment in planned_experiments(wildcards.paper, SCALE)
        for table in ("curves", "summary")
    ]


FIGURE_SUFFIXES = (".png", ".pdf", ".md", ".csv", ".claims.json")


def figure_files(paper, figure):
    return [f"paper_figures/{paper}/{figure}{suffix}" for suffix in FIGURE_SUFFIXES]


def paper_files(paper):
    files = [f for figure in figure_names(paper) for f in figure_files(paper, figure)]
    files.append(f"paper_figures/{paper}/claims.json")
    # what DVC shows (workflow/rules/dvc.smk): one metrics file per claim, learning curves
    return files + [f"metrics/{paper}", f"paper_figures/curves/{paper}.csv"]


def paper_experiments(paper):
    """Every experiment a paper's figures read, in order."""
    figures = load_paper(paper)["figures"].values()
    available = planned_experiments(paper, SCALE)
    experiments = (
        e for figure in figures for e in figure["experiments"] if e in available
    )
    return list(dict.fromkeys(experiments))


def paper_tables(paper, tables=("curves", "summary")):
    return [
        f"results/{SCALE}/{paper}/{experiment}/{table}.parquet"
        for experiment in paper_experiments(paper)
        for table in tables
    ]


# Resources of a training job: the only jobs a cluster runs (every other rule is a localrule).
# Locally they only order the scheduling; under --executor slurm they become sbatch options
# (-t, --mem, --cpus-per-task, --gpus). Runtime and memory grow with each retry: a job killed at
# its time limit gets SIGTERM first, writes a checkpoint, and the retry resumes with more time.
# 5 steps/s: below what one CPU core does at batch 512 (~12/s, shared/perf-notes.md)
STEPS_PER_MINUTE = 300
# minutes at least: process start-up, evaluations, checkpoints
RUNTIME_FLOOR = {"smoke": 5, "laptop": 30, "paper": 60}
# paper: room for the CUDA context and larger data
TRAIN_MEM_MB = {"smoke": 1000, "laptop": 2000, "paper": 8000}
# the papers' own settings are GPU-sized; smoke and laptop are sized for 2 CPU cores
TRAIN_GPUS = {"smoke": 0, "laptop": 0, "paper": 1}


def train_runtime(wildcards, attempt):
    """Minutes of wall time: the run's planned steps at STEPS_PER_MINUTE, times the attempt."""
    steps = planned_run(wildcards).config.train.steps
    minutes = max(RUNTIME_FLOOR[wildcards.scale], math.ceil(steps / STEPS_PER_MINUTE))
    return minutes * attempt


def train_mem_mb(wildcards, attempt):
    return TRAIN_MEM_MB[wildcards.scale] * attempt


def train_gpus(wildcards):
    """GPUs per training job, from the scale (see README, Running on SLURM)."""
    return TRAIN_GPUS[wildcards.scale]


if SCALE == "paper" and config["device"] == "cpu":
    # the GPU request comes from the scale; the device the run uses is a config key
    print(
        "note: at scale=paper each training job requests a GPU (resources gpu=1), but device=cpu:"
        " add device=auto to --config to train on it",
        file=sys.stderr,
    )
