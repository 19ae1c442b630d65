"""Benchmark: one full-batch GD step of the regression task of "Why Do You Grok?" (not a test).

    PYTHONPATH=src .venv/bin/python bench/quadratic_regression.py [--p 47] [--repeats 20]

The same quadratic net, data (n = 2 p^2.25 triples) and square loss, forward + backward, three
ways: `naive` computes f(a, b) = V (W [e_a; e_b])^2 with one-hot matmuls for every triple and
then picks e_c^T f; `per example` computes only g = sum_k V_ck (Q_ka + R_kb)^2 per triple (gathers);
`unique pairs` (the model's own path, repro.models.quadratic) computes f once per distinct (a, b)
pair of the batch and indexes c afterwards. One thread. Last line: the ratios to naive.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from repro.data import build_dataset
from repro.models.quadratic import QuadraticNet


def naive(model, triples):
    p = model.p
    onehot = torch.cat([F.one_hot(triples[:, 0], p), F.one_hot(triples[:, 1], p)], 1)
    f = (onehot.to(model.W.dtype) @ model.W.T).pow(2) @ model.V.T
    return f.gather(1, triples[:, 2:3]).squeeze(1)


def per_example(model, triples):
    a, b, c = triples.unbind(1)
    hidden = (model.W[:, a] + model.W[:, model.p + b]).T.pow(2)
    return (hidden * model.V[c]).sum(-1)


def time_step(forward, model, triples, labels, repeats: int) -> float:
    """Median seconds of one forward + backward."""
    times = []
    for _ in range(repeats + 3):
        start = time.perf_counter()
        model.zero_grad(set_to_none=True)
        (forward(model, triples) - labels).pow(2).mean().backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times[3:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p", type=int, default=47)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = build_dataset({"name": "modular_regression", "p": args.p}, seed=0)
    torch.manual_seed(0)
    model = QuadraticNet(args.p, 3, args.p, onehot=False, hidden=4 * args.p)
    triples, labels = data.train.inputs, data.train.labels
    ways = {"naive": naive, "per example": per_example, "unique pairs": lambda m, x: m(x)}
    seconds = {
        name: time_step(forward, model, triples, labels, args.repeats)
        for name, forward in ways.items()
    }
    for name, value in seconds.items():
        print(f"{name}: {value * 1e3:.1f} ms/step (p={args.p}, n={len(triples)})")
    print(
        "speedup over naive: "
        + ", ".join(f"{name} {seconds['naive'] / value:.2f}x" for name, value in seconds.items())
    )


if __name__ == "__main__":
    main()
