"""What a paper's training costs at a scale, from the Snakemake benchmark files of its last run.

Every train job writes benchmarks/<scale>/<paper>/<experiment>/<run>.tsv (wall seconds and the
CPU seconds of the job's processes). CPU seconds hold on a loaded machine, where wall seconds do
not: the sum of a paper's CPU seconds over its jobs, divided by the cores, is the wall time of
its training on that many idle cores if the jobs pack perfectly (one thread per job). A job
that resumed from a checkpoint recorded only its last attempt: its CPU time is scaled up by the
steps of the whole run over the steps of that attempt (from the run's provenance.json).

    PYTHONPATH=src .venv/bin/python bench/laptop_cost.py tickets modular_polynomials
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def job_cost(tsv: Path, results: Path) -> tuple[float, float, bool]:
    """(CPU seconds, wall seconds, resumed) of one job, scaled to the whole run when it resumed."""
    with tsv.open() as handle:
        row = next(csv.DictReader(handle, delimiter="\t"))
    cpu, wall = float(row["cpu_time"]), float(row["s"])
    provenance = results / tsv.relative_to(tsv.parents[3]).with_suffix("") / "provenance.json"
    if not provenance.exists():  # a bundle: its members' files are named otherwise
        return cpu, wall, False
    record = json.loads(provenance.read_text())
    resumed = record.get("resumed_from_steps") or []
    if not resumed:
        return cpu, wall, False
    last_attempt = record["steps_done"] - resumed[-1]
    share = record["steps_done"] / max(last_attempt, 1)
    return cpu * share, wall * share, True


def paper_cost(paper: str, scale: str, cores: int) -> float:
    folder = ROOT / "benchmarks" / scale / paper
    tsvs = sorted(folder.glob("*/*.tsv"))
    if not tsvs:
        print(f"{paper}: no benchmark files under {folder}")
        return 0.0
    experiments: dict[str, list[float]] = {}
    resumed_jobs = 0
    for tsv in tsvs:
        cpu, wall, resumed = job_cost(tsv, ROOT / "results")
        resumed_jobs += resumed
        totals = experiments.setdefault(tsv.parent.name, [0, 0.0, 0.0])
        totals[0] += 1
        totals[1] += cpu
        totals[2] += wall
    print(f"{paper} ({scale}): experiment, jobs, CPU s, wall s (as run, under whatever load)")
    for name, (jobs, cpu, wall) in sorted(experiments.items(), key=lambda item: -item[1][1]):
        print(f"  {name:28s} {jobs:4d} {cpu:9.0f} {wall:9.0f}")
    cpu_total = sum(t[1] for t in experiments.values())
    jobs = sum(t[0] for t in experiments.values())
    finished = len(list((ROOT / "results" / scale / paper).glob("*/*/provenance.json")))
    print(
        f"  {jobs} jobs ({resumed_jobs} resumed, scaled) for {finished} finished runs "
        f"(a bundle is one job; a run touched or trained before benchmarks has none), "
        f"{cpu_total:.0f} CPU s: {cpu_total / cores / 60:.0f} min on {cores} idle cores if the "
        "jobs pack perfectly"
    )
    return cpu_total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("papers", nargs="+")
    parser.add_argument("--scale", default="laptop")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    totals = {paper: paper_cost(paper, args.scale, args.cores) for paper in args.papers}
    print(
        "training minutes on "
        f"{args.cores} idle cores: "
        + ", ".join(f"{paper} {cpu / args.cores / 60:.0f}" for paper, cpu in totals.items())
    )


if __name__ == "__main__":
    main()
