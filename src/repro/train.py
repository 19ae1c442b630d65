"""The one training loop, shared by every paper.

    python -m repro train --config run.json OUTDIR

OUTDIR receives config.json (at the start), then metrics.parquet (one row per evaluation and
split: step, split, loss, accuracy, extra measures), final.pt, provenance.json, and log.txt.
Checkpoints go to OUTDIR/checkpoints every `checkpoint_every` steps and on SIGTERM/SIGINT; a
rerun resumes from the newest one and ends bit-identical to an uninterrupted run on CPU (the
checkpoint holds model, optimizer, scheduler, filter, both RNG states and the batch order).

Speed (see shared/perf-notes.md): data lives on the device and batches are indexed there; no
host-device sync per step (the loss is only read at evaluation time); evaluation runs under
torch.inference_mode on its schedule; the transformer computes logits at the answer only.
"""

from __future__ import annotations

import json
import math
import resource
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from repro import io
from repro.allocator import keep_freed_memory
from repro.autocast import autocast
from repro.config import RunConfig, sparse_settings
from repro.data import build_dataset
from repro.device_order import DeviceOrder
from repro.losses import LOSSES, correct
from repro.measures import MEASURES, prepare_measures
from repro.models import build_model
from repro.optim import (
    add_gradient_noise,
    add_linf_subgradient,
    add_weight_noise,
    build_filter,
    build_optimizer,
    build_scheduler,
)
from repro.provenance import environment
from repro.schedule import evaluation_steps
from repro.surgery import apply_mask, freeze, load_initial_state, load_mask

EVAL_CHUNK = 8192  # examples per forward pass at evaluation time
KEEP_CHECKPOINTS = 2


class Interrupted(Exception):
    """SIGTERM/SIGINT arrived; a checkpoint was written. exit_code is 128 + signal number."""

    def __init__(self, signum: int, step: int):
        super().__init__(f"interrupted by signal {signum} at step {step}; checkpoint written")
        self.exit_code = 128 + signum


@dataclass
class State:
    """Everything besides the torch objects that a resumed run needs."""

    step: int = 0
    epoch_order: torch.Tensor | None = None  # permutation of the training set for this epoch
    position: int = 0  # next index into epoch_order
    rows: list[dict] = field(default_factory=list)  # metrics so far
    elapsed: float = 0.0  # training seconds before this process
    resumed_from: list[int] = field(default_factory=list)
    stopped_early: bool = False


def peak_memory_mb(device: torch.device) -> float:
    """Peak device memory of this process: allocated tensors on CUDA, resident set on CPU
    (the process's whole RSS, torch itself included: about 220 MB of it is the import)."""
    if device.type == "cuda":
        return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def use_deterministic(device: torch.device) -> None:
    """On the CPU, deterministic kernels (same seed, same metrics bit for bit), without the NaN
    fill of every new tensor that comes with them (torch.utils.deterministic.
    fill_uninitialized_memory): that fill only makes a read of uninitialised memory visible,
    and costs 22% of a solo LSTM(20) step here (bench/README.md); the tests that train twice
    and compare bit for bit would catch such a read."""
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
        torch.utils.deterministic.fill_uninitialized_memory = False


class Logger:
    """One line per evaluation to log.txt, and to stderr unless a progress bar is shown."""

    def __init__(self, path: Path, progress: bool):
        self.file = open(path, "a", buffering=1)
        self.progress = progress

    def __call__(self, message: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}"
        self.file.write(line + "\n")
        if not self.progress:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        self.file.close()


def next_batch(state: State, n_train: int, batch_size: int | None, generator: torch.Generator):
    """Indices of the next minibatch: shuffled epochs, the incomplete last batch dropped.
    None for full batch."""
    if batch_size is None or batch_size >= n_train:
        return None
    if state.epoch_order is None or state.position + batch_size > n_train:
        state.epoch_order = torch.randperm(n_train, generator=generator)
        state.position = 0
    indices = state.epoch_order[state.position : state.position + batch_size]
    state.position += batch_size
    return indices


@torch.inference_mode()
def evaluate(
    model, dataset, step: int, measures: tuple[str, ...], loss: str = "cross_entropy"
) -> list[dict]:
    was_training = model.training
    model.eval()
    rows = []
    loss_fn = LOSSES[loss]
    for split_name, split in (("train", dataset.train), ("val", dataset.val)):
        loss_sum = torch.zeros((), device=split.labels.device)
        n_correct = torch.zeros((), device=split.labels.device, dtype=torch.long)
        for start in range(0, len(split), EVAL_CHUNK):
            inputs = split.inputs[start : start + EVAL_CHUNK]
            labels = split.labels[start : start + EVAL_CHUNK]
            outputs = model(inputs)
            loss_sum += loss_fn(outputs, labels).sum()
            hits = correct(loss, outputs, labels)
            n_correct = n_correct + hits.sum() if hits is not None else n_correct
        regression = split.labels.is_floating_point()
        rows.append(
            evaluation_row(
                step, split_name, loss_sum.item(), n_correct.item(), len(split), regression
            )
        )
    add_measures(model, dataset, rows, measures)
    model.train(was_training)
    return rows


def evaluation_row(
    step: int, split: str, loss_sum: float, n_correct: int, n_examples: int, regression: bool
) -> dict:
    """One row of metrics.parquet: mean loss and accuracy (NaN for regression) of a split."""
    return {
        "step": step,
        "split": split,
        "loss": loss_sum / n_examples,
        "accuracy": math.nan if regression else n_correct / n_examples,
    }


@torch.inference_mode()
def add_measures(model, dataset, rows: list[dict], measures: tuple[str, ...]) -> None:
    """train.measures of the model into its (train, val) rows, in eval mode."""
    if not measures:
        return
    was_training = model.training
    model.eval()
    for split, row in zip((dataset.train, dataset.val), rows, strict=True):
        for name in measures:
            row.update(MEASURES[name](model, split.inputs, split.labels))
    model.train(was_training)


def save_weights(outdir: Path, step: int, model) -> None:
    """The model state at `step` (train.save_weights_at): for trajectories and masks."""
    io.write_torch(outdir / "weights" / f"step_{step:09d}.pt", model.state_dict())


def resumable_config(settings: dict) -> dict:
    """What must match for a checkpoint to be resumed: the run's identity (RunConfig.identity:
    settings equal to their defaults left out, so a stamp written before a new engine setting
    existed still matches) but the device (a run may move between a CPU and a GPU machine)."""
    settings = sparse_settings(settings)
    settings["train"] = {k: v for k, v in settings["train"].items() if k != "device"}
    return settings


def discard_stale_checkpoints(outdir: Path, config: RunConfig) -> bool:
    """Checkpoints left by a run of another config (an edited paper config reruns the run in
    the same folder) must not be resumed: delete them. True if any were deleted. The config
    the checkpoints belong to is kept in checkpoints/config.json."""
    stamp = outdir / "checkpoints" / "config.json"
    current = resumable_config(config.to_dict())
    stale = False
    if checkpoint_paths(outdir):
        try:
            stale = resumable_config(json.loads(stamp.read_text())) != current
        except (OSError, ValueError, KeyError, TypeError, AttributeError):  # unreadable stamp
            stale = True
        if stale:
            for path in checkpoint_paths(outdir):
                path.unlink()
    io.write_json(stamp, current)
    return stale


def checkpoint_paths(outdir: Path) -> list[Path]:
    return sorted((outdir / "checkpoints").glob("step_*.pt"))


def save_checkpoint(
    outdir: Path,
    state: State,
    elapsed: float,
    model,
    optimizer,
    scheduler,
    gradient_filter,
    generator,
) -> None:
    path = outdir / "checkpoints" / f"step_{state.step:09d}.pt"
    io.write_torch(
        path,
        {
            "step": state.step,
            "epoch_order": state.epoch_order,
            "position": state.position,
            "rows": state.rows,
            "elapsed": elapsed,
            "resumed_from": state.resumed_from,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "filter": gradient_filter.state_dict(),
            "generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
        },
    )
    for old in checkpoint_paths(outdir)[:-KEEP_CHECKPOINTS]:
        old.unlink(missing_ok=True)


def load_checkpoint(path: Path, model, optimizer, scheduler, gradient_filter, generator) -> State:
    saved = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    gradient_filter.load_state_dict(saved["filter"])
    generator.set_state(saved["generator"])
    torch.set_rng_state(saved["torch_rng"])
    return State(
        step=saved["step"],
        epoch_order=saved["epoch_order"],
        position=saved["position"],
        rows=saved["rows"],
        elapsed=saved["elapsed"],
        resumed_from=saved["resumed_from"] + [saved["step"]],
    )


def write_outputs(
    outdir: Path,
    config: RunConfig,
    state: State,
    status: str,
    weights: dict,
    wall: float,
    device: torch.device,
    threads: int,
    started: float,
    **extra,
) -> None:
    """metrics.parquet, final.pt and provenance.json of a finished run; `extra` keys go into
    provenance.json (a bundle names its members there)."""
    io.write_parquet(outdir / "metrics.parquet", pd.DataFrame(state.rows))
    io.write_torch(
        outdir / "final.pt", {"model": weights, "step": state.step, "config": config.to_dict()}
    )
    io.write_json(
        outdir / "provenance.json",
        {
            "run": f"{config.paper}/{config.experiment}/{config.run_id}",
            "config": config.to_dict(),
            "seed": config.seed,
            "status": status,
            "steps_done": state.step,
            "stopped_early": state.stopped_early,
            "resumed_from_steps": state.resumed_from,
            "wall_time_s": round(wall, 3),
            "steps_per_s": round(state.step / wall, 3) if wall > 0 else None,
            "device": str(device),
            "threads": threads,
            "peak_memory_mb": peak_memory_mb(device),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "process_started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            **extra,
            **environment(),
        },
    )


def train(
    config: RunConfig, outdir: str | Path, threads: int = 1, progress: bool | None = None
) -> str:
    """Train one run into outdir; returns the status ("completed" or "diverged").
    Raises Interrupted after writing a checkpoint when SIGTERM/SIGINT arrives."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    io.write_text(outdir / "config.json", config.to_json() + "\n")
    progress = sys.stderr.isatty() if progress is None else progress
    log = Logger(outdir / "log.txt", progress)
    started = time.time()

    torch.set_num_threads(threads)
    keep_freed_memory()  # no page faults on each step's new tensors (repro.allocator)
    device = resolve_device(config.train.device)
    use_deterministic(device)
    torch.manual_seed(config.seed)  # initial weights and dropout
    dataset = build_dataset(config.data, config.seed)
    dtype = getattr(torch, config.train.dtype)  # floating tensors only: tokens stay int64
    for split in (dataset.train, dataset.val):
        split.inputs, split.labels = (
            t.to(device, dtype) if t.is_floating_point() else t.to(device)
            for t in (split.inputs, split.labels)
        )
    model = build_model(config.model, dataset).to(dtype)
    if config.train.init_from:
        load_initial_state(model, config.train.init_from, config.train.init_parameters)
    freeze(model, config.train.freeze)
    model = model.to(device)
    masks = load_mask(model, config.train.mask) if config.train.mask else {}
    apply_mask(masks)
    prepare_measures(model, config.train)  # theta_0 for the eNTK drift, also when resuming
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = build_optimizer(parameters, config.optimizer)
    scheduler = build_scheduler(optimizer, config.optimizer)
    gradient_filter = build_filter(config.filter)
    generator = torch.Generator().manual_seed(config.seed)  # batches and noise (on the CPU)

    device_order = DeviceOrder(device)
    state = State()
    if discard_stale_checkpoints(outdir, config):
        log("checkpoints of another config were found and deleted: training from scratch")
    checkpoints = checkpoint_paths(outdir)
    if checkpoints:
        state = load_checkpoint(
            checkpoints[-1], model, optimizer, scheduler, gradient_filter, generator
        )
        log(f"resumed from {checkpoints[-1].name} (step {state.step})")
    else:
        log(
            f"start {config.paper}/{config.experiment}/{config.run_id}: "
            f"{sum(p.numel() for p in parameters):,} parameters, {len(dataset.train)} train / "
            f"{len(dataset.val)} val examples, device {device}, {threads} thread(s)"
        )

    cfg = config.train
    loss_fn = LOSSES[cfg.loss]
    save_weights_at = set(cfg.save_weights_at)
    schedule = set(evaluation_steps(cfg.steps, cfg.eval_every, cfg.eval_log_points))
    requested: list[int] = []

    def on_signal(signum, frame):
        requested.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    status = "completed"
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, initial=state.step, desc=config.run_id, unit="step")
    session_start = time.perf_counter()

    def elapsed() -> float:
        return state.elapsed + time.perf_counter() - session_start

    def record(step: int) -> bool:
        """Evaluate at step; False when training should stop (diverged or target reached)."""
        nonlocal status
        rows = evaluate(model, dataset, step, cfg.measures, cfg.loss)
        state.rows.extend(rows)
        train_row, val_row = rows
        log(
            f"step {step}/{cfg.steps} train_loss {train_row['loss']:.4g} train_acc "
            f"{train_row['accuracy']:.4f} val_loss {val_row['loss']:.4g} val_acc "
            f"{val_row['accuracy']:.4f} ({step / max(elapsed(), 1e-9):.1f} steps/s)"
        )
        if bar is not None:
            bar.set_postfix(
                train_acc=f"{train_row['accuracy']:.3f}", val_acc=f"{val_row['accuracy']:.3f}"
            )
        if not math.isfinite(train_row["loss"]):
            status = "diverged"
            log(f"diverged at step {step}: training loss is {train_row['loss']}")
            return False
        target = cfg.stop_at_val_accuracy
        if target is not None and val_row["accuracy"] >= target and step > 0:
            state.stopped_early = True
            log(f"validation accuracy {val_row['accuracy']:.4f} >= {target}: stopping early")
            return False
        return True

    def checkpoint() -> None:
        save_checkpoint(
            outdir, state, elapsed(), model, optimizer, scheduler, gradient_filter, generator
        )

    try:
        keep_going = True
        if state.step == 0 and not state.rows:
            if 0 in save_weights_at:
                save_weights(outdir, 0, model)
            keep_going = record(0)
        model.train()
        while keep_going and state.step < cfg.steps:
            if requested:
                checkpoint()
                log(f"signal {requested[0]}: checkpoint written at step {state.step}")
                raise Interrupted(requested[0], state.step)
            indices = next_batch(state, len(dataset.train), cfg.batch_size, generator)
            if indices is None:
                inputs, labels = dataset.train.inputs, dataset.train.labels
            else:
                indices = device_order.batch(state, indices)  # no host sync per step on CUDA
                inputs, labels = dataset.train.inputs[indices], dataset.train.labels[indices]
            with autocast(device, cfg.autocast):
                loss = loss_fn(model(inputs), labels).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            add_linf_subgradient(parameters, config.optimizer.linf)  # lambda ||theta||_inf
            apply_mask(masks, gradients=True)
            if config.optimizer.grad_clip:  # before the filter, as Grokfast's IMDb code does
                torch.nn.utils.clip_grad_norm_(parameters, config.optimizer.grad_clip)
            gradient_filter.apply(parameters)
            if config.optimizer.gradient_noise:
                add_gradient_noise(parameters, config.optimizer.gradient_noise, generator)
            optimizer.step()
            scheduler.step()
            if config.optimizer.weight_noise:
                add_weight_noise(parameters, config.optimizer.weight_noise, generator)
            apply_mask(masks)
            state.step += 1
            if state.step in save_weights_at:
                save_weights(outdir, state.step, model)
            if bar is not None:
                bar.update(1)
            if state.step in schedule:
                keep_going = record(state.step)
            if cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0 and keep_going:
                checkpoint()
        if keep_going and state.rows and state.rows[-1]["step"] != state.step:
            record(state.step)  # the last step is always evaluated
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if bar is not None:
            bar.close()

    wall = elapsed()
    write_outputs(outdir, config, state, status, model.state_dict(), wall, device, threads, started)
    log(f"{status}: {state.step} steps in {wall:.1f} s")
    log.close()
    return status
