"""What the figures of Grokking Tickets (tickets_*) read from the logged runs: per run t_mem,
t_gen and tau_grok (v3 section 3), their median over seeds per variant, the curves of one
variant, and the weight snapshots a run saved.

t_mem (t_gen) = the first evaluated step with train (test) accuracy > 0.95; tau_grok =
t_gen / t_mem. A run that never crosses within its budget has t = NaN ("never"): for "slower
than" claims that is a lower bound (slower than its budget).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from repro import prune

THRESHOLD = 0.95  # t_mem, t_gen: first step with accuracy > 95% (v3 section 3)
TICKET = "k60"  # the paper's default ticket: k = 0.6 (official code: sparsity 0.4 kept)
RATE_OF = {f"k{int(k * 100)}": k for k in np.round(np.arange(0.1, 0.91, 0.01), 2)}
BASE_COLOR, TICKET_COLOR = "C2", "C0"  # the paper's green base, blue ticket
LAYERS = ("embed.weight", "inproj.weight", "outproj.weight", "unembed.weight")  # the MLP


def first_above(curves: pd.DataFrame, split: str, threshold: float = THRESHOLD) -> float:
    rows = curves[(curves["split"] == split) & (curves["accuracy"] > threshold)]
    return float(rows["step"].min()) if len(rows) else math.nan


def run_stats(tables, experiment: str) -> pd.DataFrame:
    """One row per run: t_mem, t_gen, tau_grok, accuracies and the step budget."""
    curves, summary = tables[experiment]
    rows = []
    for _, run in summary.iterrows():
        part = curves[curves["run_id"] == run["run_id"]]
        t_mem, t_gen = first_above(part, "train"), first_above(part, "val")
        val = part[part["split"] == "val"].sort_values("step")
        rows.append(
            {
                "experiment": experiment,
                "variant": run["variant"] or "dense",
                "run_id": run["run_id"],
                "seed": run["seed"],
                "t_mem": t_mem,
                "t_gen": t_gen,
                "tau_grok": t_gen / t_mem if t_mem > 0 else math.nan,
                "final_train_accuracy": run["final_train_accuracy"],
                "final_test_accuracy": float(val["accuracy"].iloc[-1]),
                "max_test_accuracy": float(val["accuracy"].max()),
                "budget": float(run["train.steps"]),
            }
        )
    return pd.DataFrame(rows)


def median_steps(values) -> float:
    """Median over seeds, a run that never got there counted as infinitely late."""
    values = np.where(np.isnan(values), np.inf, values)
    middle = float(np.median(values))
    return math.nan if math.isinf(middle) else middle


def by_variant(stats: pd.DataFrame) -> pd.DataFrame:
    grouped = stats.groupby("variant", sort=False)
    return pd.DataFrame(
        {
            "seeds": grouped["seed"].count(),
            "t_mem": grouped["t_mem"].apply(median_steps),
            "t_gen": grouped["t_gen"].apply(median_steps),
            "final_train_accuracy": grouped["final_train_accuracy"].mean(),
            "final_test_accuracy": grouped["final_test_accuracy"].mean(),
            "max_test_accuracy": grouped["max_test_accuracy"].mean(),
            "budget": grouped["budget"].max(),
        }
    ).assign(tau_grok=lambda t: t["t_gen"] / t["t_mem"])


def variant_stats(tables, experiment: str) -> pd.DataFrame:
    """by_variant of the experiment's runs: one row per variant ("dense" for a base run)."""
    return by_variant(run_stats(tables, experiment))


def later(a: float, b: float, budget_a: float) -> bool:
    """a is later than b: a never happened within budget_a > b, or a > b."""
    if math.isnan(b):
        return False
    return (math.isnan(a) and budget_a > b) or (not math.isnan(a) and a > b)


def bound(t: float, budget: float) -> str:
    return f"> {budget:,.0f}" if math.isnan(t) else f"{t:,.0f}"


def t_gens(stats: pd.DataFrame) -> str:
    """t_gen of each variant of a by_variant table, as bounds: "l1 1,200, l2 > 2,000"."""
    return ", ".join(f"{v} {bound(r.t_gen, r.budget)}" for v, r in stats.iterrows())


def first_at_least(curves: pd.DataFrame, split: str, level: float) -> float:
    rows = curves[(curves["split"] == split) & (curves["accuracy"] >= level) & (curves["step"] > 0)]
    return float(rows["step"].min()) if len(rows) else math.nan


def snapshots(results_dir: Path, experiment: str, run_id: str) -> dict[int, Path]:
    folder = Path(results_dir) / experiment / run_id / "weights"
    return {int(p.stem.split("_")[1]): p for p in sorted(folder.glob("step_*.pt"))}


def first_base_run(tables) -> tuple[str, pd.DataFrame]:
    """The first seed of the MLP base run (the paper shows one run) and its mean test curve."""
    curves, summary = tables["base_mlp"]
    run_id = summary["run_id"].iloc[0]
    return run_id, mean_curve(curves[curves["run_id"] == run_id], "val")


def snapshot_masks(results_dir: Path, run_id: str, rate: float) -> dict[int, tuple[dict, dict]]:
    """{step: (weights, their magnitude mask at pruning rate `rate`)} for every snapshot the
    base_mlp run saved."""
    masks = {}
    for step, path in snapshots(results_dir, "base_mlp", run_id).items():
        state = torch.load(path, map_location="cpu", weights_only=True)
        masks[step] = state, prune.global_mask(prune.magnitude_scores(state), rate)
    return masks


# ---- drawing ----


def mean_curve(curves: pd.DataFrame, split: str, column: str = "accuracy") -> pd.DataFrame:
    """Mean and range over the seeds of one variant, by step."""
    part = curves[curves["split"] == split]
    return part.groupby("step")[column].agg(["mean", "min", "max"]).reset_index()


def mean_at(line: pd.DataFrame, step: float) -> float:
    """A mean_curve's mean at any step, interpolated linearly between evaluated steps."""
    return float(np.interp(step, line["step"], line["mean"]))


def draw_curve(ax, curves, split, column="accuracy", label=None, color=None, linestyle="-"):
    line = mean_curve(curves, split, column)
    ax.plot(line["step"], line["mean"], linestyle, color=color, label=label)
    if curves["seed"].nunique() > 1:
        ax.fill_between(line["step"], line["min"], line["max"], color=color, alpha=0.2)


def variant_curves(tables, experiment: str, variant: str) -> pd.DataFrame:
    curves, _ = tables[experiment]
    names = {variant, ""} if variant == "dense" else {variant}  # a base run has no variant
    return curves[curves["variant"].isin(names)]


def accuracy_panel(ax, entries, splits=("train", "val")) -> None:
    """entries: (label, curves, color); train dashed, test solid."""
    for label, curves, color in entries:
        for split in splits:
            style = "--" if split == "train" else "-"
            draw_curve(
                ax,
                curves,
                split,
                label=label if split == "val" else None,
                color=color,
                linestyle=style,
            )
    ax.axhline(THRESHOLD, color="grey", linewidth=0.5)
    ax.set(xlabel="step (epoch, full batch)", ylabel="accuracy", ylim=(-0.02, 1.02))
    ax.legend(loc="lower right", fontsize="small")


def label_test_accuracy(ax, title: str, xlabel: str = "step", **legend) -> None:
    """Labels, 0-1 range and legend of a panel of test accuracy against `xlabel`."""
    ax.set(xlabel=xlabel, ylabel="test accuracy", ylim=(-0.02, 1.02), title=title)
    ax.legend(fontsize="small", **legend)
