"""repro.models.quadratic.QuadraticNet for N models at once, token classification inputs
(batched training, repro.batched).

f(a, b) = V (Q e_a + R e_b)^2 with W = [Q R], every tensor with a leading model axis. The
forward and backward are written out because under torch.func.vmap the column lookup becomes a
gather and scatter over expanded indices, and every activation is laid out so that the batched
matmuls run at half the rate (bench/README.md). Here:
- W^T, flattened over the models, is a table of rows (model, input): the hidden layer of an
  example is the square of the sum of two of its rows, and W's gradient 2 z dh added into both,
  each one compiled pass on the CPU (repro.models.pair_kernels; torch operations elsewhere).
  The bundle stores W in that layout (stack_parameters: a (N, 2p, hidden) tensor seen as
  (N, hidden, 2p)), so neither W nor its gradient is transposed and copied each step;
- the logits are computed as V h^T, (N, classes, batch): the layout in which the batched
  matmul runs fastest (1.8x h V^T's, measured here);
- training with cross entropy (`PairsCrossEntropy`) keeps the exponentials and their sums
  that the loss computes anyway, so the softmax's gradient is one multiply in the backward: no
  log-softmax backward, no copy of the logits into the loss's layout (13% of a bundle step,
  bench/README.md).
Same function as the module, evaluated in another order: float32 rounding apart
(tests/test_batched.py checks values and gradients).
"""

from __future__ import annotations

import torch


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


def table(W: torch.Tensor) -> torch.Tensor:
    """W^T flattened over the models, (N * 2p, hidden): a view in the bundle's layout."""
    n_models, hidden, width = W.shape
    return W.transpose(1, 2).reshape(n_models * width, hidden)


def pair_logits(W, V, rows) -> tuple[torch.Tensor, torch.Tensor]:
    """(h = (Q e_a + R e_b)^2 (N, batch, hidden), logits (N, classes, batch) = V h^T): the
    forward both Functions share. h by one compiled pass on the CPU (repro.models.pair_kernels:
    z is not kept, the backward recomputes it from W)."""
    from repro.models import pair_kernels  # imports numba: only where a bundle trains

    h = pair_kernels.squared_sums(table(W), rows).view(W.shape[0], -1, W.shape[1])
    return h, torch.bmm(V, h.transpose(1, 2))


def pair_gradients(grad, W, V, h, rows) -> tuple[torch.Tensor, torch.Tensor]:
    """(dL/dW in the bundle's layout, dL/dV) from dL/dlogits laid out (N, classes, batch).
    dL/dh is written over h, which is not needed after dL/dV: half the activation memory, so
    two bundles side by side keep more of theirs in cache. (A second backward through the same
    graph would find h modified, and autograd raises an error then.)"""
    from repro.models import pair_kernels

    n_models, hidden, width = W.shape
    grad_V = torch.bmm(grad, h)
    grad_h = torch.bmm(grad.transpose(1, 2), V, out=h).view(-1, hidden)
    grad_table = pair_kernels.table_gradient(table(W), rows, grad_h)
    return grad_table.view(n_models, width, hidden).transpose(1, 2), grad_V


class Pairs(torch.autograd.Function):
    """Logits (N, batch, classes), a transposed view of (N, classes, batch), of V (W x)^2 for
    x = e_a + e_(p+b)."""

    @staticmethod
    def forward(ctx, W: torch.Tensor, V: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        h, logits = pair_logits(W, V, rows)
        ctx.save_for_backward(W, V, h, rows)
        return logits.transpose(1, 2)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        W, V, h, rows = ctx.saved_tensors
        return *pair_gradients(grad.transpose(1, 2), W, V, h, rows), None


class PairsCrossEntropy(torch.autograd.Function):
    """Cross-entropy losses (N, batch) of the logits V (W x)^2 against labels (N, batch)."""

    @staticmethod
    def forward(ctx, W, V, rows, labels) -> torch.Tensor:
        h, logits = pair_logits(W, V, rows)
        logits -= logits.amax(dim=1, keepdim=True)
        target = logits.gather(1, labels[:, None])
        exponentials = logits.exp_()
        total = exponentials.sum(dim=1, keepdim=True)
        ctx.save_for_backward(W, V, h, rows, labels, exponentials, total)
        return (total.log() - target).squeeze(1)  # log sum exp - logit of the label

    @staticmethod
    def backward(ctx, grad_losses: torch.Tensor):
        W, V, h, rows, labels, exponentials, total = ctx.saved_tensors
        grad = exponentials.mul_(grad_losses[:, None] / total)  # (softmax - one-hot) dL/dloss
        grad.scatter_add_(1, labels[:, None], -grad_losses[:, None])
        return *pair_gradients(grad, W, V, h, rows), None, None


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
