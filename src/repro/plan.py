"""Expand a paper config (config/papers/<paper>.yaml) at a scale into run configs.

A paper config has `base` (settings shared by every run), `scales` (overrides per scale),
`experiments` and `figures`. An experiment may `set` overrides, name `variants` (label ->
overrides) and sweep a `grid` (dotted key -> values, Cartesian product); its own `scales`
section overrides any of these per scale. Merge order for one run:

    base <- scales[scale] <- experiment.set <- experiment.scales[scale].set
         <- variant <- grid values

The run id is the variant label followed by the grid values, e.g. `train_fraction=0.5_seed=0`
or `mlp_seed=0`: readable, stable, and unique within the experiment.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from repro.config import (
    ROOT,
    ConfigError,
    RunConfig,
    check_schema,
    deep_merge,
    load_schema,
    run_config_from_dict,
    set_dotted,
)

SCALES = ("smoke", "laptop", "paper")
PAPERS_DIR = ROOT / "config" / "papers"


@dataclass(frozen=True)
class PlannedRun:
    scale: str
    config: RunConfig

    @property
    def key(self) -> str:
        return f"{self.config.experiment}/{self.config.run_id}"

    @property
    def outdir(self) -> str:
        return f"results/{self.scale}/{self.config.paper}/{self.key}"


def paper_path(paper: str) -> Path:
    return PAPERS_DIR / f"{paper}.yaml"


def load_paper(paper: str) -> dict[str, Any]:
    path = paper_path(paper)
    if not path.exists():
        known = sorted(p.stem for p in PAPERS_DIR.glob("*.yaml"))
        raise ConfigError(f"papers: unknown paper {paper!r}; expected one of {known}")
    spec = yaml.safe_load(path.read_text())
    check_schema(spec, load_schema("paper.schema.yaml"), where=str(path.relative_to(ROOT)))
    if spec["paper"] != paper:
        raise ConfigError(f"{path}: paper: {spec['paper']!r} does not match the file name")
    for name, figure in spec.get("figures", {}).items():
        for experiment in figure.get("experiments", []):
            if experiment not in spec["experiments"]:
                raise ConfigError(
                    f"{path}: figures.{name}.experiments: unknown experiment {experiment!r}"
                )
    return spec


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def experiment_spec(spec: dict, experiment: str, scale: str) -> dict[str, Any]:
    """The experiment's set/variants/grid with its per-scale section applied."""
    entry = spec["experiments"][experiment]
    scaled = entry.get("scales", {}).get(scale, {})
    grid = {**entry.get("grid", {}), **scaled.get("grid", {})}
    variants = scaled.get("variants", entry.get("variants", {"": {}}))
    settings = deep_merge(entry.get("set", {}), scaled.get("set", {}))
    return {"set": settings, "variants": variants, "grid": grid}


UPSTREAM_KEYS = ("init_from", "mask")


def fill_upstream_paths(raw: dict, **values: Any) -> None:
    """Fill {scale}, {paper} and {seed} in the train keys that name another run's files."""
    train = raw.get("train", {})
    for key in UPSTREAM_KEYS:
        if isinstance(train.get(key), str):
            train[key] = train[key].format(seed=raw["seed"], **values)


def upstream_files(config: RunConfig) -> list[str]:
    """Files of other runs that this run reads (inputs of its train job)."""
    values = (getattr(config.train, key) for key in UPSTREAM_KEYS)
    return [value for value in values if value]


def plan_experiment(
    spec: dict, experiment: str, scale: str, overrides: dict | None = None
) -> list[PlannedRun]:
    if scale not in SCALES:
        raise ConfigError(f"scale: {scale!r} is not one of {list(SCALES)}")
    paper = spec["paper"]
    parts = experiment_spec(spec, experiment, scale)
    common = deep_merge(spec.get("base", {}), spec.get("scales", {}).get(scale, {}))
    common = deep_merge(common, parts["set"])
    keys = list(parts["grid"])
    runs = []
    for label, variant in parts["variants"].items():
        for values in itertools.product(*(parts["grid"][key] for key in keys)):
            raw = deep_merge(common, variant or {})
            id_parts = [label] if label else []
            for key, value in zip(keys, values, strict=False):
                set_dotted(raw, key, value)
                id_parts.append(f"{key.split('.')[-1]}={format_value(value)}")
            raw = deep_merge(raw, overrides or {})
            raw.setdefault("seed", 0)
            fill_upstream_paths(raw, scale=scale, paper=paper)
            raw.update(
                paper=paper,
                experiment=experiment,
                variant=label,
                run_id="_".join(id_parts) or "run",
            )
            where = f"{paper_path(paper).relative_to(ROOT)} [{scale}] {experiment}/{raw['run_id']}"
            runs.append(PlannedRun(scale, run_config_from_dict(raw, where)))
    ids = [run.config.run_id for run in runs]
    duplicates = {run_id for run_id in ids if ids.count(run_id) > 1}
    if duplicates:
        raise ConfigError(f"experiments.{experiment}: duplicate run ids {sorted(duplicates)}")
    return runs


def plan_paper(paper: str, scale: str, overrides: dict | None = None) -> list[PlannedRun]:
    spec = load_paper(paper)
    return [
        run
        for experiment in spec["experiments"]
        for run in plan_experiment(spec, experiment, scale, overrides)
    ]


def find_run(
    paper: str, scale: str, experiment: str, run_id: str, overrides: dict | None = None
) -> RunConfig:
    spec = load_paper(paper)
    if experiment not in spec["experiments"]:
        raise ConfigError(
            f"experiment: {experiment!r} is not in {paper}; expected one of "
            f"{sorted(spec['experiments'])}"
        )
    for run in plan_experiment(spec, experiment, scale, overrides):
        if run.config.run_id == run_id:
            return run.config
    raise ConfigError(f"run: {run_id!r} is not planned in {paper}/{experiment} at scale {scale}")


def run_overrides(workflow_config: dict) -> dict:
    """Settings from config/config.yaml that apply to every run (the device)."""
    device = workflow_config.get("device")
    return {"train": {"device": device}} if device else {}
