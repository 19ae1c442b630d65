"""How the figures of Furuta et al. (modular_polynomials_*) read their runs: what counts as
grokked, the summary columns a figure's table shows, and which run of a summary a figure picks.
"Groks" means the validation (test) accuracy reaches 0.95 within the budget [I]; runs stop at
0.99.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from repro.claims import judge

GROKS = 0.95  # validation accuracy that counts as grokked
OP, R = "data.operation", "data.train_fraction"
TABLE_COLUMNS = [
    "run_id",
    "variant",
    "seed",
    "data.p",
    OP,
    R,
    "status",
    "steps_done",
    "step_train_99",
    "step_val_95",
    "max_val_accuracy",
    "final_val_accuracy",
    "wall_time_s",
]


def table(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[[c for c in TABLE_COLUMNS if c in summary.columns]]


def groks(summary: pd.DataFrame) -> pd.Series:
    return summary["max_val_accuracy"] >= GROKS


def val(curves: pd.DataFrame, run_id: str) -> pd.DataFrame:
    return curves[(curves["run_id"] == run_id) & (curves["split"] == "val")].sort_values("step")


def pick(summary: pd.DataFrame, **where) -> pd.DataFrame:
    """Rows matching column == value for every keyword (dots written as __)."""
    mask = np.ones(len(summary), dtype=bool)
    for key, value in where.items():
        column = key.replace("__", ".")
        if isinstance(value, float):
            mask &= np.isclose(summary[column].astype(float), value)
        else:
            mask &= (summary[column] == value).to_numpy()
    return summary[mask]


def at_fraction(summary: pd.DataFrame, operation: str, fraction: float) -> pd.DataFrame:
    """The runs of one operation at train fraction r (every seed)."""
    return summary[(summary[OP] == operation) & np.isclose(summary[R], fraction)]


def fractions(summary: pd.DataFrame) -> list[float]:
    return sorted(summary[R].dropna().unique()) if R in summary else []


def analysed_run(summary: pd.DataFrame, operation: str) -> pd.Series | None:
    """The seed-0 run of an operation at the smallest r where it groks (else the smallest r):
    the Fourier analyses look at a grokked model whenever there is one."""
    rows = summary[summary[OP] == operation].sort_values([R, "seed"])
    if not len(rows):
        return None
    grokked = rows[groks(rows)]
    return (grokked if len(grokked) else rows).iloc[0]


def describe(row: pd.Series) -> str:
    state = "groks" if row["max_val_accuracy"] >= GROKS else "no grok"
    return f"r={row[R]:g}: {state}, best val {row['max_val_accuracy']:.3f}"


def best(summary: pd.DataFrame, **where) -> tuple[float, float]:
    """(max val accuracy, step of val 95% with never = inf) of the matching runs, seed mean."""
    rows = pick(summary, **where)
    if not len(rows):
        return math.nan, math.nan
    return float(rows["max_val_accuracy"].mean()), float(
        rows["step_val_95"].fillna(math.inf).mean()
    )


def judge_each(figure, statement, paper_value, ours, criterion, checks, scale, empty="no run"):
    """A claim checked item by item (operation, run, prime): it holds when every check holds,
    and is not judged when no item was run; `ours` lists what each item gave."""
    return judge(
        figure,
        statement,
        paper_value,
        "; ".join(ours) or empty,
        criterion,
        all(checks) if checks else None,
        scale,
    )
