"""Grokking Tickets: what the ticket is not (Figs 5, 6 and 16): dense models started at the
ticket's L1 or L2 norm, masks pruned at initialisation (random, SNIP, GraSP, SynFlow), and the
weight norms of each against steps."""

from __future__ import annotations

import math

import pandas as pd

from repro.claims import judge
from repro.figures import plt
from repro.papers.tickets_runs import (
    BASE_COLOR,
    TICKET,
    TICKET_COLOR,
    accuracy_panel,
    bound,
    draw_curve,
    later,
    t_gens,
    variant_curves,
    variant_stats,
)


def fig5(tables, scale: str):
    base = variant_stats(tables, "base_mlp").iloc[0]
    ticket = variant_stats(tables, "tickets_mlp").loc[TICKET]
    controls = variant_stats(tables, "controls_mlp")
    pai = variant_stats(tables, "pai_mlp")
    fig, (ax_n, ax_p) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    both = [
        ("base", variant_curves(tables, "base_mlp", "dense"), BASE_COLOR),
        ("ticket k=0.6", variant_curves(tables, "tickets_mlp", TICKET), TICKET_COLOR),
    ]
    entries = [
        (f"dense, {v.upper()}-matched init", variant_curves(tables, "controls_mlp", v), f"C{3 + i}")
        for i, v in enumerate(controls.index)
    ]
    accuracy_panel(ax_n, both + entries, splits=("val",))
    ax_n.set(title="(a) norm-matched dense controls (test)")
    entries = [
        (v, variant_curves(tables, "pai_mlp", v), f"C{3 + i}") for i, v in enumerate(pai.index)
    ]
    accuracy_panel(ax_p, both + entries, splits=("val",))
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
            f"t_gen ticket {bound(ticket.t_gen, ticket.budget)}; " + t_gens(controls),
            "both controls' t_gen later than the ticket's",
            all(slower.values()) if slower else None,
            scale,
        ),
        judge(
            "fig5",
            "Pruning-at-initialisation masks (random, SNIP, GraSP, SynFlow) at the same k "
            "generalise no faster than the dense base.",
            "all PaI methods <= base, some below random",
            f"t_gen base {bound(base.t_gen, base.budget)}; " + t_gens(pai),
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
        stats = variant_stats(tables, experiment)
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


def fig16(tables, scale: str):
    base = variant_stats(tables, "base_transformer").iloc[0]
    runs = variant_stats(tables, "tickets_transformer")
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
            f"t_gen ticket {bound(ticket.t_gen, ticket.budget)}; " + t_gens(controls),
            "both controls' t_gen later than the ticket's",
            all(later(r.t_gen, ticket.t_gen, r.budget) for _, r in controls.iterrows())
            if len(controls)
            else None,  # no control run: nothing shown (as fig5)
            scale,
        )
    ]
    table = pd.concat([pd.DataFrame([base.rename("base")]), runs])
    return fig, table.reset_index(names="run"), claims
