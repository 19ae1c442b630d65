"""repro.models.lstm.LSTMClassifier for N models at once (batched training, repro.batched).

torch has no vmap rule for aten::lstm, so the recurrence is written out over a leading model
axis, with its backward written out too (`Recurrence`): autograd over the per-step gate
arithmetic spends most of a step allocating, concatenating and launching small kernels. Same
equations as torch.nn.LSTM (gates i, f, g, o; c' = f c + i g; h' = o tanh c'), evaluated in
another order, so a run matches its solo module to float32 rounding (tests/test_batched.py).

Two rewrites that do not change the function:
- tanh x = 2 sigmoid(2x) - 1: one sigmoid kernel covers all four gates, and torch's CPU tanh
  is about 3.5x slower per element than its sigmoid (measured here, AVX2).
- For token inputs, the first layer's input projection is applied to the embedding table
  (vocab rows) rather than to every position (batch x seq rows), and the rows are gathered:
  20x fewer FLOPs for LSTM(20) on p=97 at batch 512.
"""

from __future__ import annotations

import torch

sigmoid_backward = torch.ops.aten.sigmoid_backward.grad_input  # out=: grad * y * (1 - y)
tanh_backward = torch.ops.aten.tanh_backward.grad_input  # out=: grad * (1 - y^2)


def tanh_into(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """tanh x as 2 sigmoid(2x) - 1 (see the module docstring), written into out."""
    return torch.mul(x, 2, out=out).sigmoid_().mul_(2).sub_(1)


class Recurrence(torch.autograd.Function):
    """One LSTM layer over a whole sequence for N models.

    preactivations: (seq, N, batch, 4H), x_t W_ih^T + b_ih + b_hh for every step;
    w_hh_t: (N, H, 4H), W_hh^T. Returns the hidden states (seq, N, batch, H)."""

    @staticmethod
    def forward(ctx, preactivations: torch.Tensor, w_hh_t: torch.Tensor) -> torch.Tensor:
        seq, n_models, batch, four_hidden = preactivations.shape
        hidden = four_hidden // 4
        gates = torch.empty_like(preactivations)  # sigmoid(i, f, o) and tanh(g), per step
        cells = preactivations.new_empty(seq, n_models, batch, hidden)
        tanh_cells = torch.empty_like(cells)
        states = torch.empty_like(cells)
        for t in range(seq):
            gate = gates[t]
            if t == 0:  # h_0 = c_0 = 0
                gate.copy_(preactivations[0])
            else:
                torch.baddbmm(preactivations[t], states[t - 1], w_hh_t, out=gate)
            i, f, g, o = gate.chunk(4, dim=-1)
            g.mul_(2)
            gate.sigmoid_()
            g.mul_(2).sub_(1)  # tanh of the g preactivation
            torch.mul(i, g, out=cells[t])
            if t:
                cells[t].addcmul_(f, cells[t - 1])
            tanh_into(cells[t], tanh_cells[t])
            torch.mul(o, tanh_cells[t], out=states[t])
        ctx.save_for_backward(gates, cells, tanh_cells, states, w_hh_t)
        return states

    @staticmethod
    def backward(ctx, grad_states: torch.Tensor):
        gates, cells, tanh_cells, states, w_hh_t = ctx.saved_tensors
        seq = gates.shape[0]
        grad_preactivations = torch.empty_like(gates)
        grad_w_hh_t = torch.zeros_like(w_hh_t)
        grad_cell = torch.zeros_like(cells[0])
        scratch = torch.empty_like(cells[0])
        grad_state = grad_states[-1]
        for t in reversed(range(seq)):
            i, f, g, o = gates[t].chunk(4, dim=-1)
            grad_i, grad_f, grad_g, grad_o = grad_preactivations[t].chunk(4, dim=-1)
            # h = o tanh(c)
            torch.mul(grad_state, tanh_cells[t], out=grad_o)
            sigmoid_backward(grad_o, o, grad_input=grad_o)
            torch.mul(grad_state, o, out=scratch)
            grad_cell.add_(tanh_backward(scratch, tanh_cells[t], grad_input=scratch))
            # c = f c_prev + i g
            torch.mul(grad_cell, g, out=grad_i)
            sigmoid_backward(grad_i, i, grad_input=grad_i)
            torch.mul(grad_cell, i, out=grad_g)
            tanh_backward(grad_g, g, grad_input=grad_g)
            if t == 0:
                grad_f.zero_()
                break
            torch.mul(grad_cell, cells[t - 1], out=grad_f)
            sigmoid_backward(grad_f, f, grad_input=grad_f)
            grad_cell.mul_(f)
            # gates_t = preactivation_t + h_{t-1} W_hh^T
            grad_w_hh_t += torch.bmm(states[t - 1].transpose(1, 2), grad_preactivations[t])
            grad_state = torch.baddbmm(
                grad_states[t - 1], grad_preactivations[t], w_hh_t.transpose(1, 2)
            )
        return grad_preactivations, grad_w_hh_t


class GatherRows(torch.autograd.Function):
    """table (rows, d) at int64 `index` (any shape): index_select forward, index_add_ backward
    (F.embedding's dense backward measured 1.75x slower here, deterministic mode or not)."""

    @staticmethod
    def forward(ctx, table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.rows = table.shape[0]
        return table.index_select(0, index.reshape(-1)).view(*index.shape, table.shape[1])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (index,) = ctx.saved_tensors
        grad_table = grad.new_zeros(ctx.rows, grad.shape[-1])
        grad_table.index_add_(0, index.reshape(-1), grad.reshape(-1, grad.shape[-1]))
        return grad_table, None


def lstm_forward(
    params: dict[str, torch.Tensor], inputs: torch.Tensor, n_layers: int
) -> torch.Tensor:
    """Logits (N, batch, n_classes) for tokens (N, batch, seq) or one-hot inputs
    (N, batch, seq * vocab); params named as LSTMClassifier's, stacked on a model axis."""
    n_models, batch = inputs.shape[:2]
    table = params["embed.weight.weight"]  # Embedding (N, vocab, d) or one-hot Linear (N, d, V)
    states = None  # the previous layer's hidden states, (seq, N, batch, H)
    if inputs.is_floating_point():
        vocab = table.shape[-1]
        x = torch.bmm(inputs.reshape(n_models, -1, vocab), table.transpose(1, 2))
        states = x.view(n_models, batch, -1, table.shape[1]).permute(2, 0, 1, 3)
    for layer in range(n_layers):
        w_ih, w_hh = params[f"lstm.weight_ih_l{layer}"], params[f"lstm.weight_hh_l{layer}"]
        bias = params[f"lstm.bias_ih_l{layer}"] + params[f"lstm.bias_hh_l{layer}"]
        if states is None:
            # tokens: W_ih E[token] + b is a row of the projected table E W_ih^T + b
            projected_table = torch.baddbmm(bias[:, None, :], table, w_ih.transpose(1, 2))
            vocab = table.shape[1]
            offsets = torch.arange(n_models, device=inputs.device)[:, None, None] * vocab
            rows = (inputs + offsets).permute(2, 0, 1)  # (seq, N, batch) into the flat table
            preactivations = GatherRows.apply(projected_table.flatten(0, 1), rows)
        else:
            preactivations = torch.matmul(states, w_ih.transpose(1, 2)) + bias[:, None, :]
        states = Recurrence.apply(preactivations.contiguous(), w_hh.transpose(1, 2))
    weight, bias = params["readout.weight"], params["readout.bias"]
    return torch.baddbmm(bias[:, None, :], states[-1], weight.transpose(1, 2))
