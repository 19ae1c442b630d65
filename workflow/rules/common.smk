# Helpers shared by all rules: config validation, run planning, paths.
# The logic lives in src/repro (tested there); this file only wires it to Snakemake.
import functools
import json
import sys
from pathlib import Path

SRC = Path(workflow.basedir) / "src"
sys.path.insert(0, str(SRC))

from snakemake.utils import validate

from repro.config import ConfigError, check_schema, load_schema
from repro.plan import load_paper, plan_paper, run_overrides

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
    """{experiment/run_id: PlannedRun} of one paper at one scale."""
    return {run.key: run for run in plan_paper(paper, scale, run_overrides(config))}


def run_config_json(wildcards):
    """The run's full config: a params entry, so an edited config reruns the run."""
    key = f"{wildcards.experiment}/{wildcards.run}"
    runs = planned(wildcards.paper, wildcards.scale)
    if key not in runs:
        raise WorkflowError(
            f"no run {key!r} is planned for {wildcards.paper} at scale {wildcards.scale}"
        )
    return json.dumps(runs[key].config.to_dict(), sort_keys=True)


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
        for table in ("curves", "summary")
    ]


FIGURE_SUFFIXES = (".png", ".pdf", ".md", ".csv", ".claims.json")


def figure_files(paper, figure):
    return [f"paper_figures/{paper}/{figure}{suffix}" for suffix in FIGURE_SUFFIXES]


def paper_files(paper):
    files = [f for figure in figure_names(paper) for f in figure_files(paper, figure)]
    return files + [f"paper_figures/{paper}/claims.json"]


def train_runtime(wildcards, attempt):
    """Minutes of wall time per training job, by scale, doubled on each retry."""
    return {"smoke": 5, "laptop": 60, "paper": 24 * 60}[wildcards.scale] * attempt
