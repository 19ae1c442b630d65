"""Benchmark: `dvc status` time against the number of runs under results/ (not a test).

    PYTHONPATH=src .venv/bin/python bench/dvc_status.py [--runs 10 100 1000] [--repeats 3]

For each N, a temporary git + DVC repository holds one stage shaped like dvc.yaml's runs@<paper>
(a code dep; outs results/<scale>/<paper>, persist) with N synthetic runs. Each run has the five
files DVC keeps (config.json, metrics.parquet, final.pt, provenance.json, log.txt; random bytes,
sizes of a smoke run unless --final-kb) and a checkpoints/ folder that the project's .dvcignore
hides. Timed, as separate `dvc` processes (so each includes DVC's ~1 s start-up):

- commit: `dvc commit`: hash every file, copy it into the cache, write dvc.lock (make push);
- status: `dvc status` with DVC's state database warm: files are known by inode, mtime and
  size, nothing is re-hashed (make pull's check, a `dvc repro` with nothing to do);
- touched: `dvc status` after every mtime changed (as `snakemake --touch` does): each file is
  hashed again once.

Why: DVC slows down with many files (treeverse/dvc#7681), which is why a run keeps five files
for DVC and its checkpoints are ignored. Last line: the times at the largest N and the cost per
extra run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bytes of each file of a smoke run (results/smoke/exploring_grokking/models/mlp_seed=0)
RUN_FILES = {
    "config.json": 834,
    "metrics.parquet": 2924,
    "final.pt": 12697,
    "provenance.json": 1694,
    "log.txt": 734,
}
CHECKPOINTS = {"checkpoints/step_000000020.pt": 46438, "checkpoints/step_000000040.pt": 46566}
RUNS_PER_EXPERIMENT = 100
DVC_YAML = """stages:
  runs:
    cmd: "true"
    deps: [code.py]
    outs:
      - results/smoke/paper:
          persist: true
"""


def dvc(repo: Path, *args: str) -> float:
    """Seconds one `dvc` command takes (its state database inside the repository, not in
    /var/tmp/dvc, so that it goes away with it)."""
    env = dict(os.environ, DVC_SITE_CACHE_DIR=str(repo / ".dvc" / "site"))
    started = time.perf_counter()
    subprocess.run(["dvc", *args], cwd=repo, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def make_repo(repo: Path, runs: int, final_kb: int | None) -> int:
    """A git + DVC repository with `runs` synthetic runs; returns the number of tracked files."""
    sizes = dict(RUN_FILES, **({"final.pt": final_kb * 1024} if final_kb else {}))
    subprocess.run(["git", "init", "--quiet"], cwd=repo, check=True)
    dvc(repo, "init", "--quiet")
    dvc(repo, "config", "core.analytics", "false")
    shutil.copy(ROOT / ".dvcignore", repo / ".dvcignore")
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "code.py").write_text("print('train')\n")
    for i in range(runs):
        run = repo / "results/smoke/paper" / f"exp{i // RUNS_PER_EXPERIMENT}" / f"seed={i}"
        for name, size in {**sizes, **CHECKPOINTS}.items():
            (run / name).parent.mkdir(parents=True, exist_ok=True)
            (run / name).write_bytes(os.urandom(size))
    return runs * len(sizes)


def touch_all(folder: Path) -> None:
    now = time.time()
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (now, now))


def measure(runs: int, repeats: int, final_kb: int | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-dvc-") as tmp:
        repo = Path(tmp)
        files = make_repo(repo, runs, final_kb)
        commit = dvc(repo, "commit", "--force", "--quiet")
        dvc(repo, "status")  # settle the state database once
        status = statistics.median(dvc(repo, "status") for _ in range(repeats))
        touched = []
        for _ in range(repeats):
            touch_all(repo / "results")
            touched.append(dvc(repo, "status"))
        return {
            "runs": runs,
            "files": files,
            "commit": commit,
            "status": status,
            "touched": statistics.median(touched),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=3, help="median of this many (default 3)")
    parser.add_argument("--final-kb", type=int, help="size of final.pt (default: a smoke run's)")
    args = parser.parse_args()

    rows = []
    print(f"{'runs':>6} {'files':>6} {'commit s':>9} {'status s':>9} {'touched s':>10}")
    for runs in sorted(args.runs):
        row = measure(runs, args.repeats, args.final_kb)
        rows.append(row)
        print(
            f"{row['runs']:>6} {row['files']:>6} {row['commit']:>9.2f} {row['status']:>9.2f}"
            f" {row['touched']:>10.2f}",
            flush=True,
        )
    first, last = rows[0], rows[-1]
    extra = max(last["runs"] - first["runs"], 1)
    per_run = {k: 1000 * (last[k] - first[k]) / extra for k in ("commit", "status", "touched")}
    for key in ("commit", "status", "touched"):
        ratios = ", ".join(f"x{row[key] / first[key]:.2f}" for row in rows)
        print(f"{key}: vs {first['runs']} runs: {ratios}; {per_run[key]:.2f} ms per extra run")
    print(
        f"dvc status at {last['runs']} runs: {last['status']:.2f} s warm, {last['touched']:.2f} s"
        f" after touch ({per_run['status']:.2f} / {per_run['touched']:.2f} ms per extra run;"
        f" {first['status']:.2f} s at {first['runs']})"
    )


if __name__ == "__main__":
    main()
