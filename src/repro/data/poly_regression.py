"""Polynomial regression of Grokking Tickets Fig 2d (the official `transfer` branch's
PolynomialDataSet, after Kumar et al.'s lazy-to-rich grokking task): y = (x . beta)^2 / 2 with
x ~ N(0, I / d) and beta ~ N(0, I), d = 40, 100 training and 100 test points.

The official code draws the training inputs after torch.manual_seed(0) and the test inputs and
beta after torch.manual_seed(1); here one torch.Generator seeded with the split seed draws beta,
then the training inputs, then the test inputs (another draw of the same distribution,
deterministic per seed). Inputs are float32 (n, d) feature vectors (seq_len 1, vocab_size d, as
MNIST's pixels), labels float32 scalars: train.loss mse treats float labels as regression
targets, (output - y)^2, and the metrics log accuracy as NaN.
"""

from __future__ import annotations

import torch

from repro.config import ConfigError
from repro.data.modular import Dataset, Split


def check(dim: int = 40, n_train: int = 100, n_val: int = 100, **_) -> None:
    for key, value in (("dim", dim), ("n_train", n_train), ("n_val", n_val)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"data.{key}: {value!r} must be a positive integer")


def target(inputs: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """y = (x . beta)^2 / 2 per row of inputs."""
    return (inputs @ beta) ** 2 / 2


def build(dim: int = 40, n_train: int = 100, n_val: int = 100, split_seed: int = 0) -> Dataset:
    check(dim, n_train, n_val)
    generator = torch.Generator().manual_seed(split_seed)
    beta = torch.randn(dim, generator=generator)
    inputs = torch.randn(n_train + n_val, dim, generator=generator) / dim**0.5
    labels = target(inputs, beta)
    return Dataset(
        train=Split(inputs[:n_train], labels[:n_train]),
        val=Split(inputs[n_train:], labels[n_train:]),
        n_classes=1,  # one real output
        vocab_size=dim,
        seq_len=1,
    )
