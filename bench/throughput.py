"""Training throughput of the pipeline, in one run on one machine (a benchmark, not a test).

    PYTHONPATH=src .venv/bin/python bench/throughput.py            # about 25 minutes here
    PYTHONPATH=src .venv/bin/python bench/throughput.py --quick    # about 3 minutes
    PYTHONPATH=src .venv/bin/python bench/throughput.py --only loop  # the matmul and loop lines

1. matmul: fp32 torch.matmul of two n x n matrices (n 2048, --quick 1024) on this process's
   threads, in GFLOP/s: the machine's reference rate, measured in this run.
2. loop: the grokking transformer (Exploring Grokking's base: 2 layers, d_model 128, 4 heads,
   MLP 512; a+b mod 97, 50%; batch 512; AdamW) trained by a loop written the way the papers'
   scripts are written (bench/train_loop.py's reference: every position through every block, a
   DataLoader, .item() every step, an evaluation every epoch) against ours (repro.train.train),
   steps per second, same threads, medians of --repeats (3); both rates include set-up,
   evaluations and (ours) the output files, as train_loop.py does. And our achieved GFLOP/s,
   against the matmul rate: the matmul FLOPs our loop does (counted by torch.utils.
   flop_counter: one training step's times the steps, plus one evaluation's times the
   evaluations in the loop) over the loop's seconds (provenance wall time: steps and
   evaluations; issue 4's target), over the same seconds counting the training steps' FLOPs
   alone (a lower bound: time without its work), and end to end (set-up and output files).
3. batched: for the MNIST MLP (784-200-200-10, batch 200, 1000 synthetic examples), LSTM(20)
   (Exploring Grokking's: d_embed 128, a+b mod 97 tokens, batch 512) and the quadratic network
   (p 31, width 124, token inputs, full batch), model-steps/s (runs x steps / seconds) of
   - 16 separate `python -m repro train` processes (seeds 0-15, AdamW), 1 thread each, two at
     a time (both cores busy): the baseline;
   - one bundle of those 16 runs (repro.batched.train_bundle) in this process, on
     --bundle-threads threads (default 2), once;
   - two bundles of 16 (seeds 0-15 and 16-31) in two processes side by side, 1 thread each:
     how `snakemake --cores 2` runs bundle jobs (threads_per_run 1). Its ratio is the summary's.
   The separate processes and the side-by-side bundles are measured in turn --batched-repeats
   times (3; --quick 1), and the ratio is that of their medians; each repeat's ratio is
   printed too.
   Each rate "in loop" (the processes' own training time from provenance.json, so Python
   start-up and set-up are excluded: the conservative one, used in the summary) and "end to
   end" (wall time of everything, start-up of the processes included).

4. overhead: for each small model, the share of a solo step that is per-step overhead (Python,
   dispatch, optimizer launches): the CPU time of a solo step at batch 8 against one at the
   benchmark's batch (1 thread, CPU time, so it holds under load too). Running a bundle's runs
   at the solo rate of arithmetic would save only that share; the LSTM and quadratic bundles
   gain more because their arithmetic is faster than a solo run's (repro.models.stacked:
   written-out backwards, larger matmuls, the LSTM's projected embedding table).
   `--only-overhead` prints these lines alone.

Last line: `summary: loop X, batched-mlp X, batched-lstm X, batched-quadratic X` (ratios, > 1:
ours / batched is faster). On a shared machine other processes' load changes every number;
run it on an idle machine before trusting a ratio (see bench/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_loop  # noqa: E402  (bench/train_loop.py: the papers'-style reference loop)

from repro.batched import train_bundle  # noqa: E402
from repro.config import ROOT, RunConfig, run_config_from_dict  # noqa: E402
from repro.data import build_dataset  # noqa: E402
from repro.models import build_model  # noqa: E402
from repro.schedule import evaluation_steps  # noqa: E402
from repro.train import evaluate  # noqa: E402

SMALL_MODELS = {  # name: (data, model, batch size)
    "mlp": (
        {"name": "mnist", "source": "synthetic", "n_train": 1000, "n_val": 1000},
        {"name": "mlp", "hidden": 200, "n_layers": 2},
        200,
    ),
    "lstm": (
        {"name": "modular", "p": 97, "operation": "add", "train_fraction": 0.5},
        {"name": "lstm", "hidden": 20, "d_embed": 128},
        512,
    ),
    "quadratic": (
        {"name": "modular", "p": 31, "operation": "add", "train_fraction": 0.5},
        {"name": "quadratic", "hidden": 124},
        None,
    ),
}
N_RUNS = 16


def matmul_gflops(size: int, repeats: int = 7) -> float:
    """Median fp32 GFLOP/s of size x size @ size x size on the current threads."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    c = torch.empty(size, size)
    torch.matmul(a, b, out=c)
    calls = max(1, int(2e9 / (2 * size**3)))  # about 2 GFLOP per timing
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            torch.matmul(a, b, out=c)
        rates.append(2 * size**3 * calls / (time.perf_counter() - start) / 1e9)
    return statistics.median(rates)


def step_flops(config: RunConfig) -> int:
    """Matmul FLOPs of one of our training steps (forward and backward) of this config."""
    torch.manual_seed(config.seed)
    dataset = build_dataset(config.data, config.seed)
    model = build_model(config.model, dataset)
    batch = config.train.batch_size or len(dataset.train)
    inputs, labels = dataset.train.inputs[:batch], dataset.train.labels[:batch]
    counter = FlopCounterMode(display=False)
    with counter:
        F.cross_entropy(model(inputs), labels).backward()
    return counter.get_total_flops()


def evaluation_flops(config: RunConfig) -> int:
    """Matmul FLOPs of one repro.train.evaluate call (train and val splits, forward only)."""
    torch.manual_seed(config.seed)
    dataset = build_dataset(config.data, config.seed)
    model = build_model(config.model, dataset)
    counter = FlopCounterMode(display=False)
    with counter:
        evaluate(model, dataset, 0, (), config.train.loss)
    return counter.get_total_flops()


def loop_flops(config: RunConfig) -> tuple[int, int, int]:
    """(one step's FLOPs, one evaluation's, the evaluations in repro.train.train's loop)."""
    cfg = config.train
    evaluations = len(evaluation_steps(cfg.steps, cfg.eval_every, cfg.eval_log_points))
    return step_flops(config), evaluation_flops(config), evaluations


def ours_in_process(config: RunConfig, threads: int) -> tuple[float, float]:
    """Steps/s of one repro.train.train call: end to end (as train_loop.run_ours), and over its
    training loop alone (evaluations included; set-up and output files not)."""
    seconds, loop_seconds = train_loop.run_ours_timed(config, threads, verbose=False)
    return config.train.steps / seconds, config.train.steps / loop_seconds


def loop_section(args) -> tuple[float, float, float]:
    """(ours / reference steps/s, our GFLOP/s, matmul GFLOP/s)."""
    threads = torch.get_num_threads()
    matmul = matmul_gflops(args.matmul_size)
    print(f"matmul: fp32 {args.matmul_size}^2 on {threads} threads: {matmul:.1f} GFLOP/s")
    paper = yaml.safe_load(train_loop.BASE.read_text())
    every = train_loop.laptop_eval_every(paper)
    config = train_loop.ours_config(paper["base"], args.loop_steps, every, 0)
    warmup = train_loop.ours_config(paper["base"], args.loop_warmup, every, 0)
    train_loop.run_reference(warmup, args.loop_warmup)
    ours_in_process(warmup, threads)
    reference, ours, ours_loop = [], [], []
    for _ in range(args.repeats):
        seconds, _ = train_loop.run_reference(config, args.loop_steps)
        reference.append(args.loop_steps / seconds)
        end_to_end, in_loop = ours_in_process(config, threads)
        ours.append(end_to_end)
        ours_loop.append(in_loop)
    reference_rate, our_rate = statistics.median(reference), statistics.median(ours)
    step, evaluation, evaluations = loop_flops(config)
    total = step * args.loop_steps + evaluation * evaluations  # FLOPs of one loop
    loop_seconds = args.loop_steps / statistics.median(ours_loop)
    achieved_loop = total / loop_seconds / 1e9
    steps_only = step * args.loop_steps / loop_seconds / 1e9
    achieved = total * our_rate / args.loop_steps / 1e9
    print(
        f"loop: transformer, batch {config.train.batch_size}, {args.loop_steps} steps, "
        f"{threads} threads: papers'-style {reference_rate:.2f} steps/s "
        f"({train_loop.listing(reference)}), ours {our_rate:.2f} steps/s "
        f"({train_loop.listing(ours)}): {our_rate / reference_rate:.2f}x"
    )
    print(
        f"loop: our step is {step / 1e9:.3f} GFLOP of matmuls, an evaluation "
        f"{evaluation / 1e9:.3f} GFLOP ({evaluations} in the loop); over the training loop "
        f"(steps and evaluations) {achieved_loop:.1f} GFLOP/s = "
        f"{100 * achieved_loop / matmul:.0f}% of the matmul rate; the steps' FLOPs alone over "
        f"the same time {steps_only:.1f} GFLOP/s = {100 * steps_only / matmul:.0f}%; end to end "
        f"(set-up and output files too) {achieved:.1f} GFLOP/s = {100 * achieved / matmul:.0f}%"
    )
    return our_rate / reference_rate, achieved_loop, matmul


OVERHEAD_BATCH = 8  # examples: a step this small is almost all per-step overhead


def small_configs(
    name: str, steps: int, batch: int | None | str = "bench", first_seed: int = 0
) -> list[RunConfig]:
    data, model, bench_batch = SMALL_MODELS[name]
    batch = bench_batch if batch == "bench" else batch
    return [
        run_config_from_dict(
            {
                "paper": "bench",
                "experiment": f"throughput_{name}",
                "run_id": f"seed={seed}",
                "seed": seed,
                "data": data,
                "model": model,
                "optimizer": {"name": "adamw", "lr": 1e-3, "weight_decay": 1.0},
                "train": {"steps": steps, "batch_size": batch, "eval_every": steps},
            },
            where="bench/throughput.py",
        )
        for seed in range(first_seed, first_seed + N_RUNS)
    ]


def solo_cpu_ms(config: RunConfig) -> float:
    """CPU milliseconds per step of one repro.train.train call on 1 thread (set-up and
    evaluations included). CPU time, not wall time: it does not count the time other processes
    hold the core, so the ratio of two of these holds on a loaded machine too."""
    threads = torch.get_num_threads()
    seconds = train_loop.run_ours(config, 1, verbose=False, clock=time.process_time)
    torch.set_num_threads(threads)
    return 1e3 * seconds / config.train.steps


def overhead_share(name: str, steps: int) -> float:
    """The share of a solo step that does not grow with the batch: the cost of a step at
    OVERHEAD_BATCH examples over one at the benchmark's batch (1 thread, CPU time)."""
    full = solo_cpu_ms(small_configs(name, steps)[0])
    tiny = solo_cpu_ms(small_configs(name, steps, OVERHEAD_BATCH)[0])
    share = min(tiny / full, 1.0)
    batch = SMALL_MODELS[name][2] or "full"
    print(
        f"overhead-{name}: a solo step (1 thread, CPU time) costs {full:.2f} ms at batch "
        f"{batch} and {tiny:.2f} ms at batch {OVERHEAD_BATCH}: {100 * share:.0f}% of it is "
        "per-step overhead"
    )
    return share


def in_loop_seconds(outdir: Path) -> float:
    return json.loads((outdir / "provenance.json").read_text())["wall_time_s"]


def run_bundle(configs: list[RunConfig], folder: Path, threads: int) -> Path:
    """Train the configs as one bundle in this process, its log lines silenced; returns the
    first run's output folder (its provenance.json holds the bundle's training time)."""
    outdirs = [folder / "bundle" / c.run_id for c in configs]
    with contextlib.redirect_stderr(io.StringIO()):
        train_bundle(configs, outdirs, folder / "bundle_state", threads=threads)
    return outdirs[0]


def batched_rates(configs: list[RunConfig], threads: int, folder: Path) -> tuple[float, float]:
    """(in-loop, end-to-end) model-steps/s of one bundle of the configs, in this process."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    start = time.perf_counter()
    first = run_bundle(configs, folder, threads)
    end_to_end = time.perf_counter() - start
    torch.use_deterministic_algorithms(deterministic)
    total_steps = sum(c.train.steps for c in configs)
    return total_steps / in_loop_seconds(first), total_steps / end_to_end


def bundle_worker(configs_file: str, folder: str) -> None:
    """One 1-thread bundle in this process (--bundle-worker): how Snakemake runs a bundle job."""
    configs = [run_config_from_dict(c) for c in json.loads(Path(configs_file).read_text())]
    run_bundle(configs, Path(folder), threads=1)


def side_by_side_rates(bundles: list[list[RunConfig]], folder: Path) -> tuple[float, float]:
    """(in-loop, end-to-end) model-steps/s of one 1-thread bundle process per list, all at once:
    what `snakemake --cores 2` does with two bundle jobs (threads_per_run 1). In loop: all the
    steps over the bundles' mean training time (they run side by side)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    processes, outdirs = [], []
    start = time.perf_counter()
    for index, configs in enumerate(bundles):
        work = folder / f"side_by_side_{index}"
        work.mkdir(parents=True)
        path = work / "configs.json"
        path.write_text(json.dumps([c.to_dict() for c in configs]))
        outdirs.append(work / "bundle" / configs[0].run_id)
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--bundle-worker",
            str(path),
            str(work),
        ]
        processes.append(subprocess.Popen(command, env=environment))
    try:
        for process in processes:
            process.wait()
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
    end_to_end = time.perf_counter() - start
    if any(p.returncode for p in processes):
        raise RuntimeError("a bundle process failed")
    total_steps = sum(c.train.steps for configs in bundles for c in configs)
    loop_seconds = statistics.mean(in_loop_seconds(outdir) for outdir in outdirs)
    return total_steps / loop_seconds, total_steps / end_to_end


def separate_rates(configs: list[RunConfig], folder: Path, slots: int) -> tuple[float, float]:
    """(in-loop, end-to-end) model-steps/s of one 1-thread process per config, `slots` at once.
    In loop: every run's own training seconds, shared between the slots that ran side by side."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    queue = []
    for config in configs:
        path = folder / "configs" / f"{config.run_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config.to_json())
        outdir = folder / "separate" / config.run_id
        command = [sys.executable, "-m", "repro", "train", "--config", str(path), str(outdir)]
        queue.append((command + ["--threads", "1"], outdir))
    running: list[subprocess.Popen] = []
    started: list[subprocess.Popen] = []
    start = time.perf_counter()
    try:
        for command, _ in queue:
            while len(running) >= slots:
                running = [p for p in running if p.poll() is None]
                time.sleep(0.01)
            process = subprocess.Popen(
                command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            running.append(process)
            started.append(process)
        for process in running:
            process.wait()
    finally:  # interrupted: end the processes this benchmark started
        for process in started:
            if process.poll() is None:
                process.terminate()
    end_to_end = time.perf_counter() - start
    failed = [" ".join(p.args) for p in started if p.returncode != 0]
    if failed:
        raise RuntimeError(f"a separate training process failed: {failed[0]}")
    total_steps = sum(c.train.steps for c in configs)
    loop_seconds = sum(in_loop_seconds(outdir) for _, outdir in queue) / slots
    return total_steps / loop_seconds, total_steps / end_to_end


def batched_section(name: str, steps: int, args) -> float:
    """The batched lines of one small model; returns the summary's ratio: the median of the
    side-by-side bundles' in-loop rates over that of the separate processes. The two are
    measured in turn, --batched-repeats times, so that a slow minute of a shared machine
    lands on both sides rather than on one."""
    configs = small_configs(name, steps)
    pair = [configs, small_configs(name, steps, first_seed=N_RUNS)]
    separate, side_by_side = [], []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for repeat in range(args.batched_repeats):
            work = folder / f"repeat_{repeat}"
            separate.append(separate_rates(configs, work, slots=2))
            side_by_side.append(side_by_side_rates(pair, work))
        batched_loop, batched_total = batched_rates(configs, args.bundle_threads, folder)
    separate_loop, separate_total = (statistics.median(r[i] for r in separate) for i in (0, 1))
    pair_loop, pair_total = (statistics.median(r[i] for r in side_by_side) for i in (0, 1))
    each = ", ".join(f"{b[0] / a[0]:.2f}" for a, b in zip(separate, side_by_side, strict=True))
    data, model, batch = SMALL_MODELS[name]
    shape = " ".join(f"{key} {value}" for key, value in model.items() if key != "name")
    print(
        f"batched-{name}: {model['name']} ({shape}) on {data['name']}, batch {batch or 'full'}, "
        f"{steps} steps, model-steps/s in loop (end to end), medians of "
        f"{args.batched_repeats}: {N_RUNS} processes, 2 at a time {separate_loop:.0f} "
        f"({separate_total:.0f}); one bundle of {N_RUNS} on {args.bundle_threads} thread(s), "
        f"once, {batched_loop:.0f} ({batched_total:.0f}): {batched_loop / separate_loop:.2f}x "
        f"({batched_total / separate_total:.2f}x); two bundles of {N_RUNS} side by side, "
        f"1 thread each, as Snakemake runs them {pair_loop:.0f} ({pair_total:.0f}): "
        f"{pair_loop / separate_loop:.2f}x ({pair_total / separate_total:.2f}x; each repeat's "
        f"in loop: {each})"
    )
    return pair_loop / separate_loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (about 2 minutes)")
    parser.add_argument("--repeats", type=int, default=3, help="loop timings; medians (3)")
    parser.add_argument("--bundle-threads", type=int, default=2, help="bundle's threads (2)")
    parser.add_argument(
        "--batched-repeats",
        type=int,
        help="separate processes and side-by-side bundles measured in turn this many times; "
        "medians (3, --quick 1)",
    )
    parser.add_argument(
        "--only-overhead", action="store_true", help="only the overhead shares (section 4)"
    )
    parser.add_argument(
        "--only",
        choices=["loop", *sorted(SMALL_MODELS)],
        nargs="+",
        help="only these lines: the matmul and loop lines, and/or small models' batched lines",
    )
    parser.add_argument("--bundle-worker", nargs=2, help=argparse.SUPPRESS)  # internal
    args = parser.parse_args()
    if args.bundle_worker:
        return bundle_worker(*args.bundle_worker)
    quick = args.quick
    if args.batched_repeats is None:
        args.batched_repeats = 1 if quick else 3
    args.matmul_size = 1024 if quick else 2048
    args.loop_steps, args.loop_warmup = (60, 5) if quick else (300, 20)
    steps = (
        {"mlp": 100, "lstm": 100, "quadratic": 200}
        if quick
        else {
            "mlp": 1000,
            "lstm": 1000,
            "quadratic": 2000,
        }
    )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    if args.only_overhead:
        for name in SMALL_MODELS:
            overhead_share(name, steps[name])
        return
    if args.only:
        for name in args.only:
            if name == "loop":
                loop_section(args)
            else:
                batched_section(name, steps[name], args)
        return
    loop, _, _ = loop_section(args)
    ratios = {}
    for name in SMALL_MODELS:
        ratios[name] = batched_section(name, steps[name], args)
        overhead_share(name, steps[name])
    print(
        f"summary: loop {loop:.2f}, batched-mlp {ratios['mlp']:.2f}, "
        f"batched-lstm {ratios['lstm']:.2f}, batched-quadratic {ratios['quadratic']:.2f}"
    )


if __name__ == "__main__":
    main()
