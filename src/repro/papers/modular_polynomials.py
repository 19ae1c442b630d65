"""Furuta et al., TMLR 2024 (arXiv 2402.16726): grokked transformers on modular polynomials.

Figures and tables from the logged runs: accuracy and FFD/FCR curves come from metrics.parquet
(the `ffd_fcr`, `fourier_norms` and `task_accuracy` measures); Fourier spectra, logit spectra and
the ablations of App. E come from the runs' final weights (modular_polynomials_analysis).
Numbers quoted from the paper are in shared/papers/grokking.md section 4. "Groks" here means
the validation (test) accuracy reaches 0.95 within the budget [I]; runs stop at 0.99.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from repro.claims import judge, steps
from repro.data.polynomials import pretty
from repro.figures import panels, plt
from repro.measures import fourier
from repro.papers import modular_polynomials_analysis as analysis

TITLE = (
    "Towards Empirical Interpretation of Internal Circuits and Properties in Grokked "
    "Transformers on Modular Polynomials"
)
GROKS = 0.95  # validation accuracy that counts as grokked
OP, R = "data.operation", "data.train_fraction"
PG_LABELS = {
    "add_e": "PG-E(add)",
    "sub_e": "PG-E(sub)",
    "mul_e": "PG-E(mul)",
    "add_t": "PG-T(add)",
    "sub_t": "PG-T(sub)",
    "mul_t": "PG-T(mul)",
}
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


# --- helpers -------------------------------------------------------------------------------


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


def accuracy_panels(curves, summary, operations, title):
    """One panel per operation: validation accuracy for each r (train dashed)."""
    present = [op for op in operations if op in set(summary[OP])]
    fig, axes = panels(max(len(present), 1), columns=4)
    for ax, operation in zip(axes, present, strict=False):
        rows = summary[summary[OP] == operation].sort_values([R, "seed"])
        for index, (_, row) in enumerate(rows.iterrows()):
            run = curves[curves["run_id"] == row["run_id"]]
            for split, style in (("val", "-"), ("train", "--")):
                part = run[(run["split"] == split) & (run["step"] > 0)].sort_values("step")
                ax.plot(
                    part["step"],
                    part["accuracy"],
                    style,
                    color=f"C{index}",
                    alpha=1 if split == "val" else 0.5,
                    label=f"r={row[R]:g} seed {row['seed']}" if split == "val" else None,
                )
        ax.set(xscale="log", ylim=(-0.02, 1.02), xlabel="step", title=pretty(operation))
        ax.legend(fontsize="x-small")
    axes[0].set_ylabel("accuracy (val solid, train dashed)")
    fig.suptitle(title)
    return fig, present


def growth_claims(figure, summary, expected: dict[str, bool], statement, paper_value, scale):
    """One claim: each listed operation groks (True) or not (False) at the smallest r run."""
    smallest = min(fractions(summary)) if len(summary) else math.nan
    rows = summary[np.isclose(summary[R], smallest)] if len(summary) else summary
    verdicts, ours = [], []
    for operation, should in expected.items():
        run = rows[rows[OP] == operation]
        if not len(run):
            continue
        grokked = bool(groks(run).any())
        verdicts.append(grokked == should)
        ours.append(
            f"{pretty(operation)}: {'groks' if grokked else 'no'} "
            f"({run['max_val_accuracy'].max():.2f})"
        )
    return judge(
        figure,
        statement,
        paper_value,
        f"at r={smallest:g}: " + "; ".join(ours) if ours else "no run",
        "each listed operation groks (val >= 0.95) or not, as the paper says, at the smallest r",
        all(verdicts) if verdicts else None,
        scale,
    )


# --- Fourier spectra (Figs 3, 5, 7, 10, A.18) ----------------------------------------------


def spectrum_figure(scale, experiment, summary, operations, title):
    """Rows = operations; columns = W_E and W_L cos/sin norms per frequency, logit spectrum."""
    chosen = [(op, analysed_run(summary, op)) for op in operations]
    chosen = [(op, row) for op, row in chosen if row is not None]
    fig, axes = plt.subplots(
        max(len(chosen), 1),
        3,
        figsize=(13, 2.8 * max(len(chosen), 1)),
        squeeze=False,
        layout="constrained",
    )
    records = []
    for (operation, row), ax_row in zip(chosen, axes, strict=False):
        model, dataset, _ = analysis.load_run(scale, experiment, row["run_id"])
        spectra = analysis.spectrum_rows(model)
        ks = np.arange(1, len(spectra["we_cos"]) + 1)
        for ax, name, label in ((ax_row[0], "we", "W_E"), (ax_row[1], "wl", "W_L")):
            ax.bar(ks - 0.2, spectra[f"{name}_cos"], width=0.4, label="cos")
            ax.bar(ks + 0.2, spectra[f"{name}_sin"], width=0.4, label="sin")
            ax.set(
                xlabel="frequency k",
                ylabel="norm",
                title=f"{pretty(operation)} ({describe(row)}): {label}",
            )
            ax.legend(fontsize="x-small")
        heat = fourier.logit_spectrum(analysis.all_logits(model, dataset)).numpy()
        ax_row[2].imshow(heat, cmap="viridis")
        names = fourier.labels(heat.shape[0])
        ticks = list(range(0, len(names), max(len(names) // 6, 1)))
        ax_row[2].set_xticks(ticks, [names[t] for t in ticks], rotation=90, fontsize=6)
        ax_row[2].set_yticks(ticks, [names[t] for t in ticks], fontsize=6)
        ax_row[2].set(title="logits in the 2-D Fourier basis", xlabel="b", ylabel="a")
        measures = fourier.ffd_fcr(model)
        records.append(
            {
                "operation": operation,
                "run_id": row["run_id"],
                R: row[R],
                "max_val_accuracy": row["max_val_accuracy"],
                **measures,
            }
        )
    fig.suptitle(title)
    return fig, pd.DataFrame(records)


def measure_of(frame: pd.DataFrame, operation: str, column: str) -> float:
    if "operation" not in frame:
        return math.nan
    rows = frame[frame["operation"] == operation]
    return float(rows[column].iloc[0]) if len(rows) else math.nan


def fig3(tables, scale):
    _, summary = tables["scratch"]
    fig, data = spectrum_figure(
        scale,
        "scratch",
        summary,
        ["add", "sub", "mul"],
        "Fourier analysis of a+b, a-b, ab (from scratch)",
    )
    m = lambda op, col: measure_of(data, op, col)  # noqa: E731
    claims = [
        judge(
            "fig3",
            "Addition: a sparse embedding with balanced cos and sin (few key frequencies).",
            "FFD(W_E) low, FCR(W_E) high",
            f"FFD {m('add', 'ffd_we'):.2f}, FCR {m('add', 'fcr_we'):.2f}",
            "FFD(W_E) <= 0.3 and FCR(W_E) >= 0.7",
            None
            if math.isnan(m("add", "ffd_we"))
            else m("add", "ffd_we") <= 0.3 and m("add", "fcr_we") >= 0.7,
            scale,
        ),
        judge(
            "fig3",
            "Subtraction: an embedding as sparse as addition's, but an asymmetric, "
            "cos-biased neuron-logit map W_L.",
            "sub FFD(W_E) ~ add's; FCR(W_L) lower",
            f"FFD(W_E) sub {m('sub', 'ffd_we'):.2f} vs add {m('add', 'ffd_we'):.2f}; "
            f"FCR(W_L) sub {m('sub', 'fcr_wl'):.2f} vs add {m('add', 'fcr_wl'):.2f}",
            "FFD(W_E) sub <= 0.3 and FCR(W_L) sub < FCR(W_L) add",
            None
            if math.isnan(m("sub", "ffd_we") + m("add", "fcr_wl"))
            else m("sub", "ffd_we") <= 0.3 and m("sub", "fcr_wl") < m("add", "fcr_wl"),
            scale,
        ),
        judge(
            "fig3",
            "Multiplication: every frequency in use, with cos-biased components.",
            "FFD(W_E) ~ 1, FCR(W_E) low",
            f"FFD {m('mul', 'ffd_we'):.2f}, FCR {m('mul', 'fcr_we'):.2f}",
            "FFD(W_E) >= 0.8 and FCR(W_E) < FCR(W_E) of add",
            None
            if math.isnan(m("mul", "ffd_we") + m("add", "fcr_we"))
            else m("mul", "ffd_we") >= 0.8 and m("mul", "fcr_we") < m("add", "fcr_we"),
            scale,
        ),
    ]
    return fig, data, claims


def fig5(tables, scale):
    _, summary = tables["scratch"]
    fig, data = spectrum_figure(
        scale,
        "scratch",
        summary,
        ["a2+b2", "a2-b", "ab+a+b"],
        "Fourier analysis of a^2+b^2, a^2-b, ab+a+b",
    )
    m = lambda op: measure_of(data, op, "ffd_we")  # noqa: E731
    values = {op: m(op) for op in ("a2+b2", "a2-b", "ab+a+b")}
    known = {op: v for op, v in values.items() if not math.isnan(v)}
    holds = None
    if len(known) == 3:
        holds = values["a2+b2"] < 0.5 and values["a2-b"] < 0.5 and values["ab+a+b"] >= 0.8
    claims = [
        judge(
            "fig5",
            "Polynomials superpose the add/sub/mul patterns: sums of powers keep a "
            "sparse (add-like) embedding, ab+a+b = (a+1)(b+1)-1 a dense (mul-like) one.",
            "superposition of the add/sub/mul patterns [qualitative]",
            "; ".join(f"{pretty(op)} FFD(W_E) {v:.2f}" for op, v in known.items()) or "no run",
            "FFD(W_E) < 0.5 for a2+b2 and a2-b, >= 0.8 for ab+a+b [I]",
            holds,
            scale,
        )
    ]
    return fig, data, claims


def fig7(tables, scale):
    _, summary = tables["scratch"]
    fig, data = spectrum_figure(
        scale,
        "scratch",
        summary,
        ["a2+ab+b2", "sum2", "sum3"],
        "Fourier analysis of a^2+ab+b^2, (a+b)^2, (a+b)^3",
    )
    cross, factors = (
        measure_of(data, "a2+ab+b2", "ffd_we"),
        [measure_of(data, op, "ffd_we") for op in ("sum2", "sum3")],
    )
    factors = [v for v in factors if not math.isnan(v)]
    claims = [
        judge(
            "fig7",
            "The non-factorizable a^2+ab+b^2 has no sparse embedding, unlike the "
            "factorizable (a+b)^n.",
            "a2+ab+b2: no sparse embedding; (a+b)^n: sparse",
            f"FFD(W_E) a2+ab+b2 {cross:.2f}; (a+b)^n " + ", ".join(f"{v:.2f}" for v in factors),
            "FFD(W_E) of a2+ab+b2 > every FFD(W_E) of (a+b)^2, (a+b)^3",
            None if math.isnan(cross) or not factors else cross > max(factors),
            scale,
        )
    ]
    return fig, data, claims


# --- accuracy figures (Figs 4, 6, A.13, A.17, A.22) ----------------------------------------


def fig4(tables, scale):
    curves, summary = tables["scratch"]
    operations = ["a2+b2", "a2+b", "a2-b", "a3+2b", "a3-2b", "ab+a+b"]
    fig, _ = accuracy_panels(curves, summary, operations, "Sums of powers and ab+a+b")
    claim = growth_claims(
        "fig4",
        summary,
        {op: True for op in operations},
        "a^2+b^2, a^2+-b, a^3+-2b and ab+a+b all grok at r = 0.3.",
        "all grok at r = 0.3",
        scale,
    )
    return fig, table(summary[summary[OP].isin(operations)]), [claim]


def fig6(tables, scale):
    curves, summary = tables["scratch"]
    factorizable = ["sum2", "sum3", "sum4", "diff2", "diff3", "sum2+a+b"]
    cross = ["a2+ab+b2", "a2+ab+b2+a", "a3+ab", "a3+ab2+b"]
    fig, _ = accuracy_panels(
        curves, summary, factorizable + cross, "Quadratic, cubic and quartic expressions"
    )
    claims = [
        growth_claims(
            "fig6",
            summary,
            {op: True for op in factorizable},
            "Factorizable forms ((a+-b)^n, (a+b)^2+a+b) grok up to degree 4 at r = 0.3.",
            "grok at r = 0.3",
            scale,
        ),
        growth_claims(
            "fig6",
            summary,
            {op: False for op in cross},
            "Forms with cross terms (a^2+ab+b^2, a^3+ab, ...) fail at r = 0.3.",
            "do not grok at r = 0.3",
            scale,
        ),
    ]
    return fig, table(summary[summary[OP].isin(factorizable + cross)]), claims


def fig_a13(tables, scale):
    curves, summary = tables["random_embedding"]
    fig, present = accuracy_panels(
        curves, summary, ["add", "sub", "mul"], "Frozen random embedding"
    )
    claim = growth_claims(
        "fig_a13",
        summary,
        {op: True for op in present},
        "With a frozen random embedding, add, sub and mul still grok.",
        "still groks",
        scale,
    )
    return fig, table(summary), [claim]


def fig_a17(tables, scale):
    curves, summary = tables["primes"]
    _, base = tables["scratch"]
    fig, axes = panels(max(len(set(summary[OP])), 1), columns=4)
    verdicts, ours = [], []
    for ax, operation in zip(axes, dict.fromkeys(summary[OP]), strict=False):
        for _, row in summary[summary[OP] == operation].iterrows():
            run = val(curves, row["run_id"])
            ax.plot(run["step"].clip(lower=1), run["accuracy"], label=f"p={row['data.p']}")
            reference = base[(base[OP] == operation) & np.isclose(base[R], row[R])]
            if len(reference):
                same = bool(groks(reference).any()) == (row["max_val_accuracy"] >= GROKS)
                verdicts.append(same)
                ours.append(
                    f"{pretty(operation)} r={row[R]:g}: p={row['data.p']} "
                    f"{row['max_val_accuracy']:.2f} vs p={int(reference['data.p'].iloc[0])} "
                    f"{reference['max_val_accuracy'].max():.2f}"
                )
                ref = val(tables["scratch"][0], reference["run_id"].iloc[0])
                ax.plot(
                    ref["step"].clip(lower=1),
                    ref["accuracy"],
                    ":",
                    label=f"p={int(reference['data.p'].iloc[0])}",
                )
        ax.set(xscale="log", title=pretty(operation), xlabel="step", ylim=(-0.02, 1.02))
        ax.legend(fontsize="x-small")
    claims = [
        judge(
            "fig_a17",
            "Other moduli p show the same trends (what groks at one p groks at the others).",
            "same trends at p = 59 and 113",
            "; ".join(ours) or "no matching run",
            "grokked or not alike at every p",
            all(verdicts) if verdicts else None,
            scale,
        )
    ]
    return fig, table(summary), claims


def fig_a22(tables, scale):
    curves, summary = tables["primes_cubic"]
    fig, ax = plt.subplots(figsize=(5, 3.4), layout="constrained")
    for _, row in summary.sort_values("data.p").iterrows():
        run = val(curves, row["run_id"])
        ax.plot(
            run["step"].clip(lower=1),
            run["accuracy"],
            label=f"p={row['data.p']} seed {row['seed']}",
        )
    ax.set(xscale="log", xlabel="step", ylabel="val accuracy", title="a^3+ab, r = 0.9")
    ax.legend()
    by_p = summary.groupby("data.p")["max_val_accuracy"].max()
    holds = None
    if {59, 97, 113} <= set(by_p.index):
        holds = bool(by_p[97] >= GROKS and by_p[59] < GROKS and by_p[113] < GROKS)
    claims = [
        judge(
            "fig_a22",
            "a^3+ab at r = 0.9 groks only at p = 97 (not 59, not 113).",
            "only p = 97 groks",
            "; ".join(f"p={p}: {v:.2f}" for p, v in by_p.items()),
            "val >= 0.95 at p = 97 only",
            holds,
            scale,
        )
    ]
    return fig, table(summary), claims


# --- FFD / FCR against steps (Figs 8, A.14, A.15, A.16) ------------------------------------

FIG8_OPERATIONS = ["add", "sub", "mul", "ab+b", "a2+b2", "a3+b3", "sum2", "sum3", "a2+ab+b2"]


def progress_curves(curves, summary, operations, matrix: str, title: str):
    """Per operation: FFD and FCR of W_E or W_L and val accuracy (grey), for the run at the
    smallest r where the operation groks (else the smallest r): the paper's curves are those of
    grokking runs, and a capped budget may not grok at r = 0.3."""
    present = [op for op in operations if op in set(summary[OP])]
    fig, axes = panels(max(len(present), 1), columns=3, width=3.6)
    records = []
    for ax, operation in zip(axes, present, strict=False):
        row = analysed_run(summary, operation)
        run = val(curves, row["run_id"])
        steps_ = run["step"].clip(lower=1)
        ax.plot(steps_, run[f"ffd_{matrix}"], label="FFD")
        ax.plot(steps_, run[f"fcr_{matrix}"], label="FCR")
        ax.plot(steps_, run["accuracy"], color="grey", alpha=0.6, label="val acc")
        ax.set(
            xscale="log",
            ylim=(-0.02, 1.05),
            xlabel="step",
            title=f"{pretty(operation)}, r = {row[R]:g}",
        )
        records.append(progress_record(run, row, matrix))
    axes[0].legend(fontsize="x-small")
    fig.suptitle(title)
    return fig, pd.DataFrame(records)


def progress_record(run: pd.DataFrame, row: pd.Series, matrix: str) -> dict:
    """Initial / final FFD and FCR of one run, and the step by which each covered 90% of its
    change (its inflection, compared with the step where val accuracy reaches 0.95)."""
    record = {
        "operation": row[OP],
        R: row[R],
        "run_id": row["run_id"],
        "max_val_accuracy": row["max_val_accuracy"],
        "step_val_95": row["step_val_95"],
    }
    for name in ("ffd", "fcr"):
        values = run[f"{name}_{matrix}"].to_numpy()
        record[f"{name}_initial"], record[f"{name}_final"] = values[0], values[-1]
        record[f"{name}_settled_step"] = settled_step(run["step"].to_numpy(), values)
    return record


def settled_step(step: np.ndarray, values: np.ndarray, share: float = 0.9) -> float:
    """First step after which the curve stays within (1 - share) of its total change."""
    change = values[-1] - values[0]
    if abs(change) < 1e-9:
        return math.nan
    distance = np.abs(values - values[-1]) / abs(change)
    outside = np.nonzero(distance > 1 - share)[0]
    return (
        float(step[outside[-1] + 1])
        if len(outside) and outside[-1] + 1 < len(step)
        else float(step[0])
    )


def record_of(data: pd.DataFrame, operation: str) -> pd.Series | None:
    if "operation" not in data:
        return None
    rows = data[data["operation"] == operation]
    return rows.iloc[0] if len(rows) else None


def fig8(tables, scale):
    curves, summary = tables["scratch"]
    fig, data = progress_curves(
        curves, summary, FIG8_OPERATIONS, "we", "FFD and FCR of W_E (eta = 0.5)"
    )
    add, mul = (record_of(data, op) for op in ("add", "mul"))
    at_03 = summary[(summary[OP] == "a2+ab+b2") & np.isclose(summary[R], 0.3)]
    cross = (
        progress_record(val(curves, at_03["run_id"].iloc[0]), at_03.iloc[0], "we")
        if len(at_03)
        else None
    )
    claims = [
        judge(
            "fig8",
            "Addition: FFD of W_E falls while FCR stays high.",
            "FFD falls to ~0.1-0.3, FCR stays high (>~0.7)",
            "no run"
            if add is None
            else f"r={add[R]:g}: FFD {add.ffd_initial:.2f} -> {add.ffd_final:.2f}, "
            f"FCR {add.fcr_initial:.2f} -> {add.fcr_final:.2f}",
            "final FFD <= 0.3 and <= initial - 0.3; final FCR >= 0.7 [I: spec section 6]",
            None
            if add is None
            else bool(
                add.ffd_final <= 0.3
                and add.ffd_final <= add.ffd_initial - 0.3
                and add.fcr_final >= 0.7
            ),
            scale,
        ),
        judge(
            "fig8",
            "Multiplication: FFD of W_E stays near 1 while FCR falls.",
            "FFD = 1, FCR falls",
            "no run"
            if mul is None
            else f"r={mul[R]:g}: FFD {mul.ffd_initial:.2f} -> {mul.ffd_final:.2f}, "
            f"FCR {mul.fcr_initial:.2f} -> {mul.fcr_final:.2f}",
            "final FFD >= 0.9 and final FCR <= initial FCR - 0.2 [I]",
            None
            if mul is None
            else bool(mul.ffd_final >= 0.9 and mul.fcr_final <= mul.fcr_initial - 0.2),
            scale,
        ),
        judge(
            "fig8",
            "a^2+ab+b^2 at r = 0.3 does not grok, and its FFD stays flat.",
            "no grokking (best test acc 34% at p = 97); FFD flat",
            "no run"
            if cross is None
            else f"best val {cross.max_val_accuracy:.3f}; FFD "
            f"{cross.ffd_initial:.2f} -> {cross.ffd_final:.2f} (r={cross[R]:g})",
            "val acc < 0.95 throughout and |FFD change| <= 0.2 [I]",
            None
            if cross is None
            else bool(
                cross.max_val_accuracy < GROKS and abs(cross.ffd_final - cross.ffd_initial) <= 0.2
            ),
            scale,
        ),
    ]
    aligned, ours = [], []
    for record in data.itertuples(index=False):
        if math.isnan(record.step_val_95):
            continue
        measure = "fcr" if record.operation == "mul" else "ffd"
        settled = getattr(record, f"{measure}_settled_step")
        if math.isnan(settled):
            continue
        ratio = settled / record.step_val_95
        aligned.append(0.5 <= ratio <= 2)
        ours.append(
            f"{pretty(record.operation)}: {measure.upper()} settles at "
            f"{settled:,.0f}, val 95% at {record.step_val_95:,.0f}"
        )
    claims.append(
        judge(
            "fig8",
            "The inflection of FFD (FCR for mul) lines up with the saturation of test accuracy.",
            "inflection points line up",
            "; ".join(ours) or "no grokked run",
            "step where the measure covered 90% of its change within x0.5-2 of "
            "the step of val 95%, for every grokked run [I]",
            all(aligned) if aligned else None,
            scale,
        )
    )
    return fig, data, claims


def fig_a14(tables, scale):
    curves, summary = tables["scratch"]
    operations = ["add", "sub", "mul", "ab+b", "a2+b2", "a3+b3", "sum2", "sum3"]
    fig, data = progress_curves(curves, summary, operations, "wl", "FFD and FCR of W_L (eta = 0.5)")
    powers = [r for r in (record_of(data, op) for op in ("a2+b2", "a3+b3")) if r is not None]
    sums = [r for r in (record_of(data, op) for op in ("sum2", "sum3")) if r is not None]
    claims = [
        judge(
            "fig_a14",
            "Sums of powers (a^n+b^n): FFD of W_L falls while FCR stays high.",
            "FFD falls, FCR high",
            "; ".join(
                f"{pretty(r.operation)}: FFD {r.ffd_initial:.2f}->{r.ffd_final:.2f}, "
                f"FCR {r.fcr_final:.2f}"
                for r in powers
            )
            or "no run",
            "final FFD <= initial - 0.2 and final FCR >= 0.7 [I]",
            all(r.ffd_final <= r.ffd_initial - 0.2 and r.fcr_final >= 0.7 for r in powers)
            if powers
            else None,
            scale,
        ),
        judge(
            "fig_a14",
            "Factorizable (a+b)^n: FFD and FCR of W_L both stay high.",
            "both stay high",
            "; ".join(
                f"{pretty(r.operation)}: FFD {r.ffd_final:.2f}, FCR {r.fcr_final:.2f}" for r in sums
            )
            or "no run",
            "final FFD >= 0.6 and final FCR >= 0.6 [I]",
            all(r.ffd_final >= 0.6 and r.fcr_final >= 0.6 for r in sums) if sums else None,
            scale,
        ),
    ]
    return fig, data, claims


def fig_a15(tables, scale):
    curves, summary = tables["scratch"]
    operations = [op for op in ("add", "sub", "mul", "a2+b2", "sum2") if op in set(summary[OP])]
    rs = fractions(summary)
    fig, axes = plt.subplots(
        len(operations) or 1,
        2,
        figsize=(9, 2.6 * max(len(operations), 1)),
        squeeze=False,
        layout="constrained",
    )
    records = []
    for ax_row, operation in zip(axes, operations, strict=False):
        for index, fraction in enumerate(rs):
            rows = summary[(summary[OP] == operation) & np.isclose(summary[R], fraction)]
            if not len(rows):
                continue
            row = rows.sort_values("seed").iloc[0]
            run = val(curves, row["run_id"])
            for ax, name in zip(ax_row, ("ffd", "fcr"), strict=True):
                ax.plot(
                    run["step"].clip(lower=1),
                    run[f"{name}_we"],
                    color=f"C{index}",
                    label=f"r={fraction:g}",
                )
                ax.set(
                    xscale="log",
                    ylim=(-0.02, 1.05),
                    xlabel="step",
                    title=f"{pretty(operation)}: {name.upper()}(W_E)",
                )
            records.append(progress_record(run, row, "we"))
        ax_row[0].legend(fontsize="x-small")
    data = pd.DataFrame(records)
    agree, ours = [], []
    for operation in operations:
        part = data[(data["operation"] == operation) & data["step_val_95"].notna()]
        measure = "fcr" if operation == "mul" else "ffd"
        part = part[part[f"{measure}_settled_step"].notna()]
        if len(part) >= 2:
            order_grok = list(part.sort_values("step_val_95")[R])
            order_measure = list(part.sort_values(f"{measure}_settled_step")[R])
            agree.append(order_grok == order_measure)
            ours.append(
                f"{pretty(operation)}: grokking order r={order_grok}, "
                f"{measure.upper()} order r={order_measure}"
            )
    claims = [
        judge(
            "fig_a15",
            "The inflection point of FFD/FCR tracks the grokking time across train fractions.",
            "inflection tracks grokking time",
            "; ".join(ours) or "fewer than two grokked fractions per operation",
            "for each operation grokked at several r: the r order of the measure's "
            "settling step equals the r order of the val-95% step",
            all(agree) if agree else None,
            scale,
        )
    ]
    return fig, data, claims


def ffd_from_norms(run: pd.DataFrame, eta: float) -> np.ndarray:
    """FFD of W_E at another eta, from the logged per-frequency norms (fourier_norms)."""
    cos = run.filter(regex=r"^we_cos_\d+$").to_numpy(dtype=float)
    sin = run.filter(regex=r"^we_sin_\d+$").to_numpy(dtype=float)
    above = (cos / cos.max(axis=1, keepdims=True) > eta).sum(1) + (
        sin / sin.max(axis=1, keepdims=True) > eta
    ).sum(1)
    return above / (2 * cos.shape[1])


ETAS = (0.3, 0.5, 0.7)


def fig_a16(tables, scale):
    curves, summary = tables["scratch"]
    operations = [op for op in ("add", "sub", "a2+b2") if op in set(summary[OP])]
    fraction = min(fractions(summary))
    fig, axes = panels(max(len(operations), 1), columns=3, width=3.6)
    records = []
    for ax, operation in zip(axes, operations, strict=False):
        row = summary[(summary[OP] == operation) & np.isclose(summary[R], fraction)]
        if not len(row):
            continue
        run = val(curves, row.sort_values("seed")["run_id"].iloc[0])
        for eta in ETAS:
            ffd = ffd_from_norms(run, eta)
            ax.plot(run["step"].clip(lower=1), ffd, label=f"eta={eta:g}")
            settled = settled_step(run["step"].to_numpy(), ffd)
            records.append(
                {
                    "operation": operation,
                    "eta": eta,
                    "ffd_initial": ffd[0],
                    "ffd_final": ffd[-1],
                    "settled_step": settled,
                }
            )
        ax.set(xscale="log", ylim=(-0.02, 1.05), xlabel="step", title=f"{pretty(operation)}: FFD")
        ax.legend(fontsize="x-small")
    data = pd.DataFrame(records)
    ordered, ours = [], []
    for operation, part in data.groupby("operation", sort=False) if len(data) else []:
        settled = part.set_index("eta")["settled_step"]
        if settled.notna().all():
            ordered.append(bool(settled[0.3] >= settled[0.5] >= settled[0.7]))
            ours.append(
                f"{pretty(operation)}: "
                + ", ".join(
                    f"eta {eta:g} settles at {value:,.0f}" for eta, value in settled.items()
                )
            )
    claims = [
        judge(
            "fig_a16",
            "A lower eta delays the drop of FFD; a higher eta converges faster.",
            "lower eta delays the drop (App. H)",
            "; ".join(ours) or "no run",
            "settling step at eta 0.3 >= at 0.5 >= at 0.7, for every operation shown",
            all(ordered) if ordered else None,
            scale,
        )
    ]
    return fig, data, claims


# --- pre-grokked models (Figs 2, 9, A.24, Table 1) -----------------------------------------

PG_ROWS, PG_KINDS, PG_TARGETS = ("add", "sub", "mul"), ("e", "t"), ("add", "sub", "mul")


def seed_band(curves: pd.DataFrame, run_ids) -> pd.DataFrame:
    """Mean and std over seeds of val accuracy per step; a run stopped early keeps its last
    value (it stopped because it reached 0.99)."""
    parts = curves[curves["run_id"].isin(list(run_ids)) & (curves["split"] == "val")]
    wide = parts.pivot_table(index="step", columns="run_id", values="accuracy").sort_index()
    wide = wide.ffill()
    return pd.DataFrame({"mean": wide.mean(axis=1), "std": wide.std(axis=1).fillna(0.0)})


def pg_grid(curves, summary, band: bool, title: str):
    fig, axes = plt.subplots(
        3, 6, figsize=(18, 8), sharey=True, squeeze=False, layout="constrained"
    )
    rs = fractions(summary)
    for i, source in enumerate(PG_ROWS):
        for j, (kind, target) in enumerate((k, t) for k in PG_KINDS for t in PG_TARGETS):
            ax = axes[i, j]
            variant = f"{source}_{kind}"
            ax.set_title(f"{PG_LABELS[variant]} -> {target}", fontsize="small")
            ax.set(xscale="log", ylim=(-0.02, 1.02))
            for index, fraction in enumerate(rs if not band else rs[:1]):
                rows = pick(
                    summary, variant=variant, data__operation=target, data__train_fraction=fraction
                )
                if not len(rows):
                    continue
                stats = seed_band(curves, rows["run_id"])
                steps_ = stats.index.to_numpy().clip(min=1)
                ax.plot(steps_, stats["mean"], color=f"C{index}", label=f"r={fraction:g}")
                if band:
                    ax.fill_between(
                        steps_,
                        stats["mean"] - stats["std"],
                        stats["mean"] + stats["std"],
                        color=f"C{index}",
                        alpha=0.25,
                    )
            if ax.lines:
                ax.legend(fontsize="x-small")
    fig.supxlabel("step")
    fig.supylabel("test accuracy")
    fig.suptitle(title)
    return fig


def best(summary: pd.DataFrame, **where) -> tuple[float, float]:
    """(max val accuracy, step of val 95% with never = inf) of the matching runs, seed mean."""
    rows = pick(summary, **where)
    if not len(rows):
        return math.nan, math.nan
    return float(rows["max_val_accuracy"].mean()), float(
        rows["step_val_95"].fillna(math.inf).mean()
    )


def fig2(tables, scale):
    curves, summary = tables["pg"]
    _, scratch = tables["scratch"]
    fig = pg_grid(curves, summary, band=False, title="Pre-grokked models: test accuracy")
    r0 = min(fractions(summary)) if len(summary) else math.nan

    def at(variant, target):
        return best(summary, variant=variant, data__operation=target, data__train_fraction=r0)

    def alone(target):
        return best(scratch, data__operation=target, data__train_fraction=r0)

    def text(value):
        return (
            f"best {value[0]:.2f}, val95 {steps(value[1] if math.isfinite(value[1]) else math.nan)}"
        )

    claims = []
    pairs = [("add_e", "sub"), ("sub_e", "add")]
    known = [
        (v, t) for v, t in pairs if not math.isnan(at(v, t)[0]) and not math.isnan(alone(t)[0])
    ]
    claims.append(
        judge(
            "fig2",
            "Add and sub embeddings help each other (PG-E(add) -> sub, PG-E(sub) -> add).",
            "help each other",
            "; ".join(
                f"{PG_LABELS[v]}->{t}: {text(at(v, t))} vs scratch {text(alone(t))}"
                for v, t in known
            )
            or "no run",
            f"at r={r0:g}: groks, no later than from scratch",
            all(at(v, t)[0] >= GROKS and at(v, t)[1] <= alone(t)[1] for v, t in known)
            if len(known) == 2
            else None,
            scale,
        )
    )
    pairs = [("mul_e", "add"), ("mul_e", "sub")]
    known = [
        (v, t) for v, t in pairs if not math.isnan(at(v, t)[0]) and not math.isnan(alone(t)[0])
    ]
    claims.append(
        judge(
            "fig2",
            "The mul embedding hurts add and sub.",
            "hurts",
            "; ".join(
                f"{PG_LABELS[v]}->{t}: {text(at(v, t))} vs scratch {text(alone(t))}"
                for v, t in known
            )
            or "no run",
            f"at r={r0:g}: lower best accuracy or later val 95% than from scratch",
            all(at(v, t)[0] < alone(t)[0] - 0.01 or at(v, t)[1] > alone(t)[1] for v, t in known)
            if len(known) == 2
            else None,
            scale,
        )
    )
    rows = summary[summary["variant"] == "sub_t"]
    claims.append(
        judge(
            "fig2",
            "PG-T from sub fails on every task, including sub itself.",
            "fails on all",
            "; ".join(
                f"->{op} r={r:g}: {acc:.2f}"
                for op, r, acc in rows[[OP, R, "max_val_accuracy"]].itertuples(index=False)
            )
            or "no run",
            "val acc < 0.95 for every downstream task and r",
            bool((rows["max_val_accuracy"] < GROKS).all()) if len(rows) else None,
            scale,
        )
    )
    pairs = [("add_t", "mul"), ("mul_t", "add")]
    known = [(v, t) for v, t in pairs if not math.isnan(at(v, t)[0])]
    claims.append(
        judge(
            "fig2",
            "PG-T add -> mul and mul -> add work.",
            "groks",
            "; ".join(f"{PG_LABELS[v]}->{t}: {text(at(v, t))}" for v, t in known) or "no run",
            f"val >= 0.95 at r={r0:g}",
            all(at(v, t)[0] >= GROKS for v, t in known) if len(known) == 2 else None,
            scale,
        )
    )
    _, upstream = tables["pretrain"]
    claims.insert(
        0,
        judge(
            "fig2",
            "Precondition: the pre-grokked upstream runs (add, sub, mul) grokked.",
            "grokked checkpoints (add, mul at 10k steps, sub at 40k; p = 97, r = 0.3)",
            "; ".join(
                f"{op} r={r:g} seed {seed}: best val {acc:.3f}"
                for op, r, seed, acc in upstream[[OP, R, "seed", "max_val_accuracy"]].itertuples(
                    index=False
                )
            ),
            "every upstream run reaches val 0.95",
            bool(groks(upstream).all()) if len(upstream) else None,
            scale,
        ),
    )
    shown = summary.pivot_table(index=["variant", OP], columns=R, values="max_val_accuracy")
    shown.columns = [f"best val acc, r={c:g}" for c in shown.columns]
    return fig, shown.reset_index(), claims


def fig_a24(tables, scale):
    curves, summary = tables["pg"]
    fig = pg_grid(
        curves, summary, band=True, title="Pre-grokked models: mean +- std over seeds, smallest r"
    )
    cells = summary.groupby(["variant", OP, R])
    consistent = [bool(groks(g).all() or not groks(g).any()) for _, g in cells if len(g) >= 2]
    seeds = int(summary["seed"].nunique()) if len(summary) else 0
    claims = [
        judge(
            "fig_a24",
            "Fig 2's outcomes are stable across 3 seeds (narrow bands).",
            "small std over 3 seeds",
            f"{sum(consistent)}/{len(consistent)} cells with the same grokked-or-not "
            f"outcome on all {seeds} seeds",
            ">= 80% of cells agree across seeds [I]; needs >= 2 seeds",
            sum(consistent) >= 0.8 * len(consistent) if consistent else None,
            scale,
        )
    ]
    stats = cells["max_val_accuracy"].agg(["mean", "std", "count"]).reset_index()
    return fig, stats, claims


def smallest_r(rows: pd.DataFrame) -> str:
    """Table 1's cell: check mark if it groks at the smallest r tried, else the smallest r that
    groks (every seed), else a cross with the best accuracy."""
    if not len(rows):
        return ""
    by_r = {r: bool(groks(group).all()) for r, group in rows.groupby(R)}
    grokked = [r for r, ok in by_r.items() if ok]
    if not grokked:
        return f"x ({rows['max_val_accuracy'].max():.2f})"
    first = min(grokked)
    return "ok" if first == min(by_r) else f"{first:g}"


def fig9(tables, scale):
    _, pg = tables["pg_table"]
    _, scratch = tables["scratch"]
    operations = ["2a+b", "2a-b", "2a+3b", "2a-3b", "ab+b", "ab-b"]
    r0 = 0.3
    records = []
    for operation in operations:
        for label, frame, variant in (
            ("scratch", scratch, None),
            ("PG-E(add)", pg, "add_e"),
            ("PG-T(mul)", pg, "mul_t"),
        ):
            where = {"data__operation": operation, "data__train_fraction": r0}
            if variant:
                where["variant"] = variant
            value = best(frame, **where)[0]
            if not math.isnan(value):
                records.append({"operation": operation, "model": label, "max_val_accuracy": value})
    data = pd.DataFrame(records, columns=["operation", "model", "max_val_accuracy"])
    fig, ax = plt.subplots(figsize=(8, 3.4), layout="constrained")
    if len(data):
        wide = data.pivot(index="operation", columns="model", values="max_val_accuracy")
        wide.index = [pretty(op) for op in wide.index]
        wide.plot.bar(ax=ax, rot=0)
    ax.axhline(GROKS, color="grey", linestyle=":")
    ax.set(ylabel="best test accuracy", title=f"r = {r0:g}: scratch vs pre-grokked")

    def value(op, model):
        rows = data[(data["operation"] == op) & (data["model"] == model)]
        return float(rows["max_val_accuracy"].iloc[0]) if len(rows) else math.nan

    claims = []
    for model, ops, statement in (
        (
            "PG-E(add)",
            ["2a+b", "2a-b", "2a+3b", "2a-3b"],
            "PG-E(add) makes 2a+-b and 2a+-3b grok at r = 0.3, where scratch fails.",
        ),
        (
            "PG-T(mul)",
            ["ab+b", "ab-b"],
            "PG-T(mul) makes ab+-b grok at r = 0.3, where scratch fails.",
        ),
    ):
        known = [op for op in ops if not math.isnan(value(op, model) + value(op, "scratch"))]
        claims.append(
            judge(
                "fig9",
                statement,
                "PG groks, scratch does not",
                "; ".join(
                    f"{pretty(op)}: {model} {value(op, model):.2f}, scratch "
                    f"{value(op, 'scratch'):.2f}"
                    for op in known
                )
                or "no run",
                "PG val >= 0.95 and scratch < 0.95 for each operation run",
                all(value(op, model) >= GROKS > value(op, "scratch") for op in known)
                if known
                else None,
                scale,
            )
        )
    return fig, data, claims


TABLE1_PAPER = {  # the cells the spec quotes: (operation, column) -> paper's entry
    ("a3+ab2+b", "scratch"): "x",
    ("a3+ab", "scratch"): "0.9",
    ("sum3", "PG-E(add)"): "ok",
}


def table1(tables, scale):
    _, pg = tables["pg"]
    _, pg_table = tables["pg_table"]
    _, scratch = tables["scratch"]
    both = pd.concat([pg, pg_table], ignore_index=True)
    operations = list(dict.fromkeys(list(both[OP]) + list(scratch[OP])))
    rows = []
    for operation in operations:
        row = {
            "operation": pretty(operation),
            "scratch": smallest_r(scratch[scratch[OP] == operation]),
        }
        for variant, label in PG_LABELS.items():
            row[label] = smallest_r(both[(both[OP] == operation) & (both["variant"] == variant)])
        rows.append(row)
    data = pd.DataFrame(rows)
    fig = table_image(data, "Smallest r that groks (ok = the smallest r run; x = never, best acc)")
    claims = []
    for (operation, column), paper in TABLE1_PAPER.items():
        match = data[data["operation"] == pretty(operation)]
        ours = match[column].iloc[0] if len(match) else ""
        tried = fractions(scratch if column == "scratch" else both)
        comparable = bool(ours) and (paper != "0.9" or 0.9 in tried)
        holds = (ours.split(" ")[0] == paper) if comparable else None
        if paper == "x" and ours and 0.9 not in tried:
            holds = None  # "never" needs every r up to 0.9
        claims.append(
            judge(
                "table1",
                f"Table 1: {pretty(operation)} with {column}.",
                {"ok": "groks at r = 0.3", "x": "never groks"}.get(paper, f"r = {paper}"),
                ours or "not run",
                f"same entry (r values tried: {', '.join(f'{r:g}' for r in tried)})",
                holds,
                scale,
            )
        )
    return fig, data, claims


def table_image(frame: pd.DataFrame, title: str):
    from repro.figures import table_figure

    return table_figure(frame, title)


# --- multi-task and mixtures (Figs 10, 11) -------------------------------------------------


def operations_of(summary: pd.DataFrame, run_id: str) -> list[str]:
    import json

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
    ks = np.arange(1, len(spectra["we_cos"]) + 1)
    for ax, name, label in ((axes[1][0], "we", "W_E"), (axes[1][1], "wl", "W_L")):
        ax.bar(ks - 0.2, spectra[f"{name}_cos"], width=0.4, label="cos")
        ax.bar(ks + 0.2, spectra[f"{name}_sin"], width=0.4, label="sin")
        ax.set(xlabel="frequency k", title=f"{label} (r = {top[R]:g})")
        ax.legend(fontsize="x-small")
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


# --- ablations of App. E (Table A.4, Fig A.12) ---------------------------------------------

TABLE_A4_PAPER = {
    "train (all components)": (1.008e-7, 1.336e-7),
    "restricted (key only)": (4.985e-8, 7.141e-1),
    "(a) non-key only": (4.576, 7.741),
    "(b) residual only": (5.385, 21.79),
    "(c) key + non-key": (4.989e-8, 5.582e-1),
    "(d) key + residual": (1.015e-7, 5.348e-6),
    "(e) non-key + residual": (5.383, 21.88),
}


def ablations(scale, summary):
    """{op: (losses, per-frequency frame, key frequencies, run row)} for add and sub."""
    result = {}
    for operation in ("add", "sub"):
        row = analysed_run(summary, operation)
        if row is None:
            continue
        model, dataset, _ = analysis.load_run(scale, "scratch", row["run_id"])
        result[operation] = (*analysis.ablation_losses(model, dataset), row)
    return result


def table_a4(tables, scale):
    _, summary = tables["scratch"]
    found = ablations(scale, summary)
    rows = []
    for name, (paper_add, paper_sub) in TABLE_A4_PAPER.items():
        row = {"loss": name, "paper add": paper_add, "paper sub": paper_sub}
        for operation in ("add", "sub"):
            row[f"ours {operation}"] = found[operation][0][name] if operation in found else math.nan
        rows.append(row)
    data = pd.DataFrame(rows)
    fig = table_image(
        data.assign(**{c: data[c].map(lambda v: f"{v:.3g}") for c in data.columns[1:]}),
        "Losses with logit components removed (train pairs)",
    )
    get = lambda name, op: float(data.loc[data["loss"] == name, f"ours {op}"].iloc[0])  # noqa: E731
    have = {"add", "sub"} <= set(found)
    restricted = ("restricted (key only)",)
    claims = [
        judge(
            "table_a4",
            "Key frequencies alone keep addition's loss low but not subtraction's "
            "(sub depends on non-key frequencies).",
            "restricted loss: add 4.985e-8, sub 7.141e-1",
            f"add {get(restricted[0], 'add'):.3g}, sub {get(restricted[0], 'sub'):.3g}"
            if have
            else "no run",
            "restricted add < 0.1 and restricted sub > 10 x restricted add",
            bool(
                get(restricted[0], "add") < 0.1
                and get(restricted[0], "sub") > 10 * get(restricted[0], "add")
            )
            if have
            else None,
            scale,
        ),
        judge(
            "table_a4",
            "Without the key frequencies ((a), (b), (e)) both tasks are lost.",
            "(a) 4.576 | 7.741, (b) 5.385 | 21.79, (e) 5.383 | 21.88",
            "; ".join(
                f"{n[:3]} {get(n, 'add'):.3g} | {get(n, 'sub'):.3g}"
                for n in ("(a) non-key only", "(b) residual only", "(e) non-key + residual")
            )
            if have
            else "no run",
            "all six losses > 1",
            all(
                get(n, op) > 1
                for n in ("(a) non-key only", "(b) residual only", "(e) non-key + residual")
                for op in ("add", "sub")
            )
            if have
            else None,
            scale,
        ),
    ]
    return fig, data, claims


def fig_a12(tables, scale):
    _, summary = tables["scratch"]
    found = ablations(scale, summary)
    fig, axes = panels(max(len(found), 1), columns=2, width=5, height=3)
    frames, ours, dependent_counts = [], [], {}
    for ax, (operation, (losses, per_freq, key, row)) in zip(axes, found.items(), strict=False):
        colors = ["C3" if k else "C0" for k in per_freq["key"]]
        ax.bar(per_freq["frequency"], per_freq["ablated_loss"], color=colors)
        ax.axhline(losses["train (all components)"], color="k", linestyle="--", label="train loss")
        ax.axhline(
            losses["restricted (key only)"], color="C2", linestyle=":", label="restricted loss"
        )
        ax.set(
            yscale="log",
            xlabel="frequency ablated",
            ylabel="train loss",
            title=f"{pretty(operation)} (key: {key}; red)",
        )
        ax.legend(fontsize="x-small")
        base = losses["train (all components)"]
        non_key = per_freq[~per_freq["key"]]
        # dependent: ablating the frequency raises the loss by more than 10% of the base loss
        # (the paper's 1e-9 absolute threshold assumes its 1e-7 train losses) [I]
        dependent = int((non_key["ablated_loss"] - base > 0.1 * base + 1e-9).sum())
        dependent_counts[operation] = dependent
        ours.append(f"{pretty(operation)}: {dependent} of {len(non_key)} non-key frequencies")
        frames.append(per_freq.assign(operation=operation, run_id=row["run_id"]))
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    claims = [
        judge(
            "fig_a12",
            "Subtraction has 'dependent' non-key frequencies; addition does not rely on them.",
            "sub has dependent non-key frequencies",
            "; ".join(ours) or "no run",
            "sub has more dependent non-key frequencies than add, and at least one [I]",
            bool(dependent_counts["sub"] > dependent_counts["add"] and dependent_counts["sub"] >= 1)
            if {"add", "sub"} <= set(dependent_counts)
            else None,
            scale,
        )
    ]
    return fig, data, claims


# --- Table A.5, other moduli, label statistics ---------------------------------------------


def table_a5(tables, scale):
    _, summary = tables["scratch"]
    rs = fractions(summary)
    rows = []
    for operation in dict.fromkeys(summary[OP]):
        row = {"operation": pretty(operation)}
        for fraction in rs:
            part = summary[(summary[OP] == operation) & np.isclose(summary[R], fraction)]
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
    fig = table_image(data, "Groks (ok) or best test accuracy, per operation and r")
    agree, ours = [], []
    if any(np.isclose(rs, 0.3)):
        for operation, paper in PAPER_R03.items():
            part = summary[(summary[OP] == operation) & np.isclose(summary[R], 0.3)]
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


def fig_a18(tables, scale):
    _, summary = tables["primes"]
    records = []
    panels_ = []
    for _, row in summary.sort_values(["data.p", OP, "seed"]).iterrows():
        if row["seed"] != summary["seed"].min():
            continue
        model, _, _ = analysis.load_run(scale, "primes", row["run_id"])
        spectra = analysis.spectrum_rows(model)
        panels_.append((row, spectra))
        records.append(
            {
                "p": int(row["data.p"]),
                "operation": row[OP],
                R: row[R],
                "max_val_accuracy": row["max_val_accuracy"],
                **fourier.ffd_fcr(model),
            }
        )
    fig, axes = panels(max(len(panels_), 1), columns=3, width=4, height=2.6)
    for ax, (row, spectra) in zip(axes, panels_, strict=False):
        ks = np.arange(1, len(spectra["we_cos"]) + 1)
        ax.bar(ks - 0.2, spectra["we_cos"], width=0.4, label="cos")
        ax.bar(ks + 0.2, spectra["we_sin"], width=0.4, label="sin")
        ax.set(xlabel="frequency k", title=f"p={int(row['data.p'])} {pretty(row[OP])}: W_E")
        ax.legend(fontsize="x-small")
    data = pd.DataFrame(records)
    checks, ours = [], []
    for record in data.itertuples(index=False):
        if record.max_val_accuracy < GROKS or record.operation not in ("add", "mul"):
            continue
        checks.append(record.ffd_we <= 0.3 if record.operation == "add" else record.ffd_we >= 0.8)
        ours.append(f"p={record.p} {record.operation}: FFD {record.ffd_we:.2f}")
    claims = [
        judge(
            "fig_a18",
            "At other p, grokked add keeps a sparse embedding and mul a dense one.",
            "same trends as p = 97",
            "; ".join(ours) or "no grokked run",
            "FFD(W_E) <= 0.3 for add, >= 0.8 for mul (grokked runs)",
            all(checks) if checks else None,
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


FIGURES = {
    "fig2": fig2,
    "fig3": fig3,
    "fig4": fig4,
    "fig5": fig5,
    "fig6": fig6,
    "fig7": fig7,
    "fig8": fig8,
    "fig9": fig9,
    "table1": table1,
    "fig10": fig10,
    "fig11": fig11,
    "table_a4": table_a4,
    "fig_a12": fig_a12,
    "fig_a13": fig_a13,
    "fig_a14": fig_a14,
    "fig_a15": fig_a15,
    "fig_a16": fig_a16,
    "table_a5": table_a5,
    "fig_a17": fig_a17,
    "fig_a18": fig_a18,
    "fig_a22": fig_a22,
    "fig_a23": fig_a23,
    "fig_a24": fig_a24,
}
