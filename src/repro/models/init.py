"""Initialisation scale: every parameter multiplied by alpha after the default init.

Omnigrok's recipe, used by Grokfast's MNIST (x8), IMDb (x6) and QM9 (x3) tasks: a large
initial weight norm makes a network overfit first and generalise late (grokking); weight decay
then shrinks the weights back towards the "Goldilocks zone". Biases are scaled too, as the
official scripts multiply every parameter.
"""

from __future__ import annotations

import torch
from torch import nn


def scale_parameters(module: nn.Module, init_scale: float) -> None:
    """Multiply every parameter of `module` in place by init_scale (1.0: untouched)."""
    if init_scale == 1.0:
        return
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.mul_(init_scale)
