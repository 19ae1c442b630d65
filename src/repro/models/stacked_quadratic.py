"""repro.models.quadratic.QuadraticNet for N models at once, token classification inputs
(batched training, repro.batched).

f(a, b) = V (Q e_a + R e_b)^2 with W = [Q R], every tensor with a leading model axis. The
forward and backward are written out because under torch.func.vmap the column lookup becomes a
gather and scatter over expanded indices, and every activation is laid out so that the batched
matmuls run at half the rate (bench/README.md). Here:
- W^T, flattened over the models, is a table of rows (model, input): the hidden layer of an
  example is the sum of two of its rows (embedding_bag; index_add_ in the backward). The bundle
  stores W in that layout (stack_parameters: a (N, 2p, hidden) tensor seen as (N, hidden, 2p)),
  so neither W nor its gradient is transposed and copied each step;
- the logits are computed as V h^T, (N, classes, batch): the layout in which the batched
  matmul runs fastest (1.8x h V^T's, measured here);
- the square's backward, 2 z dh, is one multiply, the 2 applied to the (small) gradient of W;
- training with cross entropy (`PairsCrossEntropy`) takes the softmax's gradient in the
  forward pass, from the probabilities it computes anyway: no log-softmax backward, no copy of
  the logits into the loss's layout (13% of a bundle step, bench/README.md).
Same function as the module, evaluated in another order: float32 rounding apart
(tests/test_batched.py checks values and gradients).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def stack_parameters(modules: list[torch.nn.Module]) -> dict[str, torch.Tensor]:
    """W (N, hidden, 2p) as a view of a (N, 2p, hidden) tensor, V (N, classes, hidden): leaves
    that require grad."""
    weights = torch.stack([m.W.detach() for m in modules]).transpose(1, 2).contiguous()
    return {
        "W": weights.transpose(1, 2).requires_grad_(),
        "V": torch.stack([m.V.detach() for m in modules]).clone().requires_grad_(),
    }


def table_rows(W: torch.Tensor, inputs: torch.Tensor, b_position: int) -> torch.Tensor:
    """(N * batch, 2) rows of W^T flattened over the models for token inputs (N, batch, seq):
    a at position 0, b at b_position; model m's rows start at m * 2p."""
    n_models, width = W.shape[0], W.shape[2]
    offsets = torch.arange(n_models, device=inputs.device)[:, None] * width
    rows = (inputs[:, :, 0] + offsets, inputs[:, :, b_position] + (offsets + width // 2))
    return torch.stack(rows, dim=-1).view(-1, 2)


def hidden_sums(W: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """z = Q e_a + R e_b, (N, batch, hidden)."""
    n_models, hidden, width = W.shape
    table = W.transpose(1, 2).reshape(n_models * width, hidden)  # a view in the bundle's layout
    return F.embedding_bag(rows, table, mode="sum").view(n_models, -1, hidden)


def pair_logits(W, V, rows) -> tuple[torch.Tensor, ...]:
    """(z, h = z^2, logits (N, classes, batch) = V h^T): the forward both Functions share."""
    z = hidden_sums(W, rows)
    h = z * z
    return z, h, torch.bmm(V, h.transpose(1, 2))


def pair_gradients(grad, V, z, h, rows, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(dL/dW in the bundle's layout, dL/dV) from dL/dlogits laid out (N, classes, batch)."""
    n_models, _, hidden = z.shape
    grad_V = torch.bmm(grad, h)
    grad_z = torch.bmm(grad.transpose(1, 2), V).mul_(z).view(-1, hidden)  # dh z
    grad_table = grad_z.new_zeros(n_models * width, hidden)
    grad_table.index_add_(0, rows[:, 0], grad_z).index_add_(0, rows[:, 1], grad_z)
    return grad_table.mul_(2).view(n_models, width, hidden).transpose(1, 2), grad_V


class Pairs(torch.autograd.Function):
    """Logits (N, batch, classes), a transposed view of (N, classes, batch), of V (W x)^2 for
    x = e_a + e_(p+b)."""

    @staticmethod
    def forward(ctx, W: torch.Tensor, V: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        z, h, logits = pair_logits(W, V, rows)
        ctx.save_for_backward(V, z, h, rows)
        ctx.width = W.shape[2]
        return logits.transpose(1, 2)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        V, z, h, rows = ctx.saved_tensors
        return *pair_gradients(grad.transpose(1, 2), V, z, h, rows, ctx.width), None


class PairsCrossEntropy(torch.autograd.Function):
    """Cross-entropy losses (N, batch) of the logits V (W x)^2 against labels (N, batch)."""

    @staticmethod
    def forward(ctx, W, V, rows, labels) -> torch.Tensor:
        z, h, logits = pair_logits(W, V, rows)
        logits -= logits.amax(dim=1, keepdim=True)
        target = logits.gather(1, labels[:, None])
        probabilities = logits.exp_()
        total = probabilities.sum(dim=1, keepdim=True)
        probabilities /= total
        ctx.save_for_backward(V, z, h, rows, labels, probabilities)
        ctx.width = W.shape[2]
        return (total.log_() - target).squeeze(1)  # log sum exp - logit of the label

    @staticmethod
    def backward(ctx, grad_losses: torch.Tensor):
        V, z, h, rows, labels, probabilities = ctx.saved_tensors
        grad = probabilities * grad_losses[:, None]  # (softmax - one-hot) dL/dloss
        grad.scatter_add_(1, labels[:, None], -grad_losses[:, None])
        return *pair_gradients(grad, V, z, h, rows, ctx.width), None, None


def quadratic_forward(
    params: dict[str, torch.Tensor], inputs: torch.Tensor, b_position: int
) -> torch.Tensor:
    """Logits (N, batch, p) for token inputs (N, batch, seq)."""
    rows = table_rows(params["W"], inputs, b_position)
    return Pairs.apply(params["W"], params["V"], rows)


def quadratic_cross_entropy(
    params: dict[str, torch.Tensor], inputs: torch.Tensor, labels: torch.Tensor, b_position: int
) -> torch.Tensor:
    """Cross-entropy losses (N, batch) for token inputs (N, batch, seq), labels (N, batch)."""
    rows = table_rows(params["W"], inputs, b_position)
    return PairsCrossEntropy.apply(params["W"], params["V"], rows, labels)
