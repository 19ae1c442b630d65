"""Per-run numbers read off the logged curves: when a split first reaches an accuracy, etc."""

from __future__ import annotations

import math

import pandas as pd


def first_step(curves: pd.DataFrame, split: str, threshold: float) -> float:
    """First evaluated step at which `split` accuracy >= threshold; NaN if never."""
    rows = curves[(curves["split"] == split) & (curves["accuracy"] >= threshold)]
    return float(rows["step"].min()) if len(rows) else math.nan


def final(curves: pd.DataFrame, split: str, column: str = "accuracy") -> float:
    rows = curves[curves["split"] == split].sort_values("step")
    return float(rows[column].iloc[-1]) if len(rows) else math.nan


def summarize_run(curves: pd.DataFrame) -> dict[str, float]:
    """The scalars every grokking figure uses. The grokking delay is the number of steps
    between fitting the training set (train acc >= 0.99) and generalising (val acc >= 0.95)."""
    train_fit = first_step(curves, "train", 0.99)
    val_95 = first_step(curves, "val", 0.95)
    return {
        "final_train_accuracy": final(curves, "train"),
        "final_val_accuracy": final(curves, "val"),
        "max_val_accuracy": float(curves.loc[curves["split"] == "val", "accuracy"].max()),
        "step_train_99": train_fit,
        "step_val_95": val_95,
        "step_val_99": first_step(curves, "val", 0.99),
        "grokking_delay": val_95 - train_fit,
        "last_step": float(curves["step"].max()),
    }
