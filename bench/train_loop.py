"""Benchmark: our training loop against a plain reference loop, in steps per second.

    PYTHONPATH=src .venv/bin/python bench/train_loop.py [--steps 300] [--threads N] [--repeats 1]

Both loops train the Exploring Grokking base model (2-layer decoder-only transformer, d_model
128, 4 heads, MLP 512, ReLU, pre-LN) on a+b mod 97 with 50% of the pairs, minibatch 512, AdamW
(lr 1e-3, betas (0.9, 0.98), weight decay 1, 10-step warm-up), from the same seed, for the same
number of steps, on the same number of threads, in this one process.

- "ours" is one call of `repro.train.train` into a temporary folder. Its time includes
  everything that call does: building data and model, evaluations and the output files. By
  default it evaluates as often per step as the paper's laptop scale does over a whole run
  (60 evaluations in 8000 steps: every 133 steps). The laptop's 30 log-spaced points fall in
  the first few hundred steps, so keeping them in a 300-step window would evaluate ~10x more
  often than a real run; `--eval-log-points 30 --eval-every 30` gives that schedule anyway.
- "reference" is written here the way the grokking papers' own scripts are: a standard
  transformer whose every block and unembedding run at every position, a torch DataLoader,
  `loss.item()` and accuracy `.item()` logged every step, and a full evaluation of the train
  and validation sets under torch.no_grad() after every epoch. Its time includes building data
  and model too.

Why: the issue asks whether our loop's speed-ups (answer-position-only last block, batches
indexed from tensors, no per-step host sync, sparse evaluation under inference_mode) pay off
against what the papers did. Last line: `speedup: X.XX` = ours / reference steps per second
(> 1: ours is faster). On this shared 2-core machine, runs differ by +-15% or more.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from repro.config import ROOT, RunConfig, run_config_from_dict
from repro.data import build_dataset
from repro.schedule import evaluation_steps
from repro.train import train

BASE = ROOT / "config" / "papers" / "exploring_grokking.yaml"  # its `base:` is the setting
os.environ.setdefault("GIT_OPTIONAL_LOCKS", "0")  # provenance's `git status`: leave the index


class ReferenceBlock(nn.Module):
    """Pre-LN block: causal self-attention and an MLP, both at every position."""

    def __init__(self, d_model: int, n_heads: int, d_mlp: int):
        super().__init__()
        self.n_heads = n_heads
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, d_mlp), nn.ReLU(), nn.Linear(d_mlp, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        head = d // self.n_heads
        q, k, v = self.qkv(self.ln1(x)).view(n, t, 3, self.n_heads, head).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(head)  # (n, heads, t, t)
        future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        mixed = scores.masked_fill(future, float("-inf")).softmax(dim=-1) @ v
        x = x + self.proj(mixed.transpose(1, 2).reshape(n, t, d))
        return x + self.mlp(self.ln2(x))


class ReferenceTransformer(nn.Module):
    """Embeddings + learned positions, blocks, final LayerNorm, unembedding at every position;
    the answer's logits are the last position's."""

    def __init__(self, data, model: dict):  # model: the run config's; relu, pre-LN assumed
        super().__init__()
        d, heads, d_mlp, layers = (model[k] for k in ("d_model", "n_heads", "d_mlp", "n_layers"))
        self.embed = nn.Embedding(data.vocab_size, d)
        self.position = nn.Parameter(torch.randn(data.seq_len, d) / math.sqrt(d))
        self.blocks = nn.Sequential(*(ReferenceBlock(d, heads, d_mlp) for _ in range(layers)))
        self.ln_final = nn.LayerNorm(d)
        self.unembed = nn.Linear(d, data.n_classes, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.embed(tokens) + self.position)
        return self.unembed(self.ln_final(x))[:, -1]  # (batch, seq, classes) -> last position


@torch.no_grad()
def evaluate_reference(model: nn.Module, data) -> dict[str, tuple[float, float]]:
    """(loss, accuracy) of the whole train and validation sets, each in one forward pass."""
    model.eval()
    result = {}
    for name, split in (("train", data.train), ("val", data.val)):
        logits = model(split.inputs)
        accuracy = (logits.argmax(dim=-1) == split.labels).float().mean().item()
        result[name] = (F.cross_entropy(logits, split.labels).item(), accuracy)
    model.train()
    return result


def run_reference(config: RunConfig, steps: int) -> tuple[float, int]:
    """(seconds, evaluations) of the plain loop."""
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    data = build_dataset(config.data, config.seed)
    model = ReferenceTransformer(data, config.model)
    opt = config.optimizer
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=opt.lr, betas=opt.betas, weight_decay=opt.weight_decay
    )
    warmup = max(opt.warmup_steps, 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))
    loader = DataLoader(
        TensorDataset(data.train.inputs, data.train.labels),
        shuffle=True,
        batch_size=config.train.batch_size,
        generator=torch.Generator().manual_seed(config.seed),
    )
    losses, accuracies, history = [], [], []
    step = 0
    model.train()
    while step < steps:
        for inputs, labels in loader:  # one epoch = ceil(n_train / batch) steps
            logits = model(inputs)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            accuracies.append((logits.argmax(dim=-1) == labels).float().mean().item())
            step += 1
            if step == steps:
                break
        history.append(evaluate_reference(model, data))  # after every epoch, and at the end
    return time.perf_counter() - start, len(history)


def run_ours(config: RunConfig, threads: int, verbose: bool, clock=time.perf_counter) -> float:
    """Seconds of one repro.train.train call (its log lines go to stderr only with --verbose),
    wall time by default; clock=time.process_time gives this process's CPU time."""
    return run_ours_timed(config, threads, verbose, clock)[0]


def run_ours_timed(
    config: RunConfig, threads: int, verbose: bool, clock=time.perf_counter
) -> tuple[float, float]:
    """(run_ours's seconds, the training loop's own wall seconds from provenance.json:
    evaluations included, set-up and output files not)."""
    deterministic = torch.are_deterministic_algorithms_enabled()  # train() turns it on for CPU
    log = contextlib.nullcontext() if verbose else contextlib.redirect_stderr(io.StringIO())
    with tempfile.TemporaryDirectory() as outdir, log:
        start = clock()
        train(config, outdir, threads=threads, progress=False)
        seconds = clock() - start
        loop_seconds = json.loads((Path(outdir) / "provenance.json").read_text())["wall_time_s"]
    torch.use_deterministic_algorithms(deterministic)  # the reference runs with torch's default
    return seconds, loop_seconds


def laptop_eval_every(paper: dict) -> int:
    """Steps per evaluation, averaged over a whole run at the paper's laptop scale."""
    laptop = {**paper["base"]["train"], **paper["scales"]["laptop"]["train"]}
    steps = laptop["steps"]
    points = evaluation_steps(steps, laptop["eval_every"], laptop["eval_log_points"])
    return round(steps / len(points))


def ours_config(base: dict, steps: int, eval_every: int, eval_log_points: int) -> RunConfig:
    raw = copy.deepcopy(base)
    raw.update(paper="bench", experiment="train_loop", run_id=f"steps={steps}")
    raw["train"] = {
        "steps": steps,
        "batch_size": base["train"]["batch_size"],
        "device": "cpu",
        "eval_every": eval_every,
        "eval_log_points": eval_log_points,
        "checkpoint_every": 0,
    }
    return run_config_from_dict(raw, where="bench/train_loop.py")


def listing(rates: list[float]) -> str:
    return ", ".join(f"{rate:.2f}" for rate in rates)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="timed steps per loop (300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps per loop first (20)")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of each; medians (1)")
    threads = torch.get_num_threads()
    parser.add_argument("--threads", type=int, default=threads, help=f"for both loops ({threads})")
    parser.add_argument("--eval-every", type=int, help="ours (default: laptop's average, 133)")
    parser.add_argument("--eval-log-points", type=int, default=0, help="ours: log-spaced (0)")
    parser.add_argument("--verbose", action="store_true", help="show our loop's log lines")
    args = parser.parse_args(argv)
    if min(args.steps, args.warmup, args.repeats, args.threads) < 1:
        parser.error("--steps, --warmup, --repeats and --threads must be >= 1")
    torch.set_num_threads(args.threads)

    paper = yaml.safe_load(BASE.read_text())
    schedule = (args.eval_every or laptop_eval_every(paper), args.eval_log_points)
    config = ours_config(paper["base"], args.steps, *schedule)
    warmup = ours_config(paper["base"], args.warmup, *schedule)
    data, m, cfg = build_dataset(config.data, config.seed), config.model, config.train
    print(
        f"model: transformer, {m['n_layers']} layers, d_model {m['d_model']}, {m['n_heads']} "
        f"heads, d_mlp {m['d_mlp']}; data: p={config.data['p']} {config.data['operation']}, "
        f"{len(data.train)} train / {len(data.val)} val; batch {cfg.batch_size}; seed {config.seed}"
    )
    print(
        f"steps {args.steps} (+{args.warmup} warm-up), repeats {args.repeats}, "
        f"threads {torch.get_num_threads()}, torch {torch.__version__}"
    )

    run_reference(warmup, args.warmup)  # one-time costs: allocator, oneDNN/MKL set-up, imports
    run_ours(warmup, args.threads, args.verbose)
    reference_rates, our_rates = [], []
    for _ in range(args.repeats):
        seconds, reference_evals = run_reference(config, args.steps)
        reference_rates.append(args.steps / seconds)  # steps per second
        our_rates.append(args.steps / run_ours(config, args.threads, args.verbose))
    reference, ours = statistics.median(reference_rates), statistics.median(our_rates)
    epoch = math.ceil(len(data.train) / cfg.batch_size)  # steps
    our_evals = len(evaluation_steps(args.steps, cfg.eval_every, cfg.eval_log_points))
    log_spaced = f" + {cfg.eval_log_points} log-spaced" if cfg.eval_log_points else ""
    print(
        f"reference: {reference:6.2f} steps/s (runs: {listing(reference_rates)}; "
        f"{reference_evals} evaluations, one per epoch of {epoch} steps)"
    )
    print(
        f"ours:      {ours:6.2f} steps/s (runs: {listing(our_rates)}; {our_evals} evaluations, "
        f"every {cfg.eval_every} steps{log_spaced})"
    )
    print(f"speedup: {ours / reference:.2f}")


if __name__ == "__main__":
    main()
