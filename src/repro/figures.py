"""One plotting style for every paper, and the writers for figures (png + pdf) and tables."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from repro import io  # noqa: E402

TRAIN_STYLE = {"linestyle": "--", "alpha": 0.8}  # train dashed, validation solid (the papers')
VAL_STYLE = {"linestyle": "-"}


def style() -> None:
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.1)
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "axes.titlesize": "medium",
            "legend.fontsize": "small",
        }
    )


def panels(n: int, columns: int = 4, width: float = 3.2, height: float = 2.6):
    """A grid of n axes (extra axes hidden), sharing y."""
    rows = -(-n // columns)
    columns = min(columns, n)
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(width * columns, height * rows),
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def accuracy_curves(ax, curves: pd.DataFrame, label: str | None = None, color=None) -> None:
    """Train (dashed) and validation (solid) accuracy of one run against steps, log x."""
    curves = curves[curves["step"] > 0]  # log axis
    train = curves[curves["split"] == "train"]
    val = curves[curves["split"] == "val"]
    (line,) = ax.plot(val["step"], val["accuracy"], color=color, label=label, **VAL_STYLE)
    ax.plot(train["step"], train["accuracy"], color=line.get_color(), **TRAIN_STYLE)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("step")
    spec = ax.get_subplotspec()
    ax.set_ylabel("accuracy" if spec is None or spec.is_first_col() else "")


def table_figure(frame: pd.DataFrame, title: str):
    """A table drawn as a figure, so that every figure and table of a paper has an image."""
    fig, ax = plt.subplots(figsize=(min(2 + 1.6 * len(frame.columns), 16), 0.9 + 0.35 * len(frame)))
    ax.axis("off")
    cells = [["" if pd.isna(v) else v for v in row] for row in frame.itertuples(index=False)]
    drawn = ax.table(cellText=cells, colLabels=list(frame.columns), loc="center")
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(8)
    ax.set_title(title)
    return fig


def save(fig, base: Path) -> None:
    """base.png and base.pdf, written atomically. The PDF has no creation date, so a redraw of
    the same numbers gives the same bytes, and DVC sees no change."""
    for suffix in (".png", ".pdf"):
        metadata = {"CreationDate": None} if suffix == ".pdf" else None
        with io.atomic_path(Path(base).with_suffix(suffix)) as temporary:
            fig.savefig(temporary, format=suffix[1:], metadata=metadata)
    plt.close(fig)


def write_table(frame: pd.DataFrame, base: Path, float_format: str = "{:.4g}") -> None:
    """base.csv (full precision) and base.md (rounded, for reading)."""
    io.write_text(Path(base).with_suffix(".csv"), frame.to_csv(index=False))
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(
                lambda v: "" if pd.isna(v) else float_format.format(v)
            )
    io.write_text(Path(base).with_suffix(".md"), markdown(shown) + "\n")


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table (pandas' to_markdown needs tabulate; this does not)."""
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = [
        "| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body])
