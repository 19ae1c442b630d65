"""Furuta et al.: several operations in one model (Figs 10 and 11), from the per-task accuracy
the `task_accuracy` measure logs: add, sub and mul co-grokking, and mixtures where an easy
operation helps a hard one."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from repro.claims import judge, steps
from repro.data.polynomials import pretty
from repro.figures import panels, plt
from repro.papers import modular_polynomials_analysis as analysis
from repro.papers.modular_polynomials_runs import GROKS, R, best, fractions, val
from repro.papers.modular_polynomials_spectra import spectrum_bars


def operations_of(summary: pd.DataFrame, run_id: str) -> list[str]:
    return json.loads(summary.loc[summary["run_id"] == run_id, "data.operations"].iloc[0])


def task_curves(ax, curves, summary, run_id, prefix=""):
    """Val accuracy per task of a multi-task run; returns {operation: (best, step of 95%)}."""
    run = val(curves, run_id)
    result = {}
    for index, operation in enumerate(operations_of(summary, run_id)):
        column = f"accuracy_task{index}"
        ax.plot(run["step"].clip(lower=1), run[column], label=f"{prefix}{pretty(operation)}")
        reached = run.loc[run[column] >= GROKS, "step"]
        result[operation] = (
            float(run[column].max()),
            float(reached.min()) if len(reached) else math.nan,
        )
    ax.set(xscale="log", ylim=(-0.02, 1.02), xlabel="step")
    ax.legend(fontsize="x-small")
    return result


def fig10(tables, scale):
    curves, summary = tables["multitask"]
    rs = fractions(summary)
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), squeeze=False, layout="constrained")
    records = []
    for ax, fraction in zip(axes[0], rs[-3:], strict=False):
        row = summary[np.isclose(summary[R], fraction)].sort_values("seed").iloc[0]
        for operation, (top, step) in task_curves(ax, curves, summary, row["run_id"]).items():
            records.append(
                {"operation": operation, R: fraction, "best_val": top, "step_val_95": step}
            )
        ax.set_title(f"add + sub + mul, r = {fraction:g} per task")
    for ax in axes[0][len(rs[-3:]) :]:
        ax.set_visible(False)
    top = summary.sort_values([R, "seed"], ascending=[False, True]).iloc[0]
    model, _, _ = analysis.load_run(scale, "multitask", top["run_id"])
    spectra = analysis.spectrum_rows(model)
    for ax, name, label in ((axes[1][0], "we", "W_E"), (axes[1][1], "wl", "W_L")):
        spectrum_bars(ax, spectra, name, f"{label} (r = {top[R]:g})")
    run = val(curves, top["run_id"])
    for name in ("ffd_we", "fcr_we"):
        axes[1][2].plot(run["step"].clip(lower=1), run[name], label=name)
    axes[1][2].set(xscale="log", ylim=(-0.02, 1.05), xlabel="step", title="FFD / FCR of W_E")
    axes[1][2].legend(fontsize="x-small")
    data = pd.DataFrame(records)
    grokked = data[data["best_val"] >= GROKS]
    cogrok = data.groupby(R)["best_val"].min() >= GROKS
    best_r = [r for r, ok in cogrok.items() if ok]
    slowest = None
    if best_r:
        part = data[np.isclose(data[R], min(best_r))].set_index("operation")["step_val_95"]
        slowest = bool(part.get("mul", -1) >= part.max())
    claims = [
        judge(
            "fig10",
            "add, sub and mul co-grok in one model when r is large enough.",
            "co-grokking (r = 0.3 fails; the checkpoints use 0.9)",
            "; ".join(
                f"r={r:g}: {'all' if ok else 'not all'} tasks >= 0.95" for r, ok in cogrok.items()
            )
            or "no run",
            "every task reaches val 0.95 at some r",
            bool(best_r) if len(data) else None,
            scale,
        ),
        judge(
            "fig10",
            "Multiplication is the slowest task to grok.",
            "mul is slowest",
            "; ".join(
                f"{pretty(o)}: {steps(s)}"
                for o, s in grokked[np.isclose(grokked[R], min(best_r))][
                    ["operation", "step_val_95"]
                ].itertuples(index=False)
            )
            if best_r
            else "no co-grokking run",
            "mul's step of val 95% is the largest",
            slowest,
            scale,
        ),
    ]
    return fig, data, claims


def fig11(tables, scale):
    curves, summary = tables["mixture"]
    _, scratch = tables["scratch"]
    variants = list(dict.fromkeys(summary["variant"]))
    fig, axes = panels(max(len(variants), 1), columns=4, width=3.6)
    records = []
    for ax, variant in zip(axes, variants, strict=False):
        row = summary[summary["variant"] == variant].sort_values("seed").iloc[0]
        for operation, (top, step) in task_curves(ax, curves, summary, row["run_id"]).items():
            alone = best(scratch, data__operation=operation, data__train_fraction=row[R])[0]
            records.append(
                {
                    "mixture": variant,
                    "operation": operation,
                    "best_val": top,
                    "step_val_95": step,
                    "alone_best_val": alone,
                }
            )
        ax.set_title(f"{variant} (r = {row[R]:g} per task)", fontsize="small")
    fig.suptitle("Mixtures of operations (solid: val accuracy per task)")
    data = pd.DataFrame(records)

    def entry(mixture, operation):
        rows = data[(data["mixture"] == mixture) & (data["operation"] == operation)]
        return rows.iloc[0] if len(rows) else None

    helped = entry("quadratics", "a2+ab+b2")
    cubic = [
        e
        for e in (entry("cubic_a3ab", "a3+ab"), entry("cubic_a3ab2b", "a3+ab2+b"))
        if e is not None
    ]
    claims = [
        judge(
            "fig11",
            "Mixed with a^2+b^2 and (a+b)^2, a^2+ab+b^2 groks at r = 0.3 (it does not alone).",
            "a2+b2 and (a+b)2 help a2+ab+b2",
            "no run"
            if helped is None
            else f"in mixture {helped.best_val:.2f}, alone {helped.alone_best_val:.2f}",
            "mixture val >= 0.95 and > alone + 0.1",
            None
            if helped is None or math.isnan(helped.alone_best_val)
            else bool(helped.best_val >= GROKS and helped.best_val > helped.alone_best_val + 0.1),
            scale,
        ),
        judge(
            "fig11",
            "The cubic mixtures plateau: a^3+ab and a^3+ab^2+b do not grok with (a+b)^3.",
            "plateau",
            "; ".join(f"{pretty(e.operation)}: {e.best_val:.2f}" for e in cubic) or "no run",
            "val < 0.95 for a3+ab and a3+ab2+b in their mixtures",
            all(e.best_val < GROKS for e in cubic) if cubic else None,
            scale,
        ),
    ]
    return fig, data, claims
