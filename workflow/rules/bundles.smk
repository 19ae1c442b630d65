# Batched training (src/repro/batched.py): an experiment that says `bundle: N` in its paper
# config has its stackable runs trained N at a time in one process. Each bundle gets a rule of
# its own, made here when the Snakefile is read, whose outputs are its member runs' files; a
# ruleorder puts it before the plain `train` rule for those files, so per-figure targets and
# the aggregate rule are unchanged. Runs of no bundle are trained by `train` as before.
import re

from repro.bundles import plan_bundles
from repro.plan import PAPERS_DIR, upstream_files


def bundle_runtime(steps, size):
    """Minutes: the members' steps in sequence, an upper bound (batched is faster)."""

    def runtime(wildcards, attempt):
        minutes = max(RUNTIME_FLOOR[SCALE], math.ceil(steps * size / STEPS_PER_MINUTE))
        return minutes * attempt

    return runtime


def bundle_mem_mb(wildcards, attempt):
    return TRAIN_MEM_MB[SCALE] * attempt


try:
    BUNDLES = [
        bundle
        for paper_file in sorted(PAPERS_DIR.glob("*.yaml"))
        for bundle in plan_bundles(paper_file.stem, SCALE, run_overrides(config))
    ]
except ConfigError as error:
    print(f"config error: {error}", file=sys.stderr)
    sys.exit(1)

for _bundle in BUNDLES:
    _name = re.sub(
        r"\W", "_", f"train_{_bundle.paper}_{_bundle.experiment}_{_bundle.name}"
    )

    rule:
        name:
            _name
        input:
            [f for run in _bundle.runs for f in upstream_files(run.config)],
        output:
            [f"{run.outdir}/{name}" for run in _bundle.runs for name in RUN_FILES],
        log:
            f"logs/{SCALE}/{_bundle.paper}/{_bundle.experiment}/{_bundle.name}.log",
        benchmark:
            f"benchmarks/{SCALE}/{_bundle.paper}/{_bundle.experiment}/{_bundle.name}.tsv"
        conda:
            "../../envs/repro.yaml"
        threads: config["threads_per_run"]
        resources:
            runtime=bundle_runtime(
                _bundle.runs[0].config.train.steps, len(_bundle.runs)
            ),
            mem_mb=bundle_mem_mb,
            gpu=TRAIN_GPUS[SCALE],
        params:
            # the members' identities: an edited config reruns the bundle
            config=json.dumps(
                [run.config.identity() for run in _bundle.runs], sort_keys=True
            ),
            runs=" ".join(
                f"{_bundle.paper}/{_bundle.experiment}/{r}" for r in _bundle.run_ids
            ),
            state_dir=_bundle.state_dir,
            scale=SCALE,
        shell:
            "python -m repro train-bundle {params.runs} --scale {params.scale}"
            " --state-dir {params.state_dir} --threads {threads} > {log} 2>&1"

    workflow.ruleorder(_name, "train")
