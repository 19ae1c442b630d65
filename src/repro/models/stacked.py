"""Forward passes of N models of one architecture at once, for batched training (repro.batched).

Parameters are stacked along a leading model axis: {name: tensor (N, *shape)}, with the names of
the model's own named_parameters(), so one run's slice loads into its nn.Module unchanged.
Inputs carry the same axis: (N, batch, ...), and the output is (N, batch, n_classes).

- lstm: the recurrence and its backward written out over the model axis
  (repro.models.stacked_lstm; torch has no vmap rule for aten::lstm).
- quadratic with token inputs (classification): forward and backward written out
  (repro.models.stacked_quadratic), about 2x faster than vmap's gather and scatter.
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

from repro.models.stacked_lstm import lstm_forward
from repro.models.stacked_quadratic import quadratic_forward

STACKABLE = ("mlp", "lstm", "quadratic")

Forward = Callable[[dict[str, torch.Tensor], torch.Tensor], torch.Tensor]


def stacked_forward(name: str, model: nn.Module) -> Forward:
    """forward(params, inputs) for N copies of `model` (its own weights are not used)."""
    if name == "lstm":
        return lambda params, inputs: lstm_forward(params, inputs, model.lstm.num_layers)
    if name == "quadratic" and not model.onehot and not model.regression:
        return lambda params, inputs: quadratic_forward(params, inputs, model.b_position)
    template = copy.deepcopy(model).to("meta")  # shapes and code only

    def one(params: dict[str, torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        return functional_call(template, params, (inputs,))

    return vmap(one)
