"""Which torch implementation of Adam/AdamW to use on this CPU (a benchmark, not a test).

Times `optimizer.step()` alone (the gradients are fixed random tensors, so only the update is
measured) for the parameter sets of the models the papers train: the grokking transformer (2
layers, d 128: 422k parameters in 26 tensors), the MNIST MLP (784-200-200-10), LSTM(20) on
a+b mod 97 and the quadratic network (p 31, width 124). Each implementation of torch.optim:
single-tensor (foreach=False), foreach (multi-tensor kernels; torch's default on CUDA) and fused
(one kernel; CPU supported since torch 2.4). The implementations run interleaved, `--repeats`
times, and the median microseconds per step is reported, with the ratio to foreach.

    PYTHONPATH=src .venv/bin/python bench/optimizer_impl.py --repeats 5 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from repro.data import build_dataset
from repro.models import build_model

MODELS = {
    "transformer": (
        {"name": "modular", "p": 97, "operation": "add", "train_fraction": 0.5},
        {"name": "transformer", "n_layers": 2, "d_model": 128, "n_heads": 4, "d_mlp": 512},
    ),
    "mnist_mlp": (
        {"name": "mnist", "source": "synthetic", "n_train": 200, "n_val": 10},
        {"name": "mlp", "hidden": 200, "n_layers": 2},
    ),
    "lstm20": (
        {"name": "modular", "p": 97, "operation": "add", "train_fraction": 0.5},
        {"name": "lstm", "hidden": 20, "d_embed": 128},
    ),
    "quadratic": (
        {
            "name": "modular",
            "p": 31,
            "operation": "add",
            "train_fraction": 0.5,
            "encoding": "onehot",
        },
        {"name": "quadratic", "hidden": 124},
    ),
}
IMPLEMENTATIONS = {
    "single": {"foreach": False},
    "foreach": {"foreach": True},
    "fused": {"fused": True},
}


def time_steps(optimizer: torch.optim.Optimizer, steps: int) -> float:
    """Microseconds per optimizer step."""
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.step()
    return (time.perf_counter() - start) / steps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="steps per timed repeat (200)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (5)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    best = {}
    for model_name, (data, model_config) in MODELS.items():
        torch.manual_seed(0)
        model = build_model(model_config, build_dataset(data, seed=0))
        n_parameters = sum(p.numel() for p in model.parameters())
        for optimizer_name, cls in (("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)):
            optimizers = {}
            for implementation, flags in IMPLEMENTATIONS.items():
                parameters = [p.detach().clone().requires_grad_() for p in model.parameters()]
                for parameter in parameters:
                    parameter.grad = torch.randn_like(parameter)
                optimizer = cls(parameters, lr=1e-3, weight_decay=0.1, **flags)
                time_steps(optimizer, 5)  # creates the state
                optimizers[implementation] = optimizer
            times = {name: [] for name in optimizers}
            for _ in range(arguments.repeats):
                for name, optimizer in optimizers.items():
                    times[name].append(time_steps(optimizer, arguments.steps))
            medians = {name: statistics.median(values) for name, values in times.items()}
            cells = ", ".join(
                f"{name} {value:.0f} us ({value / medians['foreach']:.2f})"
                for name, value in medians.items()
            )
            print(f"{model_name} ({n_parameters:,} parameters) {optimizer_name}: {cells}")
            best[f"{model_name}/{optimizer_name}"] = min(medians, key=medians.get)
    print("fastest: " + ", ".join(f"{key} {name}" for key, name in best.items()))


if __name__ == "__main__":
    main()
