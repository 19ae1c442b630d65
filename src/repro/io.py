"""Atomic file writes: write a temporary file next to the target, fsync, then rename.

A reader (or Snakemake) never sees a half-written file, and a killed process leaves either the
old file or the new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(target: str | os.PathLike):
    """Yield a temporary path in target's folder; rename it onto target if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    os.close(handle)
    try:
        yield Path(temporary)
        with open(temporary, "rb") as file:
            os.fsync(file.fileno())
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def write_text(target, text: str) -> None:
    with atomic_path(target) as temporary:
        temporary.write_text(text)


def write_json(target, data: Any) -> None:
    write_text(target, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def write_torch(target, obj: Any) -> None:
    import torch

    with atomic_path(target) as temporary:
        torch.save(obj, temporary)


def write_parquet(target, frame) -> None:
    with atomic_path(target) as temporary:
        frame.to_parquet(temporary, index=False)
