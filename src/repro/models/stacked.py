"""Forward passes of N models of one architecture at once, for batched training (repro.batched).

Parameters are stacked along a leading model axis: {name: tensor (N, *shape)}, with the names of
the model's own named_parameters(), so one run's slice loads into its nn.Module unchanged.
Inputs carry the same axis: (N, batch, ...), and the output is (N, batch, n_classes).

- lstm: the recurrence and its backward written out over the model axis
  (repro.models.stacked_lstm; torch has no vmap rule for aten::lstm).
- quadratic with token inputs (classification): forward and backward written out
  (repro.models.stacked_quadratic), about 2x faster than vmap's gather and scatter; trained with
  cross entropy, the loss is part of the written-out pass (stacked_losses), and W is stored in
  the layout that pass reads (stack_parameters).
- mlp, and the quadratic net's one-hot and regression inputs: torch.func (vmap over
  functional_call of the module itself).
The transformer is left out: one already fills the CPU (shared/perf-notes.md, section 7).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, vmap

from repro.losses import LOSSES
from repro.models import stacked_quadratic
from repro.models.stacked_lstm import lstm_forward
from repro.models.stacked_quadratic import quadratic_cross_entropy, quadratic_forward

STACKABLE = ("mlp", "lstm", "quadratic")
# written-out passes (stacked_lstm, stacked_quadratic) compute their backward in float32: a bundle
# of these does not train under train.autocast bf16 (the planner trains such runs alone)
FLOAT32_ONLY = ("lstm", "quadratic")

Forward = Callable[[dict[str, torch.Tensor], torch.Tensor], torch.Tensor]
Losses = Callable[[dict[str, torch.Tensor], torch.Tensor, torch.Tensor], torch.Tensor]


def token_quadratic(name: str, model: nn.Module) -> bool:
    """The quadratic net on token inputs, classification: its passes are written out."""
    return name == "quadratic" and not model.onehot and not model.regression


def stack_parameters(name: str, modules: list[nn.Module]) -> dict[str, torch.Tensor]:
    """{name: (N, *shape)} leaves that require grad, one slice per module, in the memory
    layout the stacked forward reads fastest (the shapes are always the modules')."""
    if token_quadratic(name, modules[0]):
        return stacked_quadratic.stack_parameters(modules)
    names = [parameter_name for parameter_name, _ in modules[0].named_parameters()]
    return {
        parameter_name: torch.stack(
            [dict(m.named_parameters())[parameter_name].detach() for m in modules]
        )
        .clone()
        .requires_grad_()
        for parameter_name in names
    }


def stacked_losses(
    name: str, model: nn.Module, loss: str, forward: Forward, autocast: str = "none"
) -> Losses:
    """losses(params, inputs, labels) -> per-example training losses (N, batch), labels
    (N, batch, ...): repro.losses over the stacked forward's outputs, or, for the token
    quadratic net with cross entropy in float32 (train.autocast none), one written-out pass
    (repro.models.stacked_quadratic)."""
    if loss == "cross_entropy" and autocast == "none" and token_quadratic(name, model):
        return lambda params, inputs, labels: quadratic_cross_entropy(
            params, inputs, labels, model.b_position
        )
    loss_fn = LOSSES[loss]

    def losses(params, inputs, labels):
        outputs = forward(params, inputs)  # (N, batch, classes)
        return loss_fn(outputs.flatten(0, 1), labels.flatten(0, 1)).view(len(labels), -1)

    return losses


def stacked_forward(name: str, model: nn.Module) -> Forward:
    """forward(params, inputs) for N copies of `model` (its own weights are not used)."""
    if name == "lstm":
        return lambda params, inputs: lstm_forward(params, inputs, model.lstm.num_layers)
    if token_quadratic(name, model):
        return lambda params, inputs: quadratic_forward(params, inputs, model.b_position)
    template = copy.deepcopy(model).to("meta")  # shapes and code only

    def one(params: dict[str, torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        return functional_call(template, params, (inputs,))

    return vmap(one)
