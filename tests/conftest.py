"""Shared fixtures: a tiny run config, the repository root, and a shell environment whose PATH
finds the project's venv (snakemake, python)."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TINY_RUN = {
    "paper": "exploring_grokking",
    "experiment": "test",
    "run_id": "tiny",
    "seed": 0,
    "data": {"name": "modular", "p": 11, "operation": "add", "train_fraction": 0.5},
    "model": {"name": "transformer", "n_layers": 1, "d_model": 16, "n_heads": 2, "d_mlp": 32},
    "optimizer": {"name": "adamw", "lr": 3e-3, "weight_decay": 1.0, "warmup_steps": 5},
    "train": {"steps": 40, "batch_size": 16, "eval_every": 10, "checkpoint_every": 10},
}


@pytest.fixture
def tiny_run() -> dict:
    return copy.deepcopy(TINY_RUN)


def shell_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


@pytest.fixture
def repo_copy(tmp_path) -> Path:
    """The tracked files of the repository (plus untracked, not ignored) in a temporary folder."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    target = tmp_path / "repo"
    for name in listed:
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=cwd, env=shell_env(), capture_output=True, text=True, timeout=timeout
    )
