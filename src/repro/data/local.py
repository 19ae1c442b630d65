"""Where downloaded datasets live, and the one error a loader gives when they are missing.

Downloads go to <root>/<dataset>/<file>, root being `data/` in the repository (git-ignored,
DVC-tracked), or $REPRO_DATA_DIR when set. A loader whose files are missing says which file and
the command that fetches it, instead of failing deep inside a parser.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from repro.config import ROOT, ConfigError

DATA_VARIABLE = "REPRO_DATA_DIR"


def data_root(root: str | os.PathLike | None = None) -> Path:
    """root if given, else $REPRO_DATA_DIR, else <repository>/data."""
    if root is not None:
        return Path(root)
    return Path(os.environ.get(DATA_VARIABLE) or ROOT / "data")


def require(paths: Iterable[Path], dataset: str, source: str) -> None:
    """ConfigError naming the first missing file and how to fetch it."""
    for path in paths:
        if not path.exists():
            raise ConfigError(
                f"data.source: {source!r} needs {path}, which is missing; fetch it with "
                f"`python -m repro fetch {dataset}` (or snakemake --config download=true), "
                f"or choose a source that needs no download"
            )
