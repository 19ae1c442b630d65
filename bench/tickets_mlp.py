"""Benchmark: the Grokking Tickets MLP's one-hot embedding, column lookup against the dense
one-hot matmul, and where a laptop run's time goes.

    PYTHONPATH=src .venv/bin/python bench/tickets_mlp.py [--steps 1000] [--repeats 2] [--threads 1]
        [--experiment base_mlp]

The run is the laptop scale's `base_mlp` (p=67, 911 training examples full batch, d_embed 500,
hidden 48, AdamW, evaluations every eval_every steps with the weight_norms and fourier_entropy
measures), cut to --steps steps and with no weight snapshots; --experiment picks another of the
paper's base runs (base_transformer; base_mnist, which has no one-hot embedding: both paths are
the same there). Each repeat runs `repro.train.train` with the lookup (the model's path) and
with the dense matmul (the old path, forced by making `repro.models.tickets.onehot_indices`
answer None), in alternating order, in this one process; then times --micro forward + backward
passes of each alone (no optimizer).

Per run it splits the wall time into: set-up and outputs, evaluations (the two forward passes
over the splits, and inside them each measure), and training steps (the rest of the step loop).
On a shared machine absolute times drift with the load: compare the ratios of runs that ran
side by side. Last line: `speedup: steps X.XX, run X.XX, fwd+bwd X.XX` (dense / lookup time).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import statistics
import tempfile
import time
from collections import defaultdict

import torch

from repro import train as train_module
from repro.data import build_dataset
from repro.losses import LOSSES
from repro.measures import MEASURES
from repro.models import build_model, tickets
from repro.plan import find_run
from repro.schedule import evaluation_steps

os.environ.setdefault("GIT_OPTIONAL_LOCKS", "0")  # provenance's `git status`: leave the index


def laptop_config(steps: int, experiment: str = "base_mlp"):
    config = find_run("tickets", "laptop", experiment, "seed=0")
    train = dataclasses.replace(config.train, steps=steps, save_weights_at=())
    return dataclasses.replace(config, train=train)


@contextlib.contextmanager
def path(name: str):
    """name "dense": the old one-hot matmul; "lookup": the model as it is."""
    original = tickets.onehot_indices
    if name == "dense":
        tickets.onehot_indices = lambda x: None
    try:
        yield
    finally:
        tickets.onehot_indices = original


@contextlib.contextmanager
def timed_evaluations(times: dict[str, float]):
    """Wrap train.evaluate and every measure with timers that add into `times` (seconds)."""
    evaluate, measures = train_module.evaluate, dict(MEASURES)

    def timer(key, fn):
        def wrapped(*args, **kwargs):
            start = time.perf_counter()
            times.setdefault(f"first start {key}", start)
            try:
                return fn(*args, **kwargs)
            finally:
                times[f"last end {key}"] = time.perf_counter()
                times[key] += times[f"last end {key}"] - start

        return wrapped

    train_module.evaluate = timer("evaluate", evaluate)
    for name, fn in measures.items():
        MEASURES[name] = timer(f"measure {name}", fn)
    try:
        yield
    finally:
        train_module.evaluate = evaluate
        MEASURES.update(measures)


def one_run(config, threads: int) -> dict[str, float]:
    times: dict[str, float] = defaultdict(float)
    with tempfile.TemporaryDirectory() as outdir, timed_evaluations(times):
        start = time.perf_counter()
        train_module.train(config, outdir, threads=threads, progress=False)
        times["run"] = time.perf_counter() - start
    loop = times["last end evaluate"] - times["first start evaluate"]  # the first and last
    times["set-up and outputs"] = times["run"] - loop  # evaluations bracket the step loop
    times["steps"] = loop - times["evaluate"]
    return times


def fwd_bwd_seconds(config, repeats: int) -> float:
    dataset = build_dataset(config.data, config.seed)
    torch.manual_seed(config.seed)
    model = build_model(config.model, dataset)
    inputs, labels = dataset.train.inputs, dataset.train.labels
    start = time.perf_counter()
    for _ in range(repeats):
        model.zero_grad(set_to_none=True)
        LOSSES[config.train.loss](model(inputs), labels).mean().backward()
    return (time.perf_counter() - start) / repeats


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000, help="training steps per run (1000)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each path; medians (2)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    parser.add_argument("--micro", type=int, default=200, help="fwd+bwd passes per repeat (200)")
    parser.add_argument("--experiment", default="base_mlp", help="a base run of tickets")
    args = parser.parse_args(argv)
    config = laptop_config(args.steps, args.experiment)
    n_evals = len(set(evaluation_steps(args.steps, config.train.eval_every, 0)) | {0})
    print(
        f"tickets {args.experiment}, laptop: {config.data}, model {config.model}, "
        f"{args.steps} steps, eval_every {config.train.eval_every} ({n_evals} evaluations), "
        f"measures {list(config.train.measures)}, {args.threads} thread(s)"
    )
    runs: dict[str, list[dict]] = {"lookup": [], "dense": []}
    micro: dict[str, list[float]] = {"lookup": [], "dense": []}
    torch.set_num_threads(args.threads)
    for repeat in range(args.repeats):
        order = ["lookup", "dense"] if repeat % 2 == 0 else ["dense", "lookup"]
        for name in order:
            with path(name):
                runs[name].append(one_run(config, args.threads))
                micro[name].append(fwd_bwd_seconds(config, args.micro))
            r = runs[name][-1]
            measures = ", ".join(
                f"{key[8:]} {value:.3f} s" for key, value in r.items() if key.startswith("measure ")
            )
            print(
                f"repeat {repeat} {name:6s}: run {r['run']:.1f} s = set-up and outputs "
                f"{r['set-up and outputs']:.1f} s + steps {r['steps']:.1f} s "
                f"({args.steps / r['steps']:.1f} steps/s) + evaluations {r['evaluate']:.2f} s "
                f"(of which measures: {measures}); fwd+bwd {micro[name][-1] * 1e3:.2f} ms"
            )

    def median(name, key):
        return statistics.median(r[key] for r in runs[name])

    for name in runs:
        loop = median(name, "steps") + median(name, "evaluate")
        print(
            f"{name}: {args.steps / median(name, 'steps'):.1f} steps/s; of the step loop, "
            f"evaluations {median(name, 'evaluate') / loop:.1%} (measures "
            f"{sum(median(name, k) for k in runs[name][0] if k.startswith('measure ')) / loop:.1%})"
        )
    steps = median("dense", "steps") / median("lookup", "steps")
    whole = median("dense", "run") / median("lookup", "run")
    fwd_bwd = statistics.median(micro["dense"]) / statistics.median(micro["lookup"])
    print(f"speedup: steps {steps:.2f}, run {whole:.2f}, fwd+bwd {fwd_bwd:.2f}")


if __name__ == "__main__":
    main()
