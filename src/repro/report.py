"""paper_figures/REPORT.md: per paper, each figure (embedded), its caption and its claims table,
with a count of verdicts at the top."""

from __future__ import annotations

import collections
from pathlib import Path

from repro import io
from repro.claims import VERDICTS, read
from repro.figures import markdown
from repro.plan import load_paper

VERDICT_MARK = {
    "reproduced": "✅ reproduced",
    "not reproduced": "❌ not reproduced",
    "not run at this scale": "⏸ not run at this scale",
}


def claims_table(claims: list[dict]) -> str:
    import pandas as pd

    rows = [
        {
            "statement": c["statement"],
            "paper": c["paper_value"],
            "ours": c["our_value"],
            "criterion": c["criterion"],
            "verdict": VERDICT_MARK[c["verdict"]],
        }
        for c in claims
    ]
    return markdown(
        pd.DataFrame(rows, columns=["statement", "paper", "ours", "criterion", "verdict"])
    )


def build(claims_files: list[Path], out: Path) -> str:
    out = Path(out)
    papers = [read(path) | {"folder": Path(path).parent} for path in claims_files]
    counts = collections.Counter(c["verdict"] for p in papers for c in p["claims"])
    lines = [
        "# Replication report",
        "",
        "Every number under 'ours' was computed from the logged training runs by the "
        "figure's code; the paper's values are quoted for reference only.",
        "",
        "| paper | scale | " + " | ".join(VERDICTS) + " |",
        "| --- | --- | " + " | ".join("---" for _ in VERDICTS) + " |",
    ]
    for paper in papers:
        paper_counts = collections.Counter(c["verdict"] for c in paper["claims"])
        lines.append(
            f"| {paper['title']} | {paper['scale']} | "
            + " | ".join(str(paper_counts[v]) for v in VERDICTS)
            + " |"
        )
    lines.append("| **all** | | " + " | ".join(f"**{counts[v]}**" for v in VERDICTS) + " |")
    for paper in papers:
        spec = load_paper(paper["paper"])
        lines += [
            "",
            f"## {paper['title']}",
            "",
            f"arXiv {spec.get('arxiv', '?')} · scale `{paper['scale']}` · "
            f"config `config/papers/{paper['paper']}.yaml`",
        ]
        by_figure = collections.defaultdict(list)
        for claim in paper["claims"]:
            by_figure[claim["figure"]].append(claim)
        for figure, figure_spec in spec["figures"].items():
            image = (paper["folder"] / f"{figure}.png").relative_to(out.parent)
            data = (paper["folder"] / f"{figure}.md").relative_to(out.parent)
            lines += [
                "",
                f"### {figure}: {figure_spec['title']}",
                "",
                f"![{figure}]({image.as_posix()})",
                "",
            ]
            if figure_spec.get("caption"):
                lines += [figure_spec["caption"], ""]
            lines.append(f"Numbers behind the figure: [{data.name}]({data.as_posix()})")
            if by_figure[figure]:
                lines += ["", claims_table(by_figure[figure])]
    text = "\n".join(lines) + "\n"
    io.write_text(out, text)
    return text
