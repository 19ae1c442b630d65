"""The regression task of "Why Do You Grok?" (Mohamadi et al. 2024, section 2): for every triple
(a, b, c) in Z_p^3, the label is y = p * 1(a + b = c mod p); the model predicts
g = e_c^T f(a, b) and is trained with the square loss. There are N = p^3 possible points; the
training set is n = round(n_factor * p^n_exponent) of them (the paper: 2 p^2.25), drawn uniformly
WITHOUT replacement (the paper does not say [U]; duplicates would only reweight the loss).

Inputs are int64 tokens [a, b, c] (seq_len 3), labels float32. The validation set is the rest of
the p^3 triples, or a uniform subset of n_val of them when given (evaluation cost at large p).
With only one positive triple per (a, b) pair, accuracy is read per pair, not per triple: see
repro.measures.why_grok.pair_accuracy.
"""

from __future__ import annotations

import torch

from repro.config import ConfigError
from repro.data.modular import Dataset, Split, is_prime


def training_size(p: int, n_factor: float, n_exponent: float) -> int:
    return round(n_factor * p**n_exponent)


def check(
    p: int, n_factor: float = 2.0, n_exponent: float = 2.25, n_val: int | None = None, **_
) -> None:
    if not is_prime(p):
        raise ConfigError(f"data.p: {p} is not prime; modular arithmetic tasks need a prime p")
    n = training_size(p, n_factor, n_exponent)
    if not 0 < n < p**3:
        raise ConfigError(
            f"data.n_factor: {n_factor} * p^{n_exponent} = {n} training triples is outside "
            f"(0, p^3 = {p**3})"
        )
    if n_val is not None and not 0 < n_val <= p**3 - n:
        raise ConfigError(f"data.n_val: {n_val} is outside [1, p^3 - n = {p**3 - n}]")


def build(
    p: int,
    n_factor: float = 2.0,
    n_exponent: float = 2.25,
    n_val: int | None = None,
    split_seed: int = 0,
) -> Dataset:
    check(p, n_factor, n_exponent, n_val)
    n = training_size(p, n_factor, n_exponent)
    generator = torch.Generator().manual_seed(split_seed)
    order = torch.randperm(p**3, generator=generator)
    triples = torch.stack([order // (p * p), (order // p) % p, order % p], dim=1)
    labels = ((triples[:, 0] + triples[:, 1]) % p == triples[:, 2]).float() * p
    end = n + (n_val if n_val is not None else p**3 - n)
    return Dataset(
        train=Split(triples[:n], labels[:n]),
        val=Split(triples[n:end], labels[n:end]),
        n_classes=p,
        vocab_size=p,
        seq_len=3,
    )
