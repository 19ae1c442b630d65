"""Noise injection, the regularisers Power et al. 2022 (App. A.1.2) compare with weight decay.

Both draw from the run's own generator, so a run stays deterministic and resumable.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def add_gradient_noise(parameters, std: float, generator: torch.Generator) -> None:
    """g <- g + N(0, std^2), independently per entry."""
    for parameter in parameters:
        if parameter.grad is not None:
            noise = torch.randn(parameter.shape, generator=generator)  # the CPU generator
            parameter.grad.add_(noise.to(parameter.device), alpha=std)


@torch.no_grad()
def add_weight_noise(parameters, std: float, generator: torch.Generator) -> None:
    """w <- w + N(0, std^2) after each optimizer step (a random walk the optimizer must undo)."""
    for parameter in parameters:
        noise = torch.randn(parameter.shape, generator=generator)  # the CPU generator
        parameter.add_(noise.to(parameter.device), alpha=std)
