"""The files DVC reads (dvc.yaml): one metrics file per claim, and a paper's learning curves.

`dvc metrics show` prints one row per file and one column per key, and drops lists, so the
claims list of claims.json shows nothing useful there. metrics/<paper>/<figure>.<slug>.json holds
one claim as {paper, ours, verdict}: one row per claim. These files are git-tracked (cache: false
in dvc.yaml), which is what lets `dvc metrics diff` compare two commits.

paper_figures/curves/<paper>.csv: every logged evaluation of a paper's runs in long format
(run, split, step, accuracy, loss) for `dvc plots` (template .dvc/plots/learning_curves.json).
"""

from __future__ import annotations

import re
from pathlib import Path

from repro import claims as claims_io
from repro import io

# words that make a claim's file name longer without telling claims apart
STOPWORDS = frozenset(
    "a an and are as at be by for from in is it its of on or that the to with".split()
)
SLUG_WORDS = 5
CURVE_COLUMNS = ["run", "split", "step", "accuracy", "loss"]


def slug(statement: str, words: int = SLUG_WORDS) -> str:
    """The first few significant words of a statement: a readable, stable file name."""
    kept = [w for w in re.findall(r"[a-z0-9]+", statement.lower()) if w not in STOPWORDS]
    return "_".join(kept[:words]) or "claim"


def claim_metrics(claims_file: Path) -> dict[str, dict]:
    """{<figure>.<slug>: {paper, ours, verdict}} of one claims.json, in its order."""
    metrics: dict[str, dict] = {}
    for claim in claims_io.read(claims_file)["claims"]:
        key = base = f"{claim['figure']}.{slug(claim['statement'])}"
        n = 2
        while key in metrics:  # two claims of a figure that start alike
            key, n = f"{base}_{n}", n + 1
        metrics[key] = {
            "paper": claim["paper_value"],
            "ours": claim["our_value"],
            "verdict": claim["verdict"],
        }
    return metrics


def write_claim_metrics(claims_file: Path, out_dir: Path) -> list[Path]:
    """One JSON per claim in out_dir; files of claims that no longer exist are removed."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = claim_metrics(claims_file)
    for stale in out_dir.glob("*.json"):
        if stale.stem not in metrics:
            stale.unlink()
    written = []
    for key, value in metrics.items():
        io.write_json(out_dir / f"{key}.json", value)
        written.append(out_dir / f"{key}.json")
    return written


def write_curves(curves_files: list[Path], out: Path) -> int:
    """Concatenate experiments' curves.parquet (results/<scale>/<paper>/<experiment>/) into one
    CSV; `run` is <experiment>/<run_id>. Returns the number of rows."""
    import pandas as pd

    frames = []
    for path in curves_files:
        frame = pd.read_parquet(path)
        frame["run"] = f"{Path(path).parent.name}/" + frame["run_id"].astype(str)
        frames.append(frame[CURVE_COLUMNS])
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CURVE_COLUMNS)
    table = table.sort_values(["run", "split", "step"], kind="stable")
    io.write_text(out, table.to_csv(index=False))
    return len(table)


def add_parsers(commands) -> None:
    """`python -m repro metrics` and `python -m repro curves` (rules in workflow/rules/dvc.smk)."""
    metrics = commands.add_parser("metrics", help="one JSON per claim, for `dvc metrics show`")
    metrics.add_argument("claims", help="paper_figures/<paper>/claims.json")
    metrics.add_argument("--out-dir", required=True, help="metrics/<paper>")
    metrics.set_defaults(func=_cmd_metrics)

    curves = commands.add_parser("curves", help="learning curves as one CSV, for dvc plots")
    curves.add_argument("--out", required=True, help="paper_figures/curves/<paper>.csv")
    curves.add_argument("curves", nargs="+", help="each experiment's curves.parquet")
    curves.set_defaults(func=_cmd_curves)


def _cmd_metrics(args) -> None:
    written = write_claim_metrics(Path(args.claims), Path(args.out_dir))
    print(f"wrote {len(written)} claim files to {args.out_dir}")


def _cmd_curves(args) -> None:
    rows = write_curves([Path(p) for p in args.curves], Path(args.out))
    print(f"wrote {rows} rows to {args.out}")
