"""Exploring Grokking (Hu, Zhou, Yu 2024; arXiv 2412.10898): figures and claims.

The paper's statements come from summaries of it (shared/seeds/003_*, shared/papers/grokking.md
section 2); the figure numbers are ours except Fig. 8 (optimizers), which the summary names.
Each figure function gets the aggregated tables of its experiments and returns the figure, the
table of the numbers it plots, and the claims it checks.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from repro.claims import judge, steps
from repro.figures import accuracy_curves, panels, plt

TITLE = "Exploring Grokking: Experimental and Mechanistic Investigations"
TABLE_COLUMNS = [
    "run_id",
    "variant",
    "seed",
    "data.train_fraction",
    "data.encoding",
    "model.name",
    "model.n_layers",
    "optimizer.name",
    "optimizer.weight_decay",
    "status",
    "steps_done",
    "step_train_99",
    "step_val_95",
    "step_val_99",
    "grokking_delay",
    "final_train_accuracy",
    "final_val_accuracy",
    "wall_time_s",
]


def median_steps(values: pd.Series) -> float:
    """Median over seeds, where 'never' (NaN) counts as infinitely late."""
    finite = values.fillna(math.inf).to_numpy(dtype=float)
    result = float(np.median(finite)) if len(finite) else math.nan
    return math.nan if math.isinf(result) else result


def by_variant(summary: pd.DataFrame, key: str = "variant") -> pd.DataFrame:
    """Per variant (or per swept value): median steps and mean accuracies over seeds."""
    grouped = summary.groupby(key, sort=False)
    return pd.DataFrame(
        {
            "seeds": grouped["seed"].count(),
            "step_train_99": grouped["step_train_99"].apply(median_steps),
            "step_val_95": grouped["step_val_95"].apply(median_steps),
            "final_train_accuracy": grouped["final_train_accuracy"].mean(),
            "final_val_accuracy": grouped["final_val_accuracy"].mean(),
            "budget": grouped["train.steps"].max(),
            "last_step": grouped["last_step"].max(),
        }
    ).assign(grokking_delay=lambda t: t["step_val_95"] - t["step_train_99"])


def with_reference(tables, experiment: str, label: str):
    """The experiment's runs plus the reference: the train-fraction sweep's runs at 50% data,
    the AdamW transformer on tokens that every comparison is made against (trained once)."""
    curves, summary = tables[experiment]
    sweep_curves, sweep_summary = tables["train_fraction"]
    chosen = sweep_summary[np.isclose(sweep_summary["data.train_fraction"], 0.5)]
    renamed = {run_id: f"{label}_{run_id}" for run_id in chosen["run_id"]}
    reference_summary = chosen.assign(variant=label, run_id=chosen["run_id"].map(renamed))
    reference_curves = sweep_curves[sweep_curves["run_id"].isin(renamed)]
    reference_curves = reference_curves.assign(
        variant=label, run_id=reference_curves["run_id"].map(renamed)
    )
    return (
        pd.concat([reference_curves, curves], ignore_index=True),
        pd.concat([reference_summary, summary], ignore_index=True),
    )


def table(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[[c for c in TABLE_COLUMNS if c in summary.columns]]


def run_panels(curves: pd.DataFrame, summary: pd.DataFrame, key: str, title_format: str):
    """One panel per value of `key` (train fraction, variant), one line per seed."""
    values = (
        list(dict.fromkeys(summary.sort_values(key)[key]))
        if key != "variant"
        else list(dict.fromkeys(summary["variant"]))
    )
    fig, axes = panels(len(values))
    for ax, value in zip(axes, values, strict=False):
        for run_id in summary.loc[summary[key] == value, "run_id"]:
            accuracy_curves(ax, curves[curves["run_id"] == run_id], color="C0")
        ax.set_title(title_format.format(value))
    handles = [
        plt.Line2D([], [], color="k", linestyle="--", label="train"),
        plt.Line2D([], [], color="k", linestyle="-", label="validation"),
    ]
    axes[0].legend(handles=handles, loc="lower right")
    return fig


def fig1(tables, scale: str):
    curves, summary = tables["train_fraction"]
    fig = run_panels(curves, summary, "data.train_fraction", "train fraction {:g}")
    fig.suptitle("Transformer, AdamW (weight decay 1): accuracy against steps")
    stats = by_variant(summary, "data.train_fraction")
    near_half = stats[(stats.index >= 0.45) & (stats.index <= 0.6)]
    groks = [
        (not math.isnan(row.step_val_95)) and row.grokking_delay > 0
        for row in near_half.itertuples()
    ]
    ours = "; ".join(
        f"{fraction:g}: train 99% at {steps(row.step_train_99)}, val 95% at "
        f"{steps(row.step_val_95)}"
        for fraction, row in near_half.iterrows()
    )
    claims = [
        judge(
            "fig1",
            "The transformer trained with AdamW groks near 50% training data: validation "
            "accuracy rises long after training accuracy reaches 100%.",
            "groks at 45% and 60% data; validation accuracy rises around 6k epochs, after the "
            "training set is fit [summary]",
            ours or "no run between 0.45 and 0.6",
            "at every fraction in [0.45, 0.6]: val acc >= 0.95 within the budget, at a later step "
            "than train acc >= 0.99",
            bool(groks) and all(groks) if len(near_half) else None,
            scale,
        )
    ]
    return fig, table(summary), claims


def fig2(tables, scale: str):
    _, summary = tables["train_fraction"]
    stats = by_variant(summary, "data.train_fraction").sort_index()
    budget = stats["budget"].max()
    fig, (ax_steps, ax_delay) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    for column, label, marker in (
        ("step_train_99", "train acc >= 0.99", "s"),
        ("step_val_95", "val acc >= 0.95", "o"),
    ):
        reached = stats[column].notna()
        ax_steps.plot(stats.index[reached], stats.loc[reached, column], marker=marker, label=label)
        if (~reached).any():  # never reached: drawn at the budget, hollow
            ax_steps.scatter(
                stats.index[~reached],
                [budget] * int((~reached).sum()),
                marker=marker,
                facecolors="none",
                edgecolors="k",
                label=f"{label}: not within {budget:,.0f} steps",
            )
    ax_steps.set(
        yscale="log",
        xlabel="training fraction",
        ylabel="step",
        title="steps to fit and to generalise",
    )
    ax_steps.legend()
    generalised = stats[stats["step_val_95"].notna()]
    ax_delay.bar([f"{f:g}" for f in generalised.index], generalised["grokking_delay"])
    ax_delay.set(
        xlabel="training fraction", ylabel="steps", title="grokking delay (val 95% - train 99%)"
    )

    claims = []
    if len(generalised):
        most = float(generalised["grokking_delay"].idxmax())
        claims.append(
            judge(
                "fig2",
                "Grokking is most pronounced near 50% training data.",
                "most pronounced around 50% [summary]",
                f"largest delay {generalised['grokking_delay'].max():,.0f} steps at fraction "
                f"{most:g} (among fractions that generalise within the budget)",
                "the fraction with the largest grokking delay lies in [0.4, 0.6]",
                0.4 <= most <= 0.6,
                scale,
            )
        )
    else:
        claims.append(
            judge(
                "fig2",
                "Grokking is most pronounced near 50% training data.",
                "most pronounced around 50% [summary]",
                "no fraction generalised",
                "the fraction with the largest grokking delay lies in [0.4, 0.6]",
                False,
                scale,
            )
        )
    ordered = stats["step_val_95"].fillna(math.inf)
    rank = pd.Series(ordered.to_numpy()).rank().corr(pd.Series(stats.index.to_numpy()).rank())
    smallest = stats.index.min()
    claims.append(
        judge(
            "fig2",
            "Smaller training fractions make generalisation harder: it takes longer, and "
            "below some fraction it does not happen within the budget.",
            "too little data makes the task too difficult to generalise [summary]",
            f"Spearman rho(fraction, steps to val 95%) = {rank:.2f}; at {smallest:g}: val 95% "
            f"{steps(stats.loc[smallest, 'step_val_95'])}",
            "rho <= -0.8 (never counts as slowest) and the smallest fraction never reaches val 95%",
            bool(rank <= -0.8 and math.isnan(stats.loc[smallest, "step_val_95"])),
            scale,
        )
    )
    shown = stats.reset_index().rename(columns={"data.train_fraction": "train_fraction"})
    return fig, shown, claims


def fig3(tables, scale: str):
    curves, summary = with_reference(tables, "models", "transformer")
    fig = run_panels(curves, summary, "variant", "{}")
    fig.suptitle("Models at 50% data (AdamW)")
    stats = by_variant(summary)
    claims = []

    def groks(variant):
        return variant in stats.index and not math.isnan(stats.loc[variant, "step_val_95"])

    def describe(variant):
        row = stats.loc[variant]
        return (
            f"val 95% at {steps(row.step_val_95)}; train/val acc "
            f"{row.final_train_accuracy:.3f}/{row.final_val_accuracy:.3f} at step "
            f"{row.last_step:,.0f} (budget {row.budget:,.0f})"
        )

    for variant, expected, statement in (
        ("transformer", True, "The transformer groks on a+b mod 97."),
        ("mlp", False, "The MLP (2x512) does not grok within the budget."),
        ("lstm", False, "The LSTM (hidden 20) does not grok within the budget."),
    ):
        if variant not in stats.index:
            continue
        paper = (
            "the transformer groks [summary]"
            if expected
            else "MLP and LSTM show no grokking [summary]"
        )
        claims.append(
            judge(
                "fig3",
                statement,
                paper,
                describe(variant),
                "val acc >= 0.95 within the budget"
                if expected
                else "val acc stays < 0.95 for the whole budget",
                groks(variant) == expected,
                scale,
            )
        )
    if "mlp" in stats.index:
        final_train = stats.loc["mlp", "final_train_accuracy"]
        claims.append(
            judge(
                "fig3",
                "The MLP does not reach 100% training accuracy even after 20,000 steps.",
                "train acc < 100% after 20k steps [summary]",
                f"train acc {final_train:.4f} after {stats.loc['mlp', 'budget']:,.0f} steps",
                "final train acc < 1.0 after >= 20,000 steps",
                bool(final_train < 1.0) if stats.loc["mlp", "budget"] >= 20000 else None,
                scale,
            )
        )
    return fig, table(summary), claims


def fig4(tables, scale: str):
    curves, summary = with_reference(tables, "encodings", "transformer_tokens")
    fig = run_panels(curves, summary, "variant", "{}")
    fig.suptitle("Encodings: token sequence [a, +, b, =] and concatenated one-hot, at 50% data")
    stats = by_variant(summary)
    verdicts, ours = [], []
    for variant, row in stats.iterrows():
        model = variant.split("_")[0]
        generalised = not math.isnan(row.step_val_95)
        verdicts.append(generalised == (model == "transformer"))
        ours.append(
            f"{variant}: {'groks' if generalised else 'no'} (val {row.final_val_accuracy:.2f})"
        )
    claims = [
        judge(
            "fig4",
            "Under both encodings the transformer groks while the MLP and LSTM do not.",
            "the transformer groks; MLP and LSTM do not under the tested encoding [summary]",
            "; ".join(ours),
            "for every encoding: transformer val acc >= 0.95 within the budget, "
            "MLP and LSTM val acc < 0.95",
            all(verdicts),
            scale,
        )
    ]
    return fig, table(summary), claims


def fig5(tables, scale: str):
    curves, summary = with_reference(tables, "optimizers", "adamw")
    fig, (ax_curves, ax_bars) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    for index, variant in enumerate(dict.fromkeys(summary["variant"])):
        for n, run_id in enumerate(summary.loc[summary["variant"] == variant, "run_id"]):
            accuracy_curves(
                ax_curves,
                curves[curves["run_id"] == run_id],
                color=f"C{index}",
                label=variant if n == 0 else None,
            )
    ax_curves.legend(loc="upper left")
    ax_curves.set_title("train (dashed) and validation (solid) accuracy")
    stats = by_variant(summary)
    ax_bars.barh(stats.index, stats["final_val_accuracy"])
    ax_bars.set(xlim=(0, 1), xlabel="final validation accuracy", title="at the end of the budget")
    reference = stats.loc["adamw", "step_val_95"] if "adamw" in stats.index else math.nan
    others = stats.drop(index="adamw", errors="ignore")
    faster = [
        (not math.isnan(reference)) and (math.isnan(row.step_val_95) or reference < row.step_val_95)
        for row in others.itertuples()
    ]
    ours = "; ".join(f"{variant}: {steps(row.step_val_95)}" for variant, row in stats.iterrows())
    claims = [
        judge(
            "fig5",
            "AdamW with weight decay generalises better than Adam and Adam with noise.",
            "AdamW with weight decay achieves better generalisation than Adam and the noise "
            "variants (their Fig. 8) [summary]",
            f"steps to val 95%: {ours}",
            "AdamW reaches val acc 0.95 in fewer steps than every other variant (never = slowest)",
            bool(faster) and all(faster),
            scale,
        )
    ]
    return fig, table(summary), claims


def fig6(tables, scale: str):
    curves, summary = tables["simplified_low_data"]
    fig, ax = plt.subplots(figsize=(5.5, 3.4), layout="constrained")
    for run_id in summary["run_id"]:
        accuracy_curves(ax, curves[curves["run_id"] == run_id], color="C0", label=run_id)
    stats = by_variant(summary)
    row = stats.iloc[0]
    for value, text in ((row.step_train_99, "train 99%"), (row.step_val_95, "val 95%")):
        if not math.isnan(value):
            ax.axvline(value, color="grey", linewidth=0.8)
            ax.annotate(text, (value, 0.5), rotation=90, fontsize="small")
    ax.set_title("1-layer transformer, 30% data")
    claims = [
        judge(
            "fig6",
            "At 30% data the simplified transformer's validation accuracy jumps thousands "
            "of steps after its training accuracy reaches 100%.",
            "train 100% at ~200 steps; validation 100% about 9.1k steps later [summary]",
            f"train 99% at {steps(row.step_train_99)}, val 95% at {steps(row.step_val_95)}: "
            f"delay {steps(row.grokking_delay)} steps",
            "val acc >= 0.95 is reached >= 1,000 steps after train acc >= 0.99",
            bool(row.grokking_delay >= 1000),
            scale,
        )
    ]
    return fig, table(summary), claims


FIGURES = {"fig1": fig1, "fig2": fig2, "fig3": fig3, "fig4": fig4, "fig5": fig5, "fig6": fig6}
