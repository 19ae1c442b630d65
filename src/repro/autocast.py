"""`train.autocast`: mixed precision for the training forward pass, off by default.

    none   float32 throughout (the default; metrics are bit-identical to a loop without the switch)
    bf16   torch.autocast to bfloat16 (matmuls and most activations; the loss is computed in
           float32 by repro.losses). 1.3x more steps/s on this CPU (shared/perf-notes.md), but not
           the papers' arithmetic, so replications keep it off.

Evaluation stays in float32 so that logged metrics do not depend on the switch's rounding.
"""

from __future__ import annotations

import contextlib

import torch

AUTOCAST = ("none", "bf16")


def autocast(device: torch.device, mode: str):
    """A context manager for one forward pass: a no-op for "none"."""
    if mode == "none":
        return contextlib.nullcontext()
    if mode == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    raise ValueError(f"train.autocast: {mode!r} is not one of {list(AUTOCAST)}")
