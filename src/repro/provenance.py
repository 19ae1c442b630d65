"""What produced a run: code version, packages, machine. Written to provenance.json."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from importlib import metadata

from repro.config import ROOT

PACKAGES = ("torch", "numpy", "pandas", "pyarrow", "snakemake", "matplotlib", "seaborn")


def git_commit() -> dict[str, object]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10
        ).stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        }
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


@functools.cache  # read once per process: a bundle writes 16 provenance files
def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment() -> dict[str, object]:
    return {
        "git": git_commit(),
        "packages": dict(package_versions()),
        "host": platform.node(),
        "platform": platform.platform(),
        "processor": platform.processor(),
    }
