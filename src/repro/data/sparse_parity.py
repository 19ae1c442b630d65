"""Sparse parity of Grokking Tickets Fig 2e: the (n, k)-parity of Barak et al. 2022 and
Merrill et al. 2023 ("A Tale of Two Circuits"): x uniform in {-1, +1}^n, the label is the parity
of k fixed coordinates S, 1 when an odd number of them are -1 (equivalently prod_{i in S} x_i =
-1), else 0: a two-class problem for the cross-entropy loss.

The paper does not give its configuration [U]; config/papers/tickets.yaml records ours (Merrill
et al.'s n = 40, k = 3, 1,000 training points). S is a seeded random k-subset of the n
coordinates; the training and validation points are independent uniform draws (with n = 40 the
2^40 inputs make a repeat between the two negligible). One torch.Generator seeded with the split
seed draws S, then the training inputs, then the validation inputs: deterministic per seed.
Inputs are float32 (n_samples, n_bits) vectors of +-1 (seq_len 1, vocab_size n_bits), labels
int64.
"""

from __future__ import annotations

import torch

from repro.config import ConfigError
from repro.data.modular import Dataset, Split


def check(n_bits: int = 40, parity_bits: int = 3, n_train: int = 1000, n_val: int = 1000, **_):
    for key, value in (("n_bits", n_bits), ("n_train", n_train), ("n_val", n_val)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"data.{key}: {value!r} must be a positive integer")
    if not isinstance(parity_bits, int) or not 1 <= parity_bits <= n_bits:
        raise ConfigError(f"data.parity_bits: {parity_bits!r} is outside [1, n_bits = {n_bits}]")


def parity(inputs: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """1 where an odd number of the support coordinates are -1, else 0 (int64)."""
    return ((inputs[:, support] < 0).sum(dim=1) % 2).long()


def support_of(n_bits: int, parity_bits: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randperm(n_bits, generator=generator)[:parity_bits].sort().values


def build(
    n_bits: int = 40,
    parity_bits: int = 3,
    n_train: int = 1000,
    n_val: int = 1000,
    split_seed: int = 0,
) -> Dataset:
    check(n_bits, parity_bits, n_train, n_val)
    generator = torch.Generator().manual_seed(split_seed)
    support = support_of(n_bits, parity_bits, generator)
    bits = torch.randint(0, 2, (n_train + n_val, n_bits), generator=generator)
    inputs = (1 - 2 * bits).float()  # {0, 1} -> {+1, -1}
    labels = parity(inputs, support)
    return Dataset(
        train=Split(inputs[:n_train], labels[:n_train]),
        val=Split(inputs[n_train:], labels[n_train:]),
        n_classes=2,
        vocab_size=n_bits,
        seq_len=1,
    )
