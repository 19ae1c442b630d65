"""Modular arithmetic classification with a training set whose size is a power of p:
n = round(n_factor * p^n_exponent) pairs (the classification task of "Why Do You Grok?", section
4 and App. A.2: n = 2 p^(5/3)), the rest of the p^2 pairs for validation.

The same task, encodings and split as repro.data.modular (this module only turns n into that
module's train_fraction = n / N, which round(train_fraction * N) maps back to n exactly), so a
sweep over p keeps the paper's n(p) without listing a fraction per p.
"""

from __future__ import annotations

import torch

from repro.config import ConfigError
from repro.data import modular
from repro.data.modular import Dataset


def training_size(p: int, n_factor: float, n_exponent: float) -> int:
    return round(n_factor * p**n_exponent)


def _fraction(p: int, operation: str, n_factor: float, n_exponent: float, b_min: int) -> float:
    n = training_size(p, n_factor, n_exponent)
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(b_min, p)).unbind(1)
    total = int(modular.evaluate(operation, a, b, p)[1].sum())  # valid pairs (b != 0 for a/b)
    if not 0 < n < total:
        raise ConfigError(
            f"data.n_factor: {n_factor} * p^{n_exponent} = {n} training pairs is outside "
            f"(0, {total}) for p = {p}"
        )
    return n / total


def check(
    p: int,
    operation: str = "add",
    n_factor: float = 2.0,
    n_exponent: float = 5 / 3,
    encoding: str = "tokens",
    b_min: int = 0,
    **_,
) -> None:
    modular.check(p, operation, 0.5, encoding, b_min)
    _fraction(p, operation, n_factor, n_exponent, b_min)


def build(
    p: int,
    operation: str = "add",
    n_factor: float = 2.0,
    n_exponent: float = 5 / 3,
    encoding: str = "tokens",
    b_min: int = 0,
    split_seed: int = 0,
) -> Dataset:
    check(p, operation, n_factor, n_exponent, encoding, b_min)
    fraction = _fraction(p, operation, n_factor, n_exponent, b_min)
    dataset = modular.build(p, operation, fraction, encoding, b_min, split_seed)
    assert len(dataset.train) == training_size(p, n_factor, n_exponent)
    return dataset
