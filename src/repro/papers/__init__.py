"""Per-paper figure code. `draw()` runs one figure of one paper from aggregated tables.

A paper module (repro.papers.<paper>) has TITLE and FIGURES: name -> fn(tables, scale) returning
(matplotlib figure, the table of the numbers it plots, [Claim, ...]); `tables` maps each
experiment the figure uses (config/papers/<paper>.yaml) to its (curves, summary) frames; an
experiment with no aggregated runs (its data not downloaded, see workflow/rules/common.smk) is
absent from `tables`, and the figure function reports its claims as not run.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pandas as pd

from repro import claims as claims_io
from repro.config import ConfigError
from repro.figures import save, style, write_table
from repro.plan import load_paper


def paper_module(paper: str):
    return importlib.import_module(f"repro.papers.{paper}")


def draw(paper: str, figure: str, scale: str, results_dir: Path, out_dir: Path) -> list:
    spec = load_paper(paper)
    if figure not in spec["figures"]:
        raise ConfigError(
            f"figure: {figure!r} is not a figure of {paper}; expected one of "
            f"{sorted(spec['figures'])}"
        )
    module = paper_module(paper)
    tables = {}
    for experiment in spec["figures"][figure]["experiments"]:
        folder = Path(results_dir) / experiment
        if not (folder / "curves.parquet").exists():
            continue  # not planned (its data was not downloaded): the figure says so
        tables[experiment] = (
            pd.read_parquet(folder / "curves.parquet"),
            pd.read_parquet(folder / "summary.parquet"),
        )
    style()
    function = module.FIGURES[figure]
    # figures that read run files besides the tables (weight snapshots, masks) take the folder
    extra = {"results_dir": Path(results_dir)}
    extra = extra if "results_dir" in inspect.signature(function).parameters else {}
    fig, data, figure_claims = function(tables, scale, **extra)
    out_dir = Path(out_dir)
    save(fig, out_dir / figure)
    write_table(data, out_dir / figure)
    claims_io.write(out_dir / f"{figure}.claims.json", paper, module.TITLE, scale, figure_claims)
    return figure_claims


def merge_claims(paper: str, scale: str, figure_claims: list[Path], out: Path) -> None:
    """The paper's claims.json: every figure's claims, in figure order."""
    merged = []
    for path in figure_claims:
        data = claims_io.read(path)
        if data["scale"] != scale:
            raise ConfigError(f"{path}: made at scale {data['scale']!r}, expected {scale!r}")
        merged.extend(claims_io.Claim(**claim) for claim in data["claims"])
    claims_io.write(out, paper, paper_module(paper).TITLE, scale, merged)
