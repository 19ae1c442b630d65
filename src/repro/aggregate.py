"""Gather the runs of one experiment into two tables:

- curves.parquet: every logged evaluation of every run (run_id, variant, seed + metrics);
- summary.parquet: one row per run: status, wall time, the config flattened to dotted columns
  (data.train_fraction, optimizer.name, ...) and the per-run numbers of repro.analysis.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from repro import io
from repro.analysis import summarize_run


def flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            flat[name] = json.dumps(value)
        else:
            flat[name] = value
    return flat


def read_run(run_dir: Path) -> tuple[pd.DataFrame, dict]:
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    provenance = json.loads((run_dir / "provenance.json").read_text())
    curves = pd.read_parquet(run_dir / "metrics.parquet")
    labels = {
        "run_id": config["run_id"],
        "variant": config.get("variant", ""),
        "seed": config["seed"],
    }
    summary = {
        **labels,
        "status": provenance["status"],
        "steps_done": provenance["steps_done"],
        "stopped_early": provenance.get("stopped_early", False),
        "wall_time_s": provenance["wall_time_s"],
        "peak_memory_mb": provenance.get("peak_memory_mb"),
        "device": provenance.get("device"),
        **summarize_run(curves),
        **{k: v for k, v in flatten(config).items() if k not in labels},
    }
    return curves.assign(**labels), summary


def aggregate(run_dirs: list[Path], out_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts = [read_run(run_dir) for run_dir in sorted(run_dirs)]
    curves = pd.concat([curve for curve, _ in parts], ignore_index=True)
    summary = pd.DataFrame([row for _, row in parts])
    io.write_parquet(Path(out_dir) / "curves.parquet", curves)
    io.write_parquet(Path(out_dir) / "summary.parquet", summary)
    return curves, summary
