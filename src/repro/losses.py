"""Training losses by name (`train.loss` in a run config), each per example.

A loss is `fn(outputs, labels) -> tensor of shape (N,)`: the training step takes the mean, the
evaluation sums over chunks and divides by the split size, so both report the same quantity.
`correct(outputs, labels)` gives a bool per example, or None for regression (the metrics then
log accuracy as NaN).

- cross_entropy: softmax cross-entropy over the classes (every grokking paper's default).
- cross_entropy64: the same in float64 (Nanda et al.; Furuta et al. Table A.2): near-zero
  training loss in float32 rounds the gradients and makes Adam spike ("slingshots").
- mse: squared error. Classification (int64 labels): against the one-hot target, averaged over
  the classes as torch.nn.MSELoss does (Omnigrok's and Grokfast's MNIST recipe). Regression
  (float labels, one output): (output - label)^2.
- bce: binary cross-entropy with logits (Grokfast's IMDb LSTM); one output, or two outputs read
  as the logit difference (class 1 - class 0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def real(outputs: torch.Tensor) -> torch.Tensor:
    """float32 for half precision, float64 kept (train.dtype float64: a float64 log-softmax)."""
    return outputs if outputs.dtype == torch.float64 else outputs.float()


def cross_entropy(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(real(outputs), labels, reduction="none")


def cross_entropy64(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(outputs.double(), labels, reduction="none")


def mse(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    outputs = real(outputs)
    if labels.is_floating_point():
        return (outputs.reshape(labels.shape) - labels).pow(2).reshape(len(labels), -1).mean(1)
    target = F.one_hot(labels, outputs.shape[-1]).to(outputs.dtype)
    return (outputs - target).pow(2).mean(dim=-1)


def binary_logit(outputs: torch.Tensor) -> torch.Tensor:
    outputs = real(outputs)
    if outputs.dim() == 2 and outputs.shape[-1] == 2:
        return outputs[:, 1] - outputs[:, 0]
    return outputs.reshape(len(outputs))


def bce(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(
        binary_logit(outputs), labels.float(), reduction="none"
    )


LOSSES = {
    "cross_entropy": cross_entropy,
    "cross_entropy64": cross_entropy64,
    "mse": mse,
    "bce": bce,
}


def correct(loss: str, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor | None:
    """Per-example correctness, or None when the labels are real numbers (regression)."""
    if labels.is_floating_point():
        return None
    if loss == "bce":
        return (binary_logit(outputs) > 0).long() == labels
    return outputs.argmax(dim=-1) == labels
