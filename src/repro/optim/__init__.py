"""Optimizers, learning-rate warm-up, and gradient transforms applied between backward and step.

Order of one training step (repro.train):
    loss.backward() -> gradient-norm clip (optimizer.grad_clip) -> gradient filter (e.g.
    Grokfast) -> gradient noise -> optimizer.step()
    -> scheduler.step() -> weight noise
so filters and noise compose with any optimizer.
"""

from __future__ import annotations

import torch

from repro.config import ConfigError, OptimizerConfig
from repro.optim.filters import build_filter  # noqa: F401  (re-exported)
from repro.optim.gd import build_gd
from repro.optim.linf import add_linf_subgradient  # noqa: F401
from repro.optim.noise import add_gradient_noise, add_weight_noise  # noqa: F401

# torch's fused Adam/AdamW (one kernel for the whole update) took 0.25-0.7x the time of foreach
# per optimizer step on this CPU for every model the papers train (bench/optimizer_impl.py,
# bench/README.md): it matters for the small models, whose steps are mostly overhead. Its
# rounding differs from foreach by about 1 ulp per update (same formula, other operation order).
FUSED_DEVICES = ("cpu", "cuda")


def adam_implementation(parameters: list[torch.Tensor]) -> dict[str, bool]:
    """{"fused": True} where torch has a fused kernel (floating tensors on CPU or CUDA), else
    torch's default (foreach)."""
    fusable = all(p.is_floating_point() and p.device.type in FUSED_DEVICES for p in parameters)
    return {"fused": True} if parameters and fusable else {}


OPTIMIZERS = ("adam", "adamw", "sgd", "gd", "normalized_gd")


def build_optimizer(parameters, config: OptimizerConfig) -> torch.optim.Optimizer:
    """torch's own implementations; Adam and AdamW fused where available (measured fastest)."""
    parameters = list(parameters)
    if config.name == "adam":  # weight decay is coupled L2, added to the gradient
        return torch.optim.Adam(
            parameters,
            lr=config.lr,
            betas=config.betas,
            eps=config.eps,
            weight_decay=config.weight_decay,
            **adam_implementation(parameters),
        )
    if config.name == "adamw":  # decoupled weight decay (Loshchilov & Hutter)
        return torch.optim.AdamW(
            parameters,
            lr=config.lr,
            betas=config.betas,
            eps=config.eps,
            weight_decay=config.weight_decay,
            **adam_implementation(parameters),
        )
    if config.name == "sgd":
        return torch.optim.SGD(
            parameters,
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=config.weight_decay,
        )
    if config.name in ("gd", "normalized_gd"):  # full-batch GD of Why Do You Grok (optim/gd.py)
        return build_gd(parameters, config.name, config.lr)
    raise ConfigError(f"optimizer.name: {config.name!r} is not one of {list(OPTIMIZERS)}")


def build_scheduler(optimizer, config: OptimizerConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up: step s (0-based) uses lr * min(1, (s + 1) / warmup_steps)."""
    warmup = max(config.warmup_steps, 1)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
