"""Several modular operations learned by one model (Furuta et al.'s multi-task and mixture runs).

Each operation i gets its own operation token: the sequence is [a, op_i, b, =] with op_i = p + i
and "=" = p + n_ops, so the vocabulary is p + n_ops + 1 and the answers are the p numbers. Every
operation is split on its own with the same train fraction r (the paper's "r per task"), so each
task has round(r * p^2) training pairs; train and validation sets are the union over tasks,
in task order. Per-task accuracy is the `task_accuracy` measure (repro.measures.fourier).
"""

from __future__ import annotations

import torch

from repro.config import ConfigError
from repro.data import modular


def check(p: int, operations: list[str], train_fraction: float, **_) -> None:
    if not operations:
        raise ConfigError("data.operations: give at least one operation")
    if len(set(operations)) != len(operations):
        raise ConfigError(f"data.operations: {operations} repeats an operation")
    for operation in operations:
        modular.check(p, operation, train_fraction)


def build(
    p: int, operations: list[str], train_fraction: float, split_seed: int = 0
) -> modular.Dataset:
    check(p, operations, train_fraction)
    generator = torch.Generator().manual_seed(split_seed)
    equals = p + len(operations)
    parts = {"train": ([], []), "val": ([], [])}
    for index, operation in enumerate(operations):
        a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).unbind(1)
        labels, valid = modular.evaluate(operation, a, b, p)
        a, b, labels = a[valid], b[valid], labels[valid]
        inputs = torch.stack(
            [a, torch.full_like(a, p + index), b, torch.full_like(a, equals)], dim=1
        )
        order = torch.randperm(len(labels), generator=generator)
        n_train = round(train_fraction * len(labels))
        if not 0 < n_train < len(labels):
            raise ConfigError(f"data.train_fraction: {train_fraction} leaves an empty split")
        for name, chosen in (("train", order[:n_train]), ("val", order[n_train:])):
            parts[name][0].append(inputs[chosen])
            parts[name][1].append(labels[chosen])
    train, val = (
        modular.Split(torch.cat(parts[name][0]), torch.cat(parts[name][1]))
        for name in ("train", "val")
    )
    return modular.Dataset(
        train=train, val=val, n_classes=p, vocab_size=p + len(operations) + 1, seq_len=4
    )
