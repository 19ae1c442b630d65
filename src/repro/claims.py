"""Claims: each statement a figure checks, the paper's value beside ours, and a verdict.

Verdicts are judged only at the scales a claim is meant for (laptop and paper by default);
at other scales (smoke) our value is still shown but the verdict is "not run at this scale".
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

REPRODUCED, NOT_REPRODUCED, NOT_RUN = "reproduced", "not reproduced", "not run at this scale"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, NOT_RUN)


@dataclass(frozen=True)
class Claim:
    figure: str
    statement: str
    paper_value: str  # the paper's number, or its qualitative expectation
    our_value: str
    criterion: str  # what must hold for "reproduced"
    verdict: str


def judge(
    figure: str,
    statement: str,
    paper_value: str,
    our_value: str,
    criterion: str,
    holds: bool | None,
    scale: str,
    judged_at: tuple[str, ...] = ("laptop", "paper"),
) -> Claim:
    """holds=None means the runs needed were not done (e.g. a dataset was not downloaded)."""
    if scale not in judged_at or holds is None:
        verdict = NOT_RUN
    else:
        verdict = REPRODUCED if holds else NOT_REPRODUCED
    return Claim(figure, statement, paper_value, our_value, criterion, verdict)


def steps(value: float) -> str:
    """A step count for display; NaN means the event never happened within the budget."""
    return "never" if value is None or math.isnan(value) else f"{value:,.0f}"


def write(path: Path, paper: str, title: str, scale: str, claims: list[Claim]) -> None:
    from repro import io

    io.write_json(
        path,
        {
            "paper": paper,
            "title": title,
            "scale": scale,
            "claims": [asdict(claim) for claim in claims],
        },
    )


def read(path: Path) -> dict:
    return json.loads(Path(path).read_text())
