"""Runs that start from other runs: load (part of) a trained model, freeze parameters, and keep
a pruning mask fixed during training.

Parameters are picked by name prefix (`model.named_parameters()` names, e.g. "embed" or
"blocks.0.attention"). A prefix that matches nothing is a config error, raised before training:
a typo would otherwise silently train the wrong thing.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from repro.config import ConfigError


def matching(names, prefixes: tuple[str, ...], key: str) -> set[str]:
    chosen = set()
    for prefix in prefixes:
        hits = {name for name in names if name == prefix or name.startswith(prefix + ".")}
        if not hits:
            raise ConfigError(
                f"train.{key}: {prefix!r} matches no parameter; expected a prefix of "
                f"{sorted(names)}"
            )
        chosen |= hits
    return chosen


def model_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The model state dict in a final.pt, a checkpoint, or a bare state dict file."""
    if not Path(path).exists():
        raise ConfigError(f"train.init_from: {path} does not exist (train the upstream run first)")
    saved = torch.load(path, map_location="cpu", weights_only=False)
    return saved.get("model", saved) if isinstance(saved, dict) else saved


def load_initial_state(model: nn.Module, path: str | Path, prefixes: tuple[str, ...]) -> None:
    """Copy the upstream model's parameters (those under `prefixes`, or all) into `model`."""
    state = model_state(path)
    own = dict(model.named_parameters())
    names = matching(own, prefixes, "init_parameters") if prefixes else set(state)
    with torch.no_grad():
        for name in sorted(names):
            if name not in own or own[name].shape != state[name].shape:
                raise ConfigError(
                    f"train.init_from: {path}: parameter {name!r} does not fit this model"
                )
            own[name].copy_(state[name])
        buffers = dict(model.named_buffers())
        for name, value in state.items():  # e.g. positional tables kept as buffers
            if not prefixes and name in buffers:
                buffers[name].copy_(value)


def freeze(model: nn.Module, prefixes: tuple[str, ...]) -> None:
    for name in matching(dict(model.named_parameters()), prefixes, "freeze"):
        model.get_parameter(name).requires_grad_(False)


def load_mask(model: nn.Module, path: str | Path) -> dict[nn.Parameter, torch.Tensor]:
    """{parameter: 0/1 float tensor} from a file of {name: tensor}; names and shapes checked."""
    if not Path(path).exists():
        raise ConfigError(f"train.mask: {path} does not exist (make the mask first)")
    masks = torch.load(path, map_location="cpu", weights_only=True)
    own = dict(model.named_parameters())
    result = {}
    for name, mask in masks.items():
        if name not in own or own[name].shape != mask.shape:
            raise ConfigError(f"train.mask: {path}: {name!r} does not fit this model")
        result[own[name]] = mask.to(own[name].device, own[name].dtype)
    return result


@torch.no_grad()
def apply_mask(masks: dict[nn.Parameter, torch.Tensor], gradients: bool = False) -> None:
    """Zero the pruned weights (or their gradients): after every update, so they stay 0."""
    for parameter, mask in masks.items():
        target = parameter.grad if gradients else parameter
        if target is not None:
            target.mul_(mask)
