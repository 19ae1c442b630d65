"""What a Grokfast filter costs per training step (a benchmark, not a test).

Times one training step of the Grokfast algorithmic-task model (our 2-layer transformer, d 128,
4 heads, MLP 512, GELU; x*y mod 97, 50% split, batch 512, Adam) with no filter, with MA
(window 100, lamb 5) and with EMA (alpha 0.98, lamb 2), and prints the ratios to the plain step.
Target: ma/plain <= 1.2 (the paper's MA costs x2.4 per iteration on its GPU, Table 3).

The variants run interleaved, `--repeats` times `--steps` steps each, after a warm-up longer than
the window (so MA runs in steady state), and the median is reported: other processes on a shared
machine then slow all variants alike.

    PYTHONPATH=src .venv/bin/python bench/grokfast_filters.py --steps 30 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from repro.config import OptimizerConfig
from repro.data import build_dataset
from repro.models import build_model
from repro.optim import build_filter, build_optimizer


def filter_settings(window_size: int) -> dict[str, dict]:
    """The paper's settings for the algorithmic task (Figs. 2 and 8)."""
    return {
        "plain": {"name": "none"},
        "ma": {"name": "ma", "window_size": window_size, "lamb": 5.0},
        "ema": {"name": "ema", "alpha": 0.98, "lamb": 2.0},
    }


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--p", type=int, default=97, help="modulus (default 97)")
    parser.add_argument("--batch-size", type=int, default=512, help="(default 512)")
    parser.add_argument("--window-size", type=int, default=100, help="MA window (default 100)")
    parser.add_argument("--steps", type=int, default=30, help="steps per timed repeat (30)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per variant (5)")
    parser.add_argument("--warmup", type=int, default=None, help="(default window size + 5)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    return parser.parse_args()


class Trainer:
    """One model, optimizer and filter; `run(steps)` does that many plain training steps."""

    def __init__(self, arguments: argparse.Namespace, filter_settings: dict):
        device = torch.device(arguments.device)
        data = {"name": "modular", "p": arguments.p, "operation": "mul", "train_fraction": 0.5}
        self.dataset = build_dataset(data, seed=0)
        self.inputs = self.dataset.train.inputs.to(device)
        self.labels = self.dataset.train.labels.to(device)
        torch.manual_seed(0)
        model = {"name": "transformer", "activation": "gelu"}
        self.model = build_model(model, self.dataset).to(device)
        self.parameters = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(
            self.parameters, OptimizerConfig(name="adam", lr=1e-3, betas=(0.9, 0.98))
        )
        self.filter = build_filter(filter_settings)
        self.batch_size = arguments.batch_size
        self.generator = torch.Generator(device=device).manual_seed(0)

    def run(self, steps: int) -> None:
        for _ in range(steps):
            indices = torch.randint(
                len(self.labels),
                (self.batch_size,),
                generator=self.generator,
                device=self.labels.device,
            )
            loss = F.cross_entropy(self.model(self.inputs[indices]), self.labels[indices])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.filter.apply(self.parameters)
            self.optimizer.step()


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    arguments = parse_arguments()
    torch.set_num_threads(arguments.threads)
    warmup = arguments.warmup if arguments.warmup is not None else arguments.window_size + 5
    trainers = {
        name: Trainer(arguments, settings)
        for name, settings in filter_settings(arguments.window_size).items()
    }
    for trainer in trainers.values():
        trainer.run(warmup)
    seconds = {name: [] for name in trainers}
    for _ in range(arguments.repeats):
        for name, trainer in trainers.items():
            synchronize(arguments.device)
            start = time.perf_counter()
            trainer.run(arguments.steps)
            synchronize(arguments.device)
            seconds[name].append((time.perf_counter() - start) / arguments.steps)
    median = {name: statistics.median(times) for name, times in seconds.items()}
    parameters = sum(p.numel() for p in trainers["plain"].parameters)
    print(
        f"device {arguments.device}, {arguments.threads} thread(s), {parameters:,} parameters, "
        f"batch {arguments.batch_size}, {arguments.repeats} x {arguments.steps} steps"
    )
    for name, times in seconds.items():
        spread = f"[{min(times) * 1e3:.1f}, {max(times) * 1e3:.1f}]"
        print(f"{name:6s} {median[name] * 1e3:7.2f} ms/step  {spread}")
    for name in ("ma", "ema"):
        print(f"{name}/plain {median[name] / median['plain']:.2f}")


if __name__ == "__main__":
    main()
