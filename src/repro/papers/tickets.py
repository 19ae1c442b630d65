"""Grokking Tickets (Minegishi, Iwasawa, Matsuo; arXiv 2310.19470, v3 "Bridging Lottery Ticket
and Grokking"): figures and claims, from the logged runs (and, for Figs 7, 18 and 19, the base
run's weight snapshots and the mask files the runs were trained with).

Definitions (v3 section 3): t_mem (t_gen) = the first evaluated step with train (test) accuracy
> 0.95; tau_grok = t_gen / t_mem. A run that never crosses within its budget has t = NaN
("never"): for "slower than" claims that is a lower bound (slower than its budget). The paper's
values come from shared/papers/grokking.md section 3 (v3 text; figures read qualitatively).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from repro import prune
from repro.claims import judge
from repro.figures import plt, table_figure
from repro.measures.graph_spectra import ramanujan_gap, weighted_spectral_gap
from repro.measures.tickets import fourier_entropy_of

TITLE = "Grokking Tickets / Bridging Lottery Ticket and Grokking"
THRESHOLD = 0.95  # t_mem, t_gen: first step with accuracy > 95% (v3 section 3)
TICKET = "k60"  # the paper's default ticket: k = 0.6 (official code: sparsity 0.4 kept)
RATE_OF = {f"k{int(k * 100)}": k for k in np.round(np.arange(0.1, 0.91, 0.01), 2)}
BASE_COLOR, TICKET_COLOR = "C2", "C0"  # the paper's green base, blue ticket


# ---- per-run numbers ----


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


def later(a: float, b: float, budget_a: float) -> bool:
    """a is later than b: a never happened within budget_a > b, or a > b."""
    if math.isnan(b):
        return False
    return (math.isnan(a) and budget_a > b) or (not math.isnan(a) and a > b)


def bound(t: float, budget: float) -> str:
    return f"> {budget:,.0f}" if math.isnan(t) else f"{t:,.0f}"


# ---- drawing ----


def mean_curve(curves: pd.DataFrame, split: str, column: str = "accuracy") -> pd.DataFrame:
    """Mean and range over the seeds of one variant, by step."""
    part = curves[curves["split"] == split]
    return part.groupby("step")[column].agg(["mean", "min", "max"]).reset_index()


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


# ---- figures ----


def fig1(tables, scale: str):
    base = by_variant(run_stats(tables, "base_mlp")).iloc[0]
    stats = run_stats(tables, "tickets_mlp")
    ticket = by_variant(stats).loc[TICKET]
    fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
    accuracy_panel(
        ax,
        [
            ("dense base (test)", variant_curves(tables, "base_mlp", "dense"), BASE_COLOR),
            (
                "grokked ticket k=0.6 (test)",
                variant_curves(tables, "tickets_mlp", TICKET),
                TICKET_COLOR,
            ),
        ],
    )
    for row, color in ((base, BASE_COLOR), (ticket, TICKET_COLOR)):
        for t, style in ((row.t_mem, ":"), (row.t_gen, "-.")):
            if not math.isnan(t):
                ax.axvline(t, color=color, linestyle=style, linewidth=0.8)
    ax.set_title("MLP, (a+b) mod 67: t_mem dotted, t_gen dash-dotted")
    faster = later(base.t_gen, ticket.t_gen, base.budget) and (
        math.isnan(base.t_gen) or ticket.t_gen <= base.t_gen / 2
    )
    claims = [
        judge(
            "fig1",
            "The grokked ticket (k = 0.6) generalises far sooner than the dense model from the "
            "same initialisation; its train and test accuracy rise almost together.",
            "ticket t_gen a fraction of the base's; tau_grok near 1 for the ticket",
            f"t_gen base {bound(base.t_gen, base.budget)}, ticket "
            f"{bound(ticket.t_gen, ticket.budget)}; tau_grok base {base.tau_grok:.2f}, ticket "
            f"{ticket.tau_grok:.2f}",
            "ticket t_gen <= half the base's (or the base never generalises in its budget) "
            "and ticket tau_grok < base tau_grok",
            faster and (math.isnan(base.tau_grok) or ticket.tau_grok < base.tau_grok),
            scale,
        )
    ]
    table = pd.DataFrame([base.rename("dense base"), ticket.rename("ticket k=0.6")])
    return fig, table.reset_index(names="run"), claims


def fig2(tables, scale: str):
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), layout="constrained")
    claims, rows = [], []
    for ax, name, base_exp, ticket_exp in (
        (axes[0], "MLP", "base_mlp", "tickets_mlp"),
        (axes[1], "Transformer", "base_transformer", "tickets_transformer"),
    ):
        base = by_variant(run_stats(tables, base_exp)).iloc[0]
        ticket = by_variant(run_stats(tables, ticket_exp)).loc[TICKET]
        for label, curves, color, style in (
            ("dense", variant_curves(tables, base_exp, "dense"), BASE_COLOR, "--"),
            ("grokked ticket k=0.6", variant_curves(tables, ticket_exp, TICKET), TICKET_COLOR, "-"),
        ):
            draw_curve(ax, curves, "val", label=f"{label} (test)", color=color, linestyle=style)
        ax.set(
            title=f"({'ab'[len(rows) // 2]}) {name}, (a+b) mod p",
            xlabel="step",
            ylabel="test accuracy",
            ylim=(-0.02, 1.02),
        )
        ax.legend(loc="lower right", fontsize="small")
        rows += [base.rename(f"{name} dense"), ticket.rename(f"{name} ticket")]
        claims.append(ticket_claim(f"{name}, (a+b) mod p", base, ticket, scale))
    bases = by_variant(run_stats(tables, "base_ops"))
    tickets = by_variant(run_stats(tables, "tickets_ops"))
    for index, op in enumerate(bases.index):
        color = f"C{index + 3}"
        draw_curve(
            axes[2], variant_curves(tables, "base_ops", op), "val", color=color, linestyle="--"
        )
        draw_curve(axes[2], variant_curves(tables, "tickets_ops", op), "val", label=op, color=color)
        rows += [bases.loc[op].rename(f"{op} dense"), tickets.loc[op].rename(f"{op} ticket")]
        claims.append(ticket_claim(f"MLP, {op} mod p", bases.loc[op], tickets.loc[op], scale))
    axes[2].set(
        title="(c) other operations (dense dashed, ticket solid)",
        xlabel="step",
        ylabel="test accuracy",
        ylim=(-0.02, 1.02),
    )
    axes[2].legend(loc="lower right", fontsize="small")
    return fig, pd.DataFrame(rows).reset_index(names="run"), claims


def ticket_claim(setting: str, base, ticket, scale: str):
    return judge(
        "fig2",
        f"{setting}: the grokked ticket reaches test accuracy > 95% before the dense model.",
        "t_gen reduced in all settings (Fig 2)",
        f"t_gen dense {bound(base.t_gen, base.budget)}, ticket "
        f"{bound(ticket.t_gen, ticket.budget)}",
        "ticket t_gen < dense t_gen (a dense run that never generalises in its budget counts "
        "as later)",
        later(base.t_gen, ticket.t_gen, base.budget),
        scale,
    )


def rate_table(tables) -> pd.DataFrame:
    """tau_grok and friends against the pruning rate; k = 0 is the dense base run."""
    base = by_variant(run_stats(tables, "base_mlp")).assign(pruning_rate=0.0)
    tickets = by_variant(run_stats(tables, "tickets_mlp"))
    tickets = tickets.assign(pruning_rate=[RATE_OF[v] for v in tickets.index])
    return pd.concat([base, tickets]).sort_values("pruning_rate")


def fig3(tables, scale: str):
    table = rate_table(tables)
    fig, (ax_tau, ax_mem) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    ax_tau.plot(table["pruning_rate"], table["tau_grok"], "o-")
    ax_tau.set(
        yscale="log",
        xlabel="pruning rate k (0 = dense)",
        ylabel="tau_grok = t_gen/t_mem",
        title="(a) tau_grok",
    )
    ax_mem.plot(table["pruning_rate"], table["t_mem"], "o-", label="t_mem")
    ax_mem.plot(table["pruning_rate"], table["t_gen"], "s--", label="t_gen")
    ax_mem.set(
        xlabel="pruning rate k",
        ylabel="step",
        yscale="log",
        title="(b) memorisation and generalisation steps",
    )
    ax_mem.legend()
    pruned = table[table["pruning_rate"] > 0]
    finite = pruned.dropna(subset=["tau_grok"])
    best = (
        float(finite.loc[finite["tau_grok"].idxmin(), "pruning_rate"]) if len(finite) else math.nan
    )
    low, high = pruned.iloc[0], pruned.iloc[-1]
    claims = [
        judge(
            "fig3",
            "tau_grok is smallest at a moderate pruning rate, near k = 0.7.",
            "minimum at k = 0.7",
            f"minimum at k = {best:g} over k in {sorted(pruned['pruning_rate'].round(2))}",
            "argmin within 0.1 of 0.7",
            None if math.isnan(best) else abs(best - 0.7) <= 0.1 + 1e-9,
            scale,
        ),
        judge(
            "fig3",
            "A higher pruning rate delays memorisation (t_mem).",
            "t_mem grows with k at high k",
            f"t_mem at k={low.pruning_rate:g}: {bound(low.t_mem, low.budget)}, at "
            f"k={high.pruning_rate:g}: {bound(high.t_mem, high.budget)}",
            "t_mem at the highest k > t_mem at the lowest k",
            later(high.t_mem, low.t_mem, high.budget),
            scale,
        ),
    ]
    return fig, table.reset_index(names="run"), claims


def fig4(tables, scale: str):
    base_curves = variant_curves(tables, "base_mlp", "dense")
    base_val = mean_curve(base_curves, "val")
    epochs = by_variant(run_stats(tables, "tickets_mlp_epochs"))
    epochs = epochs.assign(mask_step=[int(v[1:]) for v in epochs.index]).sort_values("mask_step")
    epochs["base_test_accuracy_at_step"] = [
        float(np.interp(t, base_val["step"], base_val["mean"])) for t in epochs["mask_step"]
    ]
    fig, (ax_t, ax_k) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    ax_t.plot(
        epochs["mask_step"],
        epochs["final_test_accuracy"],
        "o-",
        color=TICKET_COLOR,
        label="ticket from step t: final test acc",
    )
    ax_t.plot(
        epochs["mask_step"],
        epochs["base_test_accuracy_at_step"],
        "s--",
        color=BASE_COLOR,
        label="base: test acc at step t",
    )
    ax_t.set(
        xlabel="step t of the mask (k = 0.6)",
        ylabel="test accuracy",
        ylim=(-0.02, 1.02),
        title="(a) tickets taken at step t",
    )
    ax_t.legend(fontsize="small")
    shown = [v for v in ("k10", "k30", "k50", "k70", "k90") if v in RATE_OF]
    present = set(tables["tickets_mlp"][1]["variant"])
    for index, variant in enumerate(v for v in shown if v in present):
        draw_curve(
            ax_k,
            variant_curves(tables, "tickets_mlp", variant),
            "val",
            label=f"k={RATE_OF[variant]:g}",
            color=f"C{index}",
        )
    draw_curve(ax_k, base_curves, "val", label="dense", color="grey", linestyle="--")
    ax_k.set(
        xlabel="step",
        ylabel="test accuracy",
        ylim=(-0.02, 1.02),
        title="(b) grokked tickets by pruning rate",
    )
    ax_k.legend(fontsize="small")
    first, last = epochs.iloc[0], epochs.iloc[-1]
    claims = [
        judge(
            "fig4",
            "Tickets taken early in the base run (before it generalises) do not fully "
            "generalise; tickets from the end of the run do.",
            "tickets from < 25k epochs do not reach full test accuracy; their accuracy is "
            "close to the base's at t",
            f"ticket from step {first.mask_step:,}: final test acc {first.final_test_accuracy:.3f}"
            f" (base at that step {first.base_test_accuracy_at_step:.3f}); from step "
            f"{last.mask_step:,}: {last.final_test_accuracy:.3f}",
            f"earliest ticket's final test acc < {THRESHOLD} and the last one's >= {THRESHOLD}",
            bool(first.final_test_accuracy < THRESHOLD <= last.final_test_accuracy),
            scale,
        )
    ]
    rates = by_variant(run_stats(tables, "tickets_mlp"))
    if {"k30", "k70", "k90"} <= set(rates.index):
        k30, k70, k90 = rates.loc["k30"], rates.loc["k70"], rates.loc["k90"]
        claims.append(
            judge(
                "fig4",
                "Among grokked tickets, k = 0.9 fails to generalise (or is much slower) and "
                "k = 0.3 is slower than k = 0.7.",
                "k = 0.9 fails; k = 0.3 too slow; k = 0.7 fastest",
                f"t_gen k=0.3 {bound(k30.t_gen, k30.budget)}, k=0.7 "
                f"{bound(k70.t_gen, k70.budget)}, k=0.9 {bound(k90.t_gen, k90.budget)}",
                "t_gen(0.9) and t_gen(0.3) later than t_gen(0.7)",
                later(k90.t_gen, k70.t_gen, k90.budget) and later(k30.t_gen, k70.t_gen, k30.budget),
                scale,
            )
        )
    table = pd.concat([epochs.reset_index(names="run"), rates.reset_index(names="run")])
    return fig, table, claims


def fig5(tables, scale: str):
    base = by_variant(run_stats(tables, "base_mlp")).iloc[0]
    ticket = by_variant(run_stats(tables, "tickets_mlp")).loc[TICKET]
    controls = by_variant(run_stats(tables, "controls_mlp"))
    pai = by_variant(run_stats(tables, "pai_mlp"))
    fig, (ax_n, ax_p) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    ticket_curves = variant_curves(tables, "tickets_mlp", TICKET)
    base_curves = variant_curves(tables, "base_mlp", "dense")
    entries = [("base", base_curves, BASE_COLOR), ("ticket k=0.6", ticket_curves, TICKET_COLOR)]
    entries += [
        (f"dense, {v.upper()}-matched init", variant_curves(tables, "controls_mlp", v), f"C{3 + i}")
        for i, v in enumerate(controls.index)
    ]
    accuracy_panel(ax_n, entries, splits=("val",))
    ax_n.set(title="(a) norm-matched dense controls (test)")
    entries = [("base", base_curves, BASE_COLOR), ("ticket k=0.6", ticket_curves, TICKET_COLOR)]
    entries += [
        (v, variant_curves(tables, "pai_mlp", v), f"C{3 + i}") for i, v in enumerate(pai.index)
    ]
    accuracy_panel(ax_p, entries, splits=("val",))
    ax_p.set(title="(b) pruning at initialisation, k = 0.6 (test)")
    slower = {v: later(row.t_gen, ticket.t_gen, row.budget) for v, row in controls.iterrows()}
    no_faster = {
        v: math.isnan(row.t_gen) or math.isnan(base.t_gen) or row.t_gen >= base.t_gen
        for v, row in pai.iterrows()
    }
    claims = [
        judge(
            "fig5",
            "Dense models started at the ticket's L1 or L2 norm generalise more slowly than "
            "the ticket: weight norm alone does not explain the speed-up.",
            "ticket far faster than both controls",
            f"t_gen ticket {bound(ticket.t_gen, ticket.budget)}; "
            + ", ".join(f"{v} {bound(r.t_gen, r.budget)}" for v, r in controls.iterrows()),
            "both controls' t_gen later than the ticket's",
            all(slower.values()) if slower else None,
            scale,
        ),
        judge(
            "fig5",
            "Pruning-at-initialisation masks (random, SNIP, GraSP, SynFlow) at the same k "
            "generalise no faster than the dense base.",
            "all PaI methods <= base, some below random",
            f"t_gen base {bound(base.t_gen, base.budget)}; "
            + ", ".join(f"{v} {bound(r.t_gen, r.budget)}" for v, r in pai.iterrows()),
            "every PaI t_gen >= the base's; a PaI run that never generalises within its budget "
            "counts as no faster (a bound when its budget is below the base's t_gen)",
            all(no_faster.values()) if no_faster else None,
            scale,
        ),
    ]
    table = pd.concat(
        [
            pd.DataFrame([base.rename("base"), ticket.rename("ticket k=0.6")]),
            controls.rename(index=lambda v: f"control {v}"),
            pai.rename(index=lambda v: f"PaI {v}"),
        ]
    )
    return fig, table.reset_index(names="run"), claims


def norm_at(curves: pd.DataFrame, column: str, step: float) -> float:
    rows = curves[(curves["split"] == "val")].sort_values("step")
    if math.isnan(step):
        return math.nan
    return float(rows.loc[rows["step"] <= step, column].iloc[-1])


def fig6(tables, scale: str):
    entries = [
        ("base", "base_mlp", "dense", BASE_COLOR),
        ("ticket k=0.6", "tickets_mlp", TICKET, TICKET_COLOR),
        ("L1-matched dense", "controls_mlp", "l1", "C3"),
        ("L2-matched dense", "controls_mlp", "l2", "C4"),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    rows = []
    for label, experiment, variant, color in entries:
        curves = variant_curves(tables, experiment, variant)
        stats = by_variant(run_stats(tables, experiment))
        t_gen = stats.loc[variant, "t_gen"]
        for ax, column in zip(axes, ("l2_norm", "l1_norm"), strict=True):
            draw_curve(ax, curves, "val", column, label=label, color=color)
        rows.append(
            {
                "run": label,
                "t_gen": t_gen,
                "l2_norm_init": norm_at(curves, "l2_norm", 0),
                "l2_norm_at_t_gen": norm_at(curves, "l2_norm", t_gen),
                "l1_norm_init": norm_at(curves, "l1_norm", 0),
                "l1_norm_at_t_gen": norm_at(curves, "l1_norm", t_gen),
                "l2_norm_final": norm_at(curves, "l2_norm", curves["step"].max()),
                "l1_norm_final": norm_at(curves, "l1_norm", curves["step"].max()),
            }
        )
    for ax, name in zip(axes, ("L2", "L1"), strict=True):
        ax.set(
            xlabel="step",
            ylabel=f"{name} norm (sum over weight matrices)",
            yscale="log",
            title=f"{name} norm",
        )
        ax.legend(fontsize="small")
    table = pd.DataFrame(rows)
    base, ticket = table.iloc[0], table.iloc[1]
    ratio = ticket.l2_norm_at_t_gen / base.l2_norm_at_t_gen
    claims = [
        judge(
            "fig6",
            "At generalisation the L2 norms of the base and the ticket meet in a common "
            "'generalised zone', although they start far apart.",
            "L2 norms converge to a common zone; L1 end values differ",
            f"L2 at t_gen: base {base.l2_norm_at_t_gen:.1f}, ticket {ticket.l2_norm_at_t_gen:.1f}"
            f" (ratio {ratio:.2f}); at init {base.l2_norm_init:.1f} vs {ticket.l2_norm_init:.1f}",
            "ratio of the L2 norms at t_gen within [1/1.5, 1.5]",
            None if math.isnan(ratio) else bool(1 / 1.5 <= ratio <= 1.5),
            scale,
        )
    ]
    return fig, table, claims


def snapshots(results_dir: Path, experiment: str, run_id: str) -> dict[int, Path]:
    folder = Path(results_dir) / experiment / run_id / "weights"
    return {int(p.stem.split("_")[1]): p for p in sorted(folder.glob("step_*.pt"))}


def fig7(tables, scale: str, results_dir: Path):
    curves, summary = tables["base_mlp"]
    run_id = summary["run_id"].iloc[0]  # the first seed (the paper shows one run)
    files = snapshots(results_dir, "base_mlp", run_id)
    val = mean_curve(curves[curves["run_id"] == run_id], "val")
    masks = {}
    for step, path in files.items():
        state = torch.load(path, map_location="cpu", weights_only=True)
        masks[step] = prune.global_mask(prune.magnitude_scores(state), 0.6)
    rows = []
    ordered = sorted(masks)
    for before, after in zip(ordered, ordered[1:], strict=False):
        distances = prune.jaccard_distance(masks[after], masks[before])
        acc = [float(np.interp(t, val["step"], val["mean"])) for t in (before, after)]
        rows.append(
            {
                "step": after,
                "test_accuracy_change": acc[1] - acc[0],
                **{f"jd_{n.split('.')[0]}": d for n, d in distances.items()},
            }
        )
    table = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
    layers = [c for c in table.columns if c.startswith("jd_")]
    for column in layers:
        ax.plot(table["step"], table[column], "o-", label=column[3:])
    ax.set(xlabel="step t + dt (dt = snapshot spacing)", ylabel="Jaccard distance of masks (k=0.6)")
    twin = ax.twinx()
    twin.bar(
        table["step"],
        table["test_accuracy_change"],
        width=0.6 * np.diff(ordered).min(),
        color="grey",
        alpha=0.3,
    )
    twin.set_ylabel("test accuracy change")
    twin.grid(False)
    ax.legend(fontsize="small", loc="upper left")
    total = table[layers].mean(axis=1)
    peak_jd = int(table.loc[total.idxmax(), "step"])
    peak_acc = int(table.loc[table["test_accuracy_change"].idxmax(), "step"])
    spacing = int(np.diff(ordered).min())
    claims = [
        judge(
            "fig7",
            "The masks change most (Jaccard distance peaks) while test accuracy rises.",
            "JD peaks during the 16k-20k-epoch test-accuracy rise",
            f"mean JD peaks at the interval ending {peak_jd:,}; the largest test-accuracy rise "
            f"ends at {peak_acc:,} (snapshots every {spacing:,})",
            "the two intervals coincide or are adjacent",
            abs(peak_jd - peak_acc) <= spacing,
            scale,
        )
    ]
    return fig, table, claims


def inproj_rows(path: Path) -> np.ndarray:
    state = torch.load(path, map_location="cpu", weights_only=False)
    state = state.get("model", state)
    return (state["inproj.weight"] @ state["embed.weight"]).double().numpy()


def fig8(tables, scale: str, results_dir: Path):
    base_curves = variant_curves(tables, "base_mlp", "dense")
    ticket_curves = variant_curves(tables, "tickets_mlp", TICKET)
    fig = plt.figure(figsize=(11, 6.5), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.1])
    ax = top.subplots()
    draw_curve(
        ax, base_curves, "val", "fourier_entropy", label="base: Fourier entropy", color=BASE_COLOR
    )
    draw_curve(
        ax,
        ticket_curves,
        "val",
        "fourier_entropy",
        label="ticket: Fourier entropy",
        color=TICKET_COLOR,
    )
    ax.set(xlabel="step", ylabel="Fourier entropy of W_in W_E (nats)")
    twin = ax.twinx()
    draw_curve(twin, base_curves, "val", color=BASE_COLOR, linestyle=":")
    draw_curve(twin, ticket_curves, "val", color=TICKET_COLOR, linestyle=":")
    twin.set(ylabel="test accuracy (dotted)", ylim=(-0.02, 1.02))
    twin.grid(False)
    ax.legend(fontsize="small", loc="center right")
    summary = tables["tickets_mlp"][1]
    run_id = summary.loc[summary["variant"] == TICKET, "run_id"].iloc[0]
    files = snapshots(results_dir, "tickets_mlp", run_id)
    files[int(summary.loc[summary["variant"] == TICKET, "steps_done"].iloc[0])] = (
        Path(results_dir) / "tickets_mlp" / run_id / "final.pt"
    )
    shown = sorted(files)[:3] if len(files) > 3 else sorted(files)
    axes = bottom.subplots(1, len(shown))
    for ax_w, step in zip(np.atleast_1d(axes), shown, strict=True):
        rows = inproj_rows(files[step])
        ax_w.imshow(rows[:16], aspect="auto", cmap="RdBu_r", interpolation="nearest")
        ax_w.grid(False)
        ax_w.set(
            title=f"ticket W_in W_E, step {step:,} (16 neurons)",
            xlabel="input token",
            ylabel="neuron",
        )
    early = min(2000, int(ticket_curves["step"].max()))
    at = {}
    for name, curves in (("base", base_curves), ("ticket", ticket_curves)):
        part = mean_curve(curves, "val", "fourier_entropy")
        at[name] = float(np.interp(early, part["step"], part["mean"]))
    table = pd.DataFrame(
        [
            {
                "step": early,
                "base_fourier_entropy": at["base"],
                "ticket_fourier_entropy": at["ticket"],
                **{
                    f"ticket_rows_entropy_step_{s}": fourier_entropy_of(
                        torch.tensor(inproj_rows(files[s]))
                    )
                    for s in shown
                },
            }
        ]
    )
    claims = [
        judge(
            "fig8",
            "The ticket's W_in W_E is periodic (low Fourier entropy) early in training, long "
            "before the base's.",
            "ticket periodic already at 2k epochs",
            f"Fourier entropy at step {early:,}: base {at['base']:.3f}, ticket {at['ticket']:.3f}",
            "ticket's entropy < base's at that step",
            at["ticket"] < at["base"],
            scale,
        )
    ]
    return fig, table, claims


def graph_table(tables, results_dir: Path, rate: float = 0.6) -> pd.DataFrame:
    """Per snapshot of the base run and per layer: the spectral measures of its magnitude mask
    at `rate` (repro.measures.graph_spectra), with the base's test accuracy at that step."""
    curves, summary = tables["base_mlp"]
    run_id = summary["run_id"].iloc[0]
    val = mean_curve(curves[curves["run_id"] == run_id], "val")
    rows = []
    for step, path in snapshots(results_dir, "base_mlp", run_id).items():
        state = torch.load(path, map_location="cpu", weights_only=True)
        mask = prune.global_mask(prune.magnitude_scores(state), rate)
        for name in mask:
            weights, kept = state[name].double().numpy(), mask[name].double().numpy()
            rows.append(
                {
                    "step": step,
                    "layer": name.split(".")[0],
                    "weighted_spectral_gap": weighted_spectral_gap(weights, kept),
                    "ramanujan_gap": ramanujan_gap(kept),
                    "test_accuracy": float(np.interp(step, val["step"], val["mean"])),
                }
            )
    return pd.DataFrame(rows)


def fig9(tables, scale: str, results_dir: Path):
    table = graph_table(tables, results_dir)
    mean = table.groupby("step")[["weighted_spectral_gap", "ramanujan_gap", "test_accuracy"]]
    mean = mean.mean().reset_index()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    for ax, column in zip(axes, ("weighted_spectral_gap", "ramanujan_gap"), strict=True):
        ax.plot(mean["step"], mean[column], "o-", color=BASE_COLOR)
        ax.set(
            xlabel="step of the base run",
            ylabel=column.replace("_", " "),
            title=f"{column.replace('_', ' ')} (mean over layers, k = 0.6 masks)",
        )
        twin = ax.twinx()
        twin.plot(mean["step"], mean["test_accuracy"], ":", color="grey")
        twin.set(ylabel="test accuracy (dotted)", ylim=(-0.02, 1.02))
        twin.grid(False)
    gaps = mean.set_index("step")["weighted_spectral_gap"]
    peak, final = int(gaps.idxmax()), float(gaps.iloc[-1])
    base = by_variant(run_stats(tables, "base_mlp")).iloc[0]
    claims = [
        judge(
            "fig9",
            "The weighted spectral gap of the masked network peaks during memorisation and "
            "narrows as the network generalises.",
            "0.612 -> 0.810 -> 0.479 -> 0.358 (Table 1); spike, then narrowing",
            f"peak {gaps.max():.3f} at step {peak:,}, final {final:.3f}; base t_gen "
            f"{bound(base.t_gen, base.budget)}",
            "the peak comes before the base's t_gen (or the base never generalises) and the "
            "final gap is below the peak",
            bool((math.isnan(base.t_gen) or peak < base.t_gen) and final < gaps.max()),
            scale,
        )
    ]
    return fig, mean, claims


def fig20(tables, scale: str, results_dir: Path):
    table = graph_table(tables, results_dir)
    layers = list(dict.fromkeys(table["layer"]))
    fig, axes = plt.subplots(
        2, len(layers), figsize=(3.2 * len(layers), 5.5), layout="constrained", squeeze=False
    )
    for column, layer in enumerate(layers):
        part = table[table["layer"] == layer]
        for row, measure in enumerate(("weighted_spectral_gap", "ramanujan_gap")):
            axes[row, column].plot(part["step"], part[measure], "o-", color=f"C{column}")
            axes[row, column].set(
                title=f"{layer}",
                xlabel="step",
                ylabel=measure.replace("_", " ") if column == 0 else "",
            )
    return fig, table, []


def first_at_least(curves: pd.DataFrame, split: str, level: float) -> float:
    rows = curves[(curves["split"] == split) & (curves["accuracy"] >= level) & (curves["step"] > 0)]
    return float(rows["step"].min()) if len(rows) else math.nan


def fig10(tables, scale: str):
    settings = (
        ("(a+b) mod 67, MLP", "base_mlp", "tickets_mlp"),
        ("(a+b) mod 67, Transformer", "base_transformer", "tickets_transformer"),
        ("MNIST, MLP (MSE)", "base_mnist", "tickets_mnist"),
    )
    fig, axes = plt.subplots(1, len(settings), figsize=(15, 3.8), layout="constrained")
    rows, claims = [], []
    for ax, (name, base_exp, ticket_exp) in zip(axes, settings, strict=True):
        base = variant_curves(tables, base_exp, "dense")
        ticket = variant_curves(tables, ticket_exp, TICKET)
        accuracy_panel(ax, [("base", base, BASE_COLOR), ("ticket k=0.6", ticket, TICKET_COLOR)])
        ax.set(title=name)
        # MNIST's test accuracy stays below 95%: time to 95% of the base's best test accuracy
        level = 0.95 * float(base.loc[base["split"] == "val", "accuracy"].max())
        t_base, t_ticket = first_at_least(base, "val", level), first_at_least(ticket, "val", level)
        budget = float(tables[base_exp][1]["train.steps"].max())
        rows.append({"setting": name, "level": level, "t_base": t_base, "t_ticket": t_ticket})
        claims.append(
            judge(
                "fig10",
                f"{name}: the grokked ticket generalises faster than the dense base.",
                "the ticket is faster everywhere (Fig 10)",
                f"first step with test acc >= {level:.3f} (95% of the base's best): base "
                f"{bound(t_base, budget)}, ticket "
                f"{bound(t_ticket, float(tables[ticket_exp][1]['train.steps'].max()))}",
                "ticket reaches the level at an earlier step than the base",
                later(t_base, t_ticket, budget),
                scale,
            )
        )
    return fig, pd.DataFrame(rows), claims


def fig11(tables, scale: str):
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    rows = []
    for ax, name, base_exp, ticket_exp in (
        (axes[0], "MLP", "base_mlp", "tickets_mlp"),
        (axes[1], "Transformer", "base_transformer", "tickets_transformer"),
    ):
        for label, curves, color in (
            ("dense", variant_curves(tables, base_exp, "dense"), BASE_COLOR),
            ("ticket k=0.6", variant_curves(tables, ticket_exp, TICKET), TICKET_COLOR),
        ):
            for split, style in (("train", "--"), ("val", "-")):
                draw_curve(
                    ax,
                    curves[curves["step"] > 0],
                    split,
                    "loss",
                    label=f"{label} {'test' if split == 'val' else 'train'}",
                    color=color,
                    linestyle=style,
                )
                last = curves[curves["split"] == split].sort_values("step").iloc[-1]
                rows.append(
                    {
                        "model": name,
                        "run": label,
                        "split": split,
                        "final_step": last["step"],
                        "final_loss": last["loss"],
                    }
                )
        ax.set(xlabel="step", ylabel="loss", yscale="log", title=f"{name}: train and test loss")
        ax.legend(fontsize="small")
    return fig, pd.DataFrame(rows), []


def fig16(tables, scale: str):
    base = by_variant(run_stats(tables, "base_transformer")).iloc[0]
    runs = by_variant(run_stats(tables, "tickets_transformer"))
    fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
    entries = [("base", variant_curves(tables, "base_transformer", "dense"), BASE_COLOR)]
    entries += [
        (
            "ticket k=0.6" if v == TICKET else f"dense, {v.upper()}-matched init",
            variant_curves(tables, "tickets_transformer", v),
            TICKET_COLOR if v == TICKET else f"C{3 + i}",
        )
        for i, v in enumerate(runs.index)
    ]
    accuracy_panel(ax, entries, splits=("val",))
    ax.set(title="Transformer: base, ticket and norm-matched controls (test)")
    ticket = runs.loc[TICKET]
    controls = runs.drop(index=TICKET)
    claims = [
        judge(
            "fig16",
            "Transformer: dense models at the ticket's L1 or L2 norm generalise more slowly "
            "than the ticket.",
            "ticket faster than both controls (Figs 13, 16)",
            f"t_gen ticket {bound(ticket.t_gen, ticket.budget)}; "
            + ", ".join(f"{v} {bound(r.t_gen, r.budget)}" for v, r in controls.iterrows()),
            "both controls' t_gen later than the ticket's",
            all(later(r.t_gen, ticket.t_gen, r.budget) for _, r in controls.iterrows()),
            scale,
        )
    ]
    table = pd.concat([pd.DataFrame([base.rename("base")]), runs])
    return fig, table.reset_index(names="run"), claims


def fig17(tables, scale: str):
    runs = by_variant(run_stats(tables, "nowd_mlp"))
    base = by_variant(run_stats(tables, "base_mlp")).iloc[0]
    swept = runs.drop(index="dense", errors="ignore")
    swept = swept.assign(pruning_rate=[RATE_OF[v] for v in swept.index]).sort_values("pruning_rate")
    fig, (ax_k, ax_c) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    ax_k.plot(swept["pruning_rate"], swept["max_test_accuracy"], "o-", label="max test acc")
    ax_k.plot(swept["pruning_rate"], swept["final_test_accuracy"], "s--", label="final test acc")
    if "dense" in runs.index:
        ax_k.axhline(
            runs.loc["dense", "max_test_accuracy"],
            color="grey",
            linestyle=":",
            label="dense, no wd (max)",
        )
    ax_k.set(
        xlabel="pruning rate k",
        ylabel="test accuracy",
        ylim=(-0.02, 1.02),
        title="(a) grokked tickets trained without weight decay",
    )
    ax_k.legend(fontsize="small")
    entries = [("base (wd 1)", variant_curves(tables, "base_mlp", "dense"), BASE_COLOR)]
    if "k81" in runs.index:
        entries.append(
            ("ticket k=0.81, no wd", variant_curves(tables, "nowd_mlp", "k81"), TICKET_COLOR)
        )
    if "dense" in runs.index:
        entries.append(("dense, no wd", variant_curves(tables, "nowd_mlp", "dense"), "grey"))
    accuracy_panel(ax_c, entries)
    ax_c.set(title="(b) k = 0.81 without weight decay")
    claims = []
    if "k81" in runs.index:
        k81 = runs.loc["k81"]
        claims.append(
            judge(
                "fig17",
                "The grokked ticket at the critical rate k = 0.81 generalises without weight "
                "decay (MLP).",
                "k = 0.81 generalises without wd (plateau possibly below the base)",
                f"k=0.81 no wd: max test acc {k81.max_test_accuracy:.3f}, t_gen "
                f"{bound(k81.t_gen, k81.budget)}; base (wd 1) t_gen "
                f"{bound(base.t_gen, base.budget)}",
                f"max test accuracy > {THRESHOLD}",
                bool(k81.max_test_accuracy > THRESHOLD),
                scale,
            )
        )
    table = pd.concat([pd.DataFrame([base.rename("base (wd 1)")]), runs])
    return fig, table.reset_index(names="run"), claims


def mask_of(tables, experiment: str, variant: str) -> dict[str, torch.Tensor]:
    """The mask file the variant's (first) run was trained with (train.mask in its config)."""
    summary = tables[experiment][1]
    path = summary.loc[summary["variant"] == variant, "train.mask"].iloc[0]
    return torch.load(path, map_location="cpu", weights_only=True)


def mask_periodicity(mask: dict[str, torch.Tensor]) -> float:
    """Fourier entropy over the p inputs of the W_E mask's rows (lower = more periodic)."""
    return fourier_entropy_of(mask["embed.weight"].double())


LAYERS = ("embed.weight", "inproj.weight", "outproj.weight", "unembed.weight")


def show_matrices(axes_row, matrices, titles, cmap) -> None:
    for ax, matrix, title in zip(axes_row, matrices, titles, strict=True):
        shown = matrix if matrix.shape[0] <= matrix.shape[1] else matrix.T
        ax.imshow(
            shown[:, :200] if shown.shape[1] > 200 else shown,
            aspect="auto",
            cmap=cmap,
            interpolation="nearest",
        )
        ax.set_title(title, fontsize="small")
        ax.grid(False)
        ax.set_xticks([])
        ax.set_yticks([])


def fig18(tables, scale: str, results_dir: Path):
    run_id = tables["base_mlp"][1]["run_id"].iloc[0]
    path = Path(results_dir) / "base_mlp" / run_id / "final.pt"
    state = torch.load(path, map_location="cpu", weights_only=False)["model"]
    mask = mask_of(tables, "tickets_mlp", TICKET)
    fig, axes = plt.subplots(2, 4, figsize=(13, 5.5), layout="constrained")
    show_matrices(
        axes[0],
        [state[n].numpy() for n in LAYERS],
        [f"base final {n.split('.')[0]}" for n in LAYERS],
        "RdBu_r",
    )
    show_matrices(
        axes[1],
        [mask[n].numpy() for n in LAYERS],
        [f"ticket mask k=0.6 {n.split('.')[0]}" for n in LAYERS],
        "Greys",
    )
    entropy = mask_periodicity(mask)
    flat = math.log(mask["embed.weight"].shape[1] // 2 - 1)  # entropy of a flat spectrum
    table = pd.DataFrame(
        [
            {
                "mask": "ticket k=0.6",
                "kept_fraction": prune.kept_fraction(mask),
                "w_e_mask_fourier_entropy": entropy,
                "flat_spectrum_entropy": flat,
            }
        ]
    )
    claims = [
        judge(
            "fig18",
            "The grokked ticket's masks are periodic in the input token.",
            "periodic masks (Fig 18)",
            f"Fourier entropy of the W_E mask rows {entropy:.3f} nats (flat spectrum {flat:.3f})",
            "entropy < 0.9 x the flat spectrum's",
            entropy < 0.9 * flat,
            scale,
        )
    ]
    return fig, table, claims


def fig19(tables, scale: str):
    methods = list(dict.fromkeys(tables["pai_mlp"][1]["variant"]))
    fig, axes = plt.subplots(
        len(methods), 4, figsize=(13, 2.6 * len(methods)), layout="constrained", squeeze=False
    )
    rows = []
    for row, method in zip(axes, methods, strict=True):
        mask = mask_of(tables, "pai_mlp", method)
        show_matrices(
            row,
            [mask[n].numpy() for n in LAYERS],
            [f"{method} {n.split('.')[0]}" for n in LAYERS],
            "Greys",
        )
        rows.append(
            {
                "mask": method,
                "kept_fraction": prune.kept_fraction(mask),
                "w_e_mask_fourier_entropy": mask_periodicity(mask),
            }
        )
    ticket = mask_of(tables, "tickets_mlp", TICKET)
    rows.append(
        {
            "mask": "ticket k=0.6",
            "kept_fraction": prune.kept_fraction(ticket),
            "w_e_mask_fourier_entropy": mask_periodicity(ticket),
        }
    )
    table = pd.DataFrame(rows)
    entropy = dict(zip(table["mask"], table["w_e_mask_fourier_entropy"], strict=True))
    pai = {m: entropy[m] for m in methods}
    claims = [
        judge(
            "fig19",
            "Masks found by pruning at initialisation show no periodicity, unlike the ticket's.",
            "no periodic structure (Fig 19)",
            ", ".join(f"{m} {e:.3f}" for m, e in entropy.items())
            + " nats (Fourier entropy of the W_E mask rows)",
            "every PaI mask's entropy > the ticket's",
            all(e > entropy["ticket k=0.6"] for e in pai.values()),
            scale,
        )
    ]
    return fig, table, claims


def evaluated_columns(curves: pd.DataFrame, budget: float) -> list[int]:
    """The evaluated steps nearest 0.3, 0.5, 0.7 and 1.0 of the budget: 600, 1,000, 1,400 and
    2,000 epochs of the paper's Table 1 at a 2,000-step budget."""
    evaluated = np.array(sorted(set(curves["step"])))
    return [int(evaluated[np.abs(evaluated - f * budget).argmin()]) for f in (0.3, 0.5, 0.7, 1.0)]


def supermask_measures(path: Path, rate: float) -> dict[str, float]:
    """Network-averaged spectral measures of an edge-popup snapshot: each layer's mask keeps the
    top (1 - rate) of its |scores|, as the forward pass does."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    gaps, ramanujan = [], []
    for name in LAYERS:
        scores = state[name.replace("weight", "scores")].abs()
        mask = prune.global_mask({name: scores}, rate)[name].double().numpy()
        gaps.append(weighted_spectral_gap(state[name].double().numpy(), mask))
        ramanujan.append(ramanujan_gap(mask))
    return {
        "weighted_spectral_gap": float(np.mean(gaps)),
        "ramanujan_gap": float(np.mean(ramanujan)),
    }


def table1(tables, scale: str, results_dir: Path):
    curves, summary = tables["edge_popup"]
    budget = float(summary["train.steps"].max())
    columns = evaluated_columns(curves, budget)
    val = curves[curves["split"] == "val"]
    rows, means = [], {}
    for variant in dict.fromkeys(summary["variant"]):
        part = val[val["variant"] == variant]
        row = {"arm": {"wd": "WD", "ep_nowd": "EP w/o WD", "ep_wd": "EP w/ WD"}.get(variant)}
        for step in columns:
            accuracy = part.loc[part["step"] == step, "accuracy"]
            means[(variant, step)] = float(accuracy.mean())
            std = float(accuracy.std()) if len(accuracy) > 1 else 0.0
            row[f"test acc @ {step}"] = f"{accuracy.mean():.2f} +- {std:.2f}"
        rows.append(row)
    runs = summary[summary["variant"] == "ep_nowd"]
    if len(runs):
        rate = float(runs["model.edge_popup_rate"].iloc[0])
        files = snapshots(results_dir, "edge_popup", runs["run_id"].iloc[0])
        graph = {step: supermask_measures(path, rate) for step, path in files.items()}
        for measure in ("weighted_spectral_gap", "ramanujan_gap"):
            row = {"arm": f"EP w/o WD: {measure.replace('_', ' ')}"}
            for step in columns:
                row[f"test acc @ {step}"] = (
                    f"{graph[step][measure]:.3f}" if step in graph else "not saved"
                )
            rows.append(row)
    table = pd.DataFrame(rows)
    fig = table_figure(table, "Edge-popup from the memorised solution (Table 1)")
    start = float(val.loc[(val["variant"] == "wd") & (val["step"] == 0), "accuracy"].mean())
    first, last = columns[0], columns[-1]
    ep_final = means.get(("ep_nowd", last), math.nan)
    claims = [
        judge(
            "table1",
            "Training only the edge-popup scores (weights frozen at the memorised solution, no "
            "weight decay) raises test accuracy: structure alone generalises.",
            "EP w/o WD 0.68 -> 0.92 at 600 -> 2,000 epochs",
            f"theta_mem test acc {start:.2f}; EP w/o WD at step {last:,}: {ep_final:.2f}",
            "EP w/o WD final test accuracy >= 0.8 and >= theta_mem's + 0.3",
            bool(ep_final >= 0.8 and ep_final >= start + 0.3),
            scale,
        ),
        judge(
            "table1",
            "Edge-popup with weight decay generalises earlier than continued normal training.",
            "EP w/ WD 0.82 vs WD 0.53 at 600 epochs",
            f"at step {first:,}: EP w/ WD {means.get(('ep_wd', first), math.nan):.2f}, WD "
            f"{means.get(('wd', first), math.nan):.2f}",
            "EP w/ WD test accuracy > WD's at the first column",
            bool(means.get(("ep_wd", first), math.nan) > means.get(("wd", first), math.nan)),
            scale,
        ),
    ]
    return fig, table, claims


FIGURES = {
    "fig1": fig1,
    "fig2": fig2,
    "fig3": fig3,
    "fig4": fig4,
    "fig5": fig5,
    "fig6": fig6,
    "fig7": fig7,
    "fig8": fig8,
    "fig9": fig9,
    "fig10": fig10,
    "fig11": fig11,
    "fig16": fig16,
    "fig17": fig17,
    "fig18": fig18,
    "fig19": fig19,
    "fig20": fig20,
    "table1": table1,
}
