"""Claims, tables, the report and the command line, on hand-made inputs."""

import json
import math

import pandas as pd
import pytest

from conftest import ROOT, run
from repro import claims
from repro.analysis import first_step, summarize_run
from repro.figures import markdown, write_table
from repro.report import build


def test_verdicts_depend_on_the_scale():
    args = ("fig1", "s", "paper", "ours", "criterion")
    assert claims.judge(*args, True, "laptop").verdict == claims.REPRODUCED
    assert claims.judge(*args, False, "paper").verdict == claims.NOT_REPRODUCED
    assert claims.judge(*args, True, "smoke").verdict == claims.NOT_RUN
    assert claims.judge(*args, None, "laptop").verdict == claims.NOT_RUN
    assert claims.steps(math.nan) == "never" and claims.steps(1234.0) == "1,234"


def test_first_step_and_run_summary():
    curves = pd.DataFrame(
        {
            "step": [0, 0, 10, 10, 20, 20],
            "split": ["train", "val"] * 3,
            "accuracy": [0.1, 0.1, 1.0, 0.2, 1.0, 0.96],
            "loss": [3, 3, 0.1, 2, 0.1, 0.2],
        }
    )
    assert first_step(curves, "val", 0.95) == 20 and math.isnan(first_step(curves, "val", 0.99))
    summary = summarize_run(curves)
    assert summary["step_train_99"] == 10 and summary["grokking_delay"] == 10


def test_tables_are_written_as_csv_and_markdown(tmp_path):
    frame = pd.DataFrame({"run": ["a|b", "c"], "value": [0.123456, math.nan]})
    write_table(frame, tmp_path / "table")
    assert pd.read_csv(tmp_path / "table.csv")["value"].iloc[0] == 0.123456
    text = (tmp_path / "table.md").read_text()
    assert "| a\\|b | 0.1235 |" in text and text.startswith("| run | value |")
    assert markdown(frame).count("\n") == 3


def test_report_embeds_figures_and_counts_verdicts(tmp_path):
    folder = tmp_path / "paper_figures" / "exploring_grokking"
    folder.mkdir(parents=True)
    claim = claims.judge("fig1", "groks", "yes", "yes at 900", "val >= 0.95", True, "laptop")
    claims.write(folder / "claims.json", "exploring_grokking", "Title", "laptop", [claim])
    text = build([folder / "claims.json"], tmp_path / "paper_figures" / "REPORT.md")
    assert "![fig1](exploring_grokking/fig1.png)" in text
    assert "| Title | laptop | 1 | 0 | 0 |" in text and "✅ reproduced" in text
    assert json.loads((folder / "claims.json").read_text())["claims"][0]["our_value"]


@pytest.mark.parametrize("command", ["plan", "train", "aggregate", "figure", "claims", "report"])
def test_every_command_has_help(command):
    result = run(["python", "-m", "repro", command, "--help"], ROOT)
    assert result.returncode == 0 and "usage:" in result.stdout


def test_cli_config_errors_are_one_line(tmp_path):
    result = run(
        [
            "python",
            "-m",
            "repro",
            "train",
            "--run",
            "exploring_grokking/models/x",
            "--scale",
            "smoke",
            str(tmp_path),
        ],
        ROOT,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: run: 'x' is not planned in exploring_grokking/models at scale smoke"
    ]
