"""Furuta et al.: which operations grok at r = 0.3 (Table A.5), and the label statistics that do
not explain it (Fig A.23: computed from the data splits, no training)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from repro.claims import judge
from repro.data.polynomials import pretty
from repro.figures import plt, table_figure
from repro.papers import modular_polynomials_analysis as analysis
from repro.papers.modular_polynomials_runs import OP, at_fraction, fractions, groks

# Table A.5 at r = 0.3 as the paper reports it: True = groks, a number = best test accuracy.
PAPER_R03 = {
    "add": True,
    "sub": True,
    "mul": True,
    "a2+b2": True,
    "a2+b": True,
    "a2-b": True,
    "a3+2b": True,
    "a3-2b": True,
    "ab+a+b": True,
    "sum2": True,
    "sum3": True,
    "2a+b": 0.031,
    "2a-b": 0.025,
    "ab+b": 0.061,
    "a2+ab+b2": 0.34,
    "a3+ab": 0.049,
    "a3+ab2+b": 0.040,
    "diff4": 0.85,
}


def table_a5(tables, scale):
    _, summary = tables["scratch"]
    rs = fractions(summary)
    rows = []
    for operation in dict.fromkeys(summary[OP]):
        row = {"operation": pretty(operation)}
        for fraction in rs:
            part = at_fraction(summary, operation, fraction)
            if len(part):
                row[f"r={fraction:g}"] = (
                    "ok" if groks(part).all() else f"{100 * part['max_val_accuracy'].mean():.1f}%"
                )
        paper = PAPER_R03.get(operation)
        row["paper r=0.3"] = (
            "" if paper is None else "ok" if paper is True else f"{100 * paper:.1f}%"
        )
        rows.append(row)
    data = pd.DataFrame(rows)
    fig = table_figure(data, "Groks (ok) or best test accuracy, per operation and r")
    agree, ours = [], []
    if any(np.isclose(rs, 0.3)):
        for operation, paper in PAPER_R03.items():
            part = at_fraction(summary, operation, 0.3)
            if len(part):
                ok = bool(groks(part).all())
                agree.append(ok == (paper is True))
                ours.append(f"{pretty(operation)} {'ok' if ok else 'no'}")
    claims = [
        judge(
            "table_a5",
            "Which operations grok at r = 0.3 (Table A.5).",
            "groks: add, sub, mul, a2+-b, a2+b2, a3+-2b, ab+a+b, (a+b)^2, (a+b)^3; "
            "not: 2a+-b, ab+b, a2+ab+b2, a3+ab, a3+ab2+b, (a-b)^4",
            "; ".join(ours) or "no run at r = 0.3",
            ">= 80% of the operations run agree with the paper (grokked or not) [I]",
            sum(agree) >= 0.8 * len(agree) if agree else None,
            scale,
        )
    ]
    return fig, data, claims


LABEL_STAT_SPLITS = {"smoke": 5, "laptop": 100, "paper": 100}


def fig_a23(tables, scale):
    p = 11 if scale == "smoke" else 97
    rows = []
    for operation, paper in PAPER_R03.items():
        stats = analysis.label_statistics(operation, p, 0.3, LABEL_STAT_SPLITS[scale])
        rows.append(
            {"operation": pretty(operation), "groks at r=0.3 (paper)": paper is True, **stats}
        )
    data = pd.DataFrame(rows)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), layout="constrained")
    for ax, column in zip(axes, ("kl_train_test", "entropy_train", "entropy_test"), strict=True):
        order = data.sort_values(column)
        ax.bar(
            order["operation"],
            order[column],
            color=["C0" if g else "C3" for g in order["groks at r=0.3 (paper)"]],
        )
        ax.set_title(column.replace("_", " ") + " (blue: groks, red: not)")
        ax.tick_params(axis="x", rotation=90, labelsize=7)
    fig.suptitle(f"Label statistics over {LABEL_STAT_SPLITS[scale]} random r = 0.3 splits, p = {p}")
    grok = data[data["groks at r=0.3 (paper)"]]["kl_train_test"]
    other = data[~data["groks at r=0.3 (paper)"]]["kl_train_test"]
    spread = float(data["kl_train_test"].std())
    gap = abs(float(grok.mean()) - float(other.mean()))
    claims = [
        judge(
            "fig_a23",
            "Label statistics (KL between train and test labels) do not "
            "separate grokking from non-grokking operations.",
            "no difference",
            f"mean KL groks {grok.mean():.4f} vs not {other.mean():.4f} "
            f"(std over operations {spread:.4f})",
            "|difference of the group means| < 1 std over operations [I]",
            bool(gap < spread),
            scale,
            judged_at=("smoke", "laptop", "paper"),
        )
    ]
    return fig, data, claims
