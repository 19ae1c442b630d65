"""repro.models.quadratic.QuadraticNet for N models at once, token classification inputs
(batched training, repro.batched).

f(a, b) = V (Q e_a + R e_b)^2 with W = [Q R], every tensor with a leading model axis. The
forward and backward are written out (`Pairs`) because under torch.func.vmap the column lookup
becomes a gather and scatter over expanded indices, and every activation is laid out so that
the batched matmuls run at half the rate (bench/README.md). Here:
- the lookup is a row gather from W^T flattened over the models (index_select; index_add_ in
  the backward);
- the logits are computed as V h^T, (N, classes, batch): the layout in which the batched
  matmul runs fastest (1.8x h V^T's, measured here);
- the square's backward, 2 z dh, is one multiply, the 2 applied to the (small) gradient of W.
Same function as the module, evaluated in another order: float32 rounding apart
(tests/test_batched.py checks values and gradients).
"""

from __future__ import annotations

import torch


class Pairs(torch.autograd.Function):
    """Logits (N, batch, classes), a transposed view of (N, classes, batch), of V (W x)^2 for
    x = e_a + e_(p+b). rows_a, rows_b: (N * batch,) row indices into W^T flattened over the
    models (model m's rows start at m * 2p)."""

    @staticmethod
    def forward(ctx, W: torch.Tensor, V: torch.Tensor, rows_a, rows_b) -> torch.Tensor:
        n_models, hidden, width = W.shape
        table = W.transpose(1, 2).reshape(n_models * width, hidden)  # rows: (model, input)
        z = table.index_select(0, rows_a)
        z += table.index_select(0, rows_b)
        z = z.view(n_models, -1, hidden)  # (N, batch, hidden): Q e_a + R e_b
        h = z * z
        logits = torch.bmm(V, h.transpose(1, 2))  # (N, classes, batch)
        ctx.save_for_backward(V, z, h, rows_a, rows_b)
        ctx.width = width
        return logits.transpose(1, 2)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        V, z, h, rows_a, rows_b = ctx.saved_tensors
        n_models, _, hidden = z.shape
        grad_V = torch.bmm(grad.transpose(1, 2), h)
        grad_z = torch.bmm(grad, V).mul_(z).view(-1, hidden)  # dh z
        grad_table = grad.new_zeros(n_models * ctx.width, hidden)
        grad_table.index_add_(0, rows_a, grad_z).index_add_(0, rows_b, grad_z)
        grad_W = grad_table.view(n_models, ctx.width, hidden).transpose(1, 2).mul(2)
        return grad_W, grad_V, None, None


def quadratic_forward(
    params: dict[str, torch.Tensor], inputs: torch.Tensor, b_position: int
) -> torch.Tensor:
    """Logits (N, batch, p) for token inputs (N, batch, seq): a at position 0, b at
    b_position."""
    W, V = params["W"], params["V"]
    n_models, width = W.shape[0], W.shape[2]
    p = width // 2
    offsets = torch.arange(n_models, device=inputs.device)[:, None] * width
    rows_a = (inputs[:, :, 0] + offsets).reshape(-1)
    rows_b = (inputs[:, :, b_position] + (offsets + p)).reshape(-1)
    return Pairs.apply(W, V, rows_a, rows_b)
