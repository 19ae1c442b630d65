"""Which planned runs train together in one process (repro.batched), per experiment opt-in.

An experiment of a paper config says `bundle: N` to have its runs trained in bundles of at
most N runs (repro.batched). Runs go into one bundle when they can be stacked: a stackable
model (mlp, lstm, quadratic) and equal settings except the seed, optimizer.lr,
optimizer.weight_decay, the noise levels and the per-run train paths (repro.batched.
check_bundle); the data must be equal too (apart from the split, which follows the seed), so
the splits have equal sizes. Runs that fit no bundle (a run alone in its group, or one that
repro.batched.why_alone rules out: a transformer, float64, ...) are trained alone by the plain
train rule. Snakemake makes one rule per bundle (workflow/rules/bundles.smk) whose outputs are
the member runs' files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from repro.batched import PER_RUN_OPTIMIZER, PER_RUN_TRAIN, why_alone
from repro.config import ConfigError
from repro.plan import PlannedRun, load_paper, plan_experiment


@dataclass(frozen=True)
class Bundle:
    scale: str
    paper: str
    experiment: str
    runs: tuple[PlannedRun, ...]

    @property
    def name(self) -> str:
        """Unique within the experiment: a run belongs to one bundle at most."""
        return f"bundle_{self.runs[0].config.run_id}"

    @property
    def state_dir(self) -> str:
        """Where the stacked checkpoints go (ignored by DVC: they sit in checkpoints/)."""
        return f"results/{self.scale}/{self.paper}/{self.experiment}/bundles/{self.name}"

    @property
    def run_ids(self) -> list[str]:
        return [run.config.run_id for run in self.runs]


def stacking_key(run: PlannedRun) -> str | None:
    """Runs with equal keys can share a bundle; None for a run that cannot be stacked."""
    config = run.config
    if why_alone(config):
        return None
    shared = config.to_dict()
    for key in ("paper", "experiment", "run_id", "variant", "seed"):
        shared.pop(key)
    for key in PER_RUN_OPTIMIZER:
        shared["optimizer"].pop(key)
    for key in PER_RUN_TRAIN:
        shared["train"].pop(key)
    return json.dumps(shared, sort_keys=True)


def plan_bundles(paper: str, scale: str, overrides: dict | None = None) -> list[Bundle]:
    """The bundles of every experiment of `paper` that opts in with `bundle: N`."""
    spec = load_paper(paper)
    bundles = []
    for experiment, entry in spec["experiments"].items():
        size = entry.get("bundle")
        if not size:
            continue
        if size < 2:
            raise ConfigError(f"experiments.{experiment}.bundle: {size}; expected at least 2")
        groups: dict[str, list[PlannedRun]] = {}
        for run in plan_experiment(spec, experiment, scale, overrides):
            key = stacking_key(run)
            if key is not None:
                groups.setdefault(key, []).append(run)
        for runs in groups.values():
            for start in range(0, len(runs), size):
                chunk = tuple(runs[start : start + size])
                if len(chunk) > 1:
                    bundles.append(Bundle(scale, paper, experiment, chunk))
    return bundles
