"""Forward passes of N models of one architecture at once, for batched training (repro.batched).

Parameters are stacked along a leading model axis: {name: tensor (N, *shape)}, with the names of
the model's own named_parameters(), so one run's slice loads into its nn.Module unchanged.
Inputs carry the same axis: (N, batch, ...), and the output is (N, batch, n_classes).

- mlp, quadratic: torch.func (vmap over functional_call of the module itself).
- lstm: the recurrence written out with batched matmuls over the model axis, because torch has
  no vmap rule for aten::lstm. Same equations as torch.nn.LSTM (gates i, f, g, o;
  c' = f c + i g, h' = o tanh c'), so it matches the module to float32 rounding. For token
  inputs the first layer's input projection is applied to the embedding table (vocab rows)
  rather than to every position (batch x seq rows): the same numbers, with 20x fewer FLOPs
  for LSTM(20) on p=97 at batch 512. Part of the batched LSTM's speed-up comes from this, not
  from batching (bench/README.md).
The transformer is left out: one already fills the CPU (shared/perf-notes.md, section 7).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, vmap

STACKABLE = ("mlp", "lstm", "quadratic")

Forward = Callable[[dict[str, torch.Tensor], torch.Tensor], torch.Tensor]


def stacked_forward(name: str, model: nn.Module) -> Forward:
    """forward(params, inputs) for N copies of `model` (its own weights are not used)."""
    if name == "lstm":
        return lambda params, inputs: lstm_forward(params, inputs, model.lstm.num_layers)
    template = copy.deepcopy(model).to("meta")  # shapes and code only

    def one(params: dict[str, torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        return functional_call(template, params, (inputs,))

    return vmap(one)


def embed_tokens(weight: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Per-model embedding lookup through one flat (N * vocab, d) table: F.embedding's backward
    accumulates rows without the index_put that advanced indexing would need."""
    n_models, vocab = weight.shape[0], weight.shape[1]
    offsets = torch.arange(n_models, device=inputs.device).view(-1, *[1] * (inputs.dim() - 1))
    return nn.functional.embedding(inputs + offsets * vocab, weight.reshape(n_models * vocab, -1))


def lstm_forward(params: dict[str, torch.Tensor], inputs: torch.Tensor, n_layers: int):
    """repro.models.lstm.LSTMClassifier for N models: logits (N, batch, n_classes)."""
    n_models, batch = inputs.shape[:2]
    table = params["embed.weight.weight"]  # Embedding (N, vocab, d) or one-hot Linear (N, d, V)
    x = None
    if inputs.is_floating_point():
        vocab = table.shape[-1]
        x = torch.bmm(inputs.reshape(n_models, -1, vocab), table.transpose(1, 2))
        x = x.view(n_models, batch, -1, table.shape[1])
    for layer in range(n_layers):
        w_ih, w_hh = params[f"lstm.weight_ih_l{layer}"], params[f"lstm.weight_hh_l{layer}"]
        bias = params[f"lstm.bias_ih_l{layer}"] + params[f"lstm.bias_hh_l{layer}"]
        hidden = w_hh.shape[-1]
        if x is None and layer == 0:
            # tokens into the first layer: W_ih E[token] + b is a row of the projected table
            # E W_ih^T + b, so project the vocabulary once (99 rows for p=97) instead of
            # every position of the batch (2048 at batch 512), then look the rows up
            projected_table = torch.baddbmm(bias[:, None, :], table, w_ih.transpose(1, 2))
            projected = embed_tokens(projected_table, inputs)  # (N, batch, seq, 4 hidden)
        else:
            # input projections of every position at once; only h @ W_hh is sequential
            seq = x.shape[2]
            projected = torch.baddbmm(
                bias[:, None, :], x.reshape(n_models, batch * seq, -1), w_ih.transpose(1, 2)
            ).view(n_models, batch, seq, 4 * hidden)
        h = projected.new_zeros(n_models, batch, hidden)
        c = projected.new_zeros(n_models, batch, hidden)
        w_hh_t = w_hh.transpose(1, 2)
        outputs = []
        for projection in projected.unbind(2):  # unbind: one backward node, not one per step
            gates = torch.baddbmm(projection, h, w_hh_t)
            i, f, g, o = gates.chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        x = torch.stack(outputs, dim=2) if layer + 1 < n_layers else None
    weight, bias = params["readout.weight"], params["readout.bias"]
    return torch.baddbmm(bias[:, None, :], h, weight.transpose(1, 2))
