"""Batched training: one process trains a bundle of N runs that share shapes.

    python -m repro train-bundle --scale smoke --run PAPER/EXPERIMENT/RUN_ID ... --state-dir DIR

Small models (LSTM(20), quadratic networks, small MLPs) spend most of a training step in
per-operation overhead, so one process per run wastes the machine; here every operation of a
step acts on all N runs at once (a leading model axis on every parameter, gradient, optimizer
and filter state). The runs stay independent: each has its own initial weights (built exactly
as repro.train builds them, from its seed), its own data split (the split seed is the run seed),
its own minibatch order (its own generator), its own learning rate and weight decay, its own
evaluations, early stop and divergence, and its own output folder with the files a solo run
writes (config.json, metrics.parquet, final.pt, provenance.json, log.txt). Metrics match a solo
run to float32 rounding (tests/test_batched.py), not bit for bit: the stacked forward and
backward passes (repro.models.stacked) add in another order.

What a bundle supports, and what it refuses with a ConfigError before any compute:
- models mlp, lstm, quadratic (repro.models.stacked); not the transformer (no gain on CPU);
  float32 only, and lstm and quadratic without train.autocast (their passes are written out
  in float32);
- runs may differ in seed, data (if the splits have equal sizes), optimizer.lr,
  optimizer.weight_decay, gradient_noise and weight_noise; everything else must be equal;
- filters (Grokfast ema, ma, highpass) with the same settings for every run: the existing
  filter classes act elementwise on the stacked gradients, so each run is filtered exactly
  as alone;
- train.init_from and save_weights_at per run; not train.freeze or train.mask.
Checkpoints hold the stacked state (every run's weights, optimizer and filter state, generator,
batch order, metrics, and the final state of runs already stopped) in STATE_DIR/checkpoints, every
checkpoint_every steps and on SIGTERM/SIGINT; a rerun of the same bundle resumes from the newest.
The device follows train.device (auto: CUDA when present); no host sync per step.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import sys
import time
from pathlib import Path

import torch

from repro import io
from repro.allocator import keep_freed_memory
from repro.autocast import autocast
from repro.config import ConfigError, OptimizerConfig, RunConfig
from repro.data import build_dataset
from repro.device_order import DeviceOrder
from repro.losses import LOSSES, correct
from repro.models import build_model
from repro.models.stacked import (
    FLOAT32_ONLY,
    STACKABLE,
    stack_parameters,
    stacked_forward,
    stacked_losses,
)
from repro.optim import adam_implementation, build_filter
from repro.schedule import evaluation_steps
from repro.surgery import load_initial_state
from repro.train import (
    EVAL_CHUNK,
    Interrupted,
    Logger,
    State,
    add_measures,
    evaluation_row,
    next_batch,
    resolve_device,
    resumable_config,
    use_deterministic,
    write_outputs,
)

PER_RUN_OPTIMIZER = ("lr", "weight_decay", "gradient_noise", "weight_noise")
PER_RUN_TRAIN = ("init_from", "save_weights_at")
KEEP_CHECKPOINTS = 2


def why_alone(config: RunConfig) -> str | None:
    """Why this run cannot be in any bundle (a one-line ConfigError message naming the key), or
    None. The planner (repro.bundles) trains such runs alone; check_bundle refuses them."""
    model, train = config.model["name"], config.train
    if model not in STACKABLE:
        return (
            f"model.name: {model!r} cannot be trained in a bundle; expected one of "
            f"{list(STACKABLE)} (train it alone with `python -m repro train`)"
        )
    if train.freeze or train.mask:
        key = "freeze" if train.freeze else "mask"
        return f"train.{key}: not supported in a bundle; train the run alone"
    if train.dtype != "float32":  # the stacked weights and data are float32
        return (
            f"train.dtype: {train.dtype!r} is not supported in a bundle (float32 only); "
            "train the run alone"
        )
    if train.autocast != "none" and model in FLOAT32_ONLY:
        return (
            f"train.autocast: {train.autocast!r} is not supported in a bundle of {model} "
            "models (their written-out passes are float32); train the run alone"
        )
    return None


def check_bundle(configs: list[RunConfig]) -> None:
    """ConfigError (one line, naming the key) unless these runs can be trained as one bundle."""
    if not configs:
        raise ConfigError("bundle: no runs")
    first = configs[0]
    reason = why_alone(first)
    if reason:
        raise ConfigError(reason)
    keys = [f"{c.paper}/{c.experiment}/{c.run_id}" for c in configs]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"bundle: a run appears twice ({sorted(keys)})")
    for config in configs[1:]:
        where = f"bundle: {config.run_id} and {first.run_id} differ in"
        if config.model != first.model:
            raise ConfigError(f"{where} model; a bundle's runs share the architecture")
        if config.filter != first.filter:
            raise ConfigError(f"{where} filter; a bundle's runs share the filter settings")
        for section, per_run in (("optimizer", PER_RUN_OPTIMIZER), ("train", PER_RUN_TRAIN)):
            mine, theirs = getattr(config, section), getattr(first, section)
            for field in dataclasses.fields(mine):
                name = field.name
                if name not in per_run and getattr(mine, name) != getattr(theirs, name):
                    raise ConfigError(
                        f"{where} {section}.{name}; only {list(per_run)} and the seed and data "
                        "may differ within a bundle"
                    )


def adam_moments(parameter: torch.Tensor, state: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Adam's first and second moments of a stacked parameter, zeros on first use."""
    if not state:
        state["exp_avg"] = torch.zeros_like(parameter)
        state["exp_avg_sq"] = torch.zeros_like(parameter)
    return state["exp_avg"], state["exp_avg_sq"]


class StackedOptimizer:
    """Adam, AdamW and SGD over stacked parameters, with a learning rate and weight decay per
    run (tensors of shape (N,)) and the linear warm-up of repro.optim.build_scheduler. The
    update is torch.optim's (Adam: coupled L2; AdamW: decoupled; SGD: momentum, Nesterov), so
    run i is updated as torch's optimizer would update it alone: Adam and AdamW by torch's
    fused kernel where a solo run uses it too, otherwise evaluated elementwise here."""

    def __init__(self, parameters: list[torch.Tensor], configs: list[OptimizerConfig]):
        first = configs[0]
        self.parameters = parameters
        self.name, self.betas, self.eps = first.name, first.betas, first.eps
        self.momentum, self.nesterov = first.momentum, first.nesterov
        self.warmup = max(first.warmup_steps, 1)
        device = parameters[0].device
        # float64, as torch computes lr * factor and lr / bias correction in Python floats
        self.lr = torch.tensor([c.lr for c in configs], dtype=torch.float64, device=device)
        self.weight_decay = torch.tensor(
            [c.weight_decay for c in configs], dtype=torch.float64, device=device
        )
        self.decay = any(c.weight_decay for c in configs)
        self.steps = 0
        self.state: list[dict[str, torch.Tensor]] = [{} for _ in parameters]
        # torch's fused Adam/AdamW kernel, as a solo run uses (repro.optim.adam_implementation),
        # called once per group of runs that share lr and weight decay: the kernel takes one of
        # each per call. A bundle of seeds is one call on the stacked tensors; a sweep, one call
        # per setting on the runs' slices.
        self.fused = self.name in ("adam", "adamw") and bool(adam_implementation(parameters))
        settings: dict[tuple[float, float], list[int]] = {}
        for index, config in enumerate(configs):
            settings.setdefault((config.lr, config.weight_decay), []).append(index)
        everyone = len(settings) == 1
        self.groups = [
            (lr, decay, None if everyone else runs) for (lr, decay), runs in settings.items()
        ]

    @staticmethod
    def per_run(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """(N,) float64 -> (N, 1, ...) in the parameter's dtype, broadcasting over one run."""
        return values.to(like.dtype).view(-1, *[1] * (like.dim() - 1))

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        if self.fused:
            self.fused_step(min(1.0, self.steps / self.warmup))
            return
        lr = self.lr * min(1.0, self.steps / self.warmup)  # update k (1-based) uses k / warmup
        for parameter, state in zip(self.parameters, self.state, strict=True):
            gradient = parameter.grad
            if gradient is None:
                continue
            if self.name == "adamw":
                parameter.mul_(self.per_run(1 - lr * self.weight_decay, parameter))
            elif self.decay:  # adam and sgd: coupled L2
                gradient = gradient + self.per_run(self.weight_decay, parameter) * parameter
            if self.name == "sgd":
                self.sgd(parameter, gradient, state, lr)
            else:
                self.adam(parameter, gradient, state, lr)

    def fused_step(self, warmup_factor: float) -> None:
        active = [
            (p, s) for p, s in zip(self.parameters, self.state, strict=True) if p.grad is not None
        ]
        for parameter, state in active:
            adam_moments(parameter, state)
        step = torch.tensor(float(self.steps), device=self.parameters[0].device)
        kernel = torch._fused_adamw_ if self.name == "adamw" else torch._fused_adam_
        tensors = [memory_order(p, p.grad, s["exp_avg"], s["exp_avg_sq"]) for p, s in active]
        for lr, decay, runs in self.groups:
            if runs is None:
                lists = [list(column) for column in zip(*tensors, strict=True)]
            else:
                lists = [
                    [t[i] for t in column for i in runs] for column in zip(*tensors, strict=True)
                ]
            kernel(
                *lists,
                [],
                [step] * len(lists[0]),
                lr=lr * warmup_factor,
                beta1=self.betas[0],
                beta2=self.betas[1],
                weight_decay=decay,
                eps=self.eps,
                amsgrad=False,
                maximize=False,
            )

    def adam(self, parameter, gradient, state, lr) -> None:
        beta1, beta2 = self.betas
        exp_avg, exp_avg_sq = adam_moments(parameter, state)
        exp_avg.lerp_(gradient, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(gradient, gradient, value=1 - beta2)
        step_size = self.per_run(lr / (1 - beta1**self.steps), parameter)
        denom = (exp_avg_sq.sqrt() / math.sqrt(1 - beta2**self.steps)).add_(self.eps)
        parameter.sub_(exp_avg.div(denom).mul_(step_size))

    def sgd(self, parameter, gradient, state, lr) -> None:
        if self.momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = gradient.detach().clone()
            else:
                state["momentum_buffer"].mul_(self.momentum).add_(gradient)
            buffer = state["momentum_buffer"]
            gradient = gradient.add(buffer, alpha=self.momentum) if self.nesterov else buffer
        parameter.sub_(gradient * self.per_run(lr, parameter))

    def zero_grad(self) -> None:
        for parameter in self.parameters:
            parameter.grad = None

    def state_dict(self) -> dict:
        return {"steps": self.steps, "state": self.state}

    def load_state_dict(self, saved: dict) -> None:
        self.steps = saved["steps"]
        device = self.parameters[0].device
        self.state = [{k: v.to(device) for k, v in s.items()} for s in saved["state"]]


def memory_order(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Views of stacked tensors laid out alike (a parameter, its gradient, its moments), their
    dimensions after the model axis permuted into memory order, so contiguous where the tensors
    are dense: torch's fused Adam kernel takes twice as long on the transposed view that is the
    token quadratic net's W (bench/README.md). The update is elementwise, so the order of the
    elements changes nothing."""
    strides = tensors[0].stride()
    order = [0, *sorted(range(1, len(strides)), key=lambda d: -strides[d])]
    views = tuple(t.permute(order) for t in tensors)
    return views if all(v.is_contiguous() for v in views) else tensors


class RunLogger(Logger):
    """The run's log.txt, as a solo run writes it; on stderr each line names its run."""

    def __init__(self, path: Path, run_id: str):
        super().__init__(path, progress=True)  # progress=True: Logger writes the file only
        self.run_id = run_id

    def __call__(self, message: str) -> None:
        super().__call__(message)
        print(f"[{self.run_id}] {message}", file=sys.stderr, flush=True)


@dataclasses.dataclass
class Member:
    """One run of the bundle: its config, files, data, module (for evaluation and saving),
    generator and loop state."""

    config: RunConfig
    outdir: Path
    dataset: object
    module: torch.nn.Module
    generator: torch.Generator
    log: RunLogger
    state: State = dataclasses.field(default_factory=State)
    status: str = "completed"
    active: bool = True
    final: dict | None = None  # model state at the step the run stopped (early stop, divergence)


def train_bundle(
    configs: list[RunConfig],
    outdirs: list[str | Path],
    state_dir: str | Path,
    threads: int = 1,
) -> list[str]:
    """Train every run of the bundle into its outdir; returns their statuses. Raises
    Interrupted after writing a checkpoint of the whole bundle on SIGTERM/SIGINT."""
    check_bundle(configs)
    if len(outdirs) != len(configs):
        raise ConfigError(f"bundle: {len(configs)} runs but {len(outdirs)} output folders")
    started = time.time()
    torch.set_num_threads(threads)
    keep_freed_memory()  # no page faults on each step's new tensors (repro.allocator)
    first = configs[0]
    cfg = first.train
    device = resolve_device(cfg.device)
    use_deterministic(device)

    members: list[Member] = []
    for config, outdir in zip(configs, outdirs, strict=True):
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        io.write_text(outdir / "config.json", config.to_json() + "\n")
        torch.manual_seed(config.seed)  # as repro.train: initial weights from the run's seed
        dataset = build_dataset(config.data, config.seed)
        module = build_model(config.model, dataset)
        if config.train.init_from:
            load_initial_state(module, config.train.init_from, config.train.init_parameters)
        module = module.to(device)
        for split in (dataset.train, dataset.val):
            split.inputs, split.labels = split.inputs.to(device), split.labels.to(device)
        generator = torch.Generator().manual_seed(config.seed)
        log = RunLogger(outdir / "log.txt", config.run_id)
        members.append(Member(config, outdir, dataset, module, generator, log))
    check_shapes(members)

    architecture, template = first.model["name"], members[0].module
    parameters = stack_parameters(architecture, [m.module for m in members])
    stacked = list(parameters.values())
    forward = stacked_forward(architecture, template)
    training_losses = stacked_losses(architecture, template, cfg.loss, forward, cfg.autocast)
    optimizer = StackedOptimizer(stacked, [m.config.optimizer for m in members])
    gradient_filter = build_filter(first.filter)
    train_inputs = torch.stack([m.dataset.train.inputs for m in members])
    train_labels = torch.stack([m.dataset.train.labels for m in members])
    splits = {
        "train": (train_inputs, train_labels),
        "val": (
            torch.stack([m.dataset.val.inputs for m in members]),
            torch.stack([m.dataset.val.labels for m in members]),
        ),
    }
    n_runs, n_train = len(members), train_labels.shape[1]
    run_index = torch.arange(n_runs, device=device)[:, None]
    orders = [DeviceOrder(device) for _ in members]  # each run's epoch order on the device

    state_dir = Path(state_dir)
    step, elapsed_before = 0, 0.0
    saved = latest_checkpoint(state_dir)
    same = [resumable_config(c.to_dict()) for c in configs]
    if saved is not None and [resumable_config(c) for c in saved["configs"]] != same:
        for member in members:
            member.log(f"ignoring bundle checkpoint {saved['path'].name}: other runs or configs")
        saved = None
    if saved is not None:
        step, elapsed_before = saved["step"], saved["elapsed"]
        with torch.no_grad():
            for name, tensor in parameters.items():
                tensor.copy_(saved["parameters"][name])
        optimizer.load_state_dict(saved["optimizer"])
        gradient_filter.load_state_dict(saved["filter"])
        torch.set_rng_state(saved["torch_rng"])
        for member, run in zip(members, saved["runs"], strict=True):
            member.generator.set_state(run["generator"])
            member.state = State(
                step=run["step"],
                epoch_order=run["epoch_order"],
                position=run["position"],
                rows=run["rows"],
                elapsed=saved["elapsed"],
                resumed_from=run["resumed_from"] + [step],
                stopped_early=run["stopped_early"],
            )
            member.status, member.active, member.final = run["status"], run["active"], run["final"]
            member.log(f"resumed from bundle checkpoint step {step}")
    else:
        for member in members:
            n_parameters = sum(p.numel() for p in member.module.parameters())
            member.log(
                f"start {member.config.paper}/{member.config.experiment}/{member.config.run_id}: "
                f"{n_parameters:,} parameters, {len(member.dataset.train)} train / "
                f"{len(member.dataset.val)} val examples, device {device}, {threads} thread(s), "
                f"in a bundle of {n_runs} runs"
            )

    save_weights_at = set(cfg.save_weights_at)
    schedule = set(evaluation_steps(cfg.steps, cfg.eval_every, cfg.eval_log_points))
    gradient_noise = [m.config.optimizer.gradient_noise for m in members]
    weight_noise = [m.config.optimizer.weight_noise for m in members]
    requested: list[int] = []

    def on_signal(signum, frame):
        requested.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    session_start = time.perf_counter()

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - session_start

    def load_member(index: int) -> torch.nn.Module:
        """The run's module holding its current slice of the stacked weights."""
        module = members[index].module
        with torch.no_grad():
            for name, parameter in module.named_parameters():
                parameter.copy_(parameters[name][index])
        return module

    def snapshot(index: int) -> dict:
        return {k: v.detach().clone() for k, v in load_member(index).state_dict().items()}

    def record(at: int) -> None:
        """Evaluate every active run at step `at`; stop those that diverged or hit the target."""
        stacked_rows = evaluate_stacked(forward, parameters, splits, at, cfg.loss)
        for index, member in enumerate(members):
            if not member.active:
                continue
            rows = stacked_rows[index]
            if cfg.measures:  # on the run's own module, as a solo run takes them
                add_measures(load_member(index), member.dataset, rows, cfg.measures)
            member.state.rows.extend(rows)
            train_row, val_row = rows
            member.log(
                f"step {at}/{cfg.steps} train_loss {train_row['loss']:.4g} train_acc "
                f"{train_row['accuracy']:.4f} val_loss {val_row['loss']:.4g} val_acc "
                f"{val_row['accuracy']:.4f} ({at / max(elapsed(), 1e-9):.1f} steps/s)"
            )
            if not math.isfinite(train_row["loss"]):
                member.status = "diverged"
                member.log(f"diverged at step {at}: training loss is {train_row['loss']}")
            elif (
                cfg.stop_at_val_accuracy is not None
                and val_row["accuracy"] >= cfg.stop_at_val_accuracy
                and at > 0
            ):
                member.state.stopped_early = True
                member.log(
                    f"validation accuracy {val_row['accuracy']:.4f} >= "
                    f"{cfg.stop_at_val_accuracy}: stopping early"
                )
            else:
                continue
            member.active, member.final = False, snapshot(index)
            member.state.step = at

    def checkpoint() -> None:
        runs = [
            {
                "step": m.state.step,  # the step a stopped run stopped at
                "generator": m.generator.get_state(),
                "epoch_order": m.state.epoch_order,
                "position": m.state.position,
                "rows": m.state.rows,
                "resumed_from": m.state.resumed_from,
                "stopped_early": m.state.stopped_early,
                "status": m.status,
                "active": m.active,
                "final": m.final,
            }
            for m in members
        ]
        path = state_dir / "checkpoints" / f"step_{step:09d}.pt"
        io.write_torch(
            path,
            {
                "configs": [c.to_dict() for c in configs],
                "step": step,
                "elapsed": elapsed(),
                "parameters": parameters,
                "optimizer": optimizer.state_dict(),
                "filter": gradient_filter.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "runs": runs,
            },
        )
        for old in sorted((state_dir / "checkpoints").glob("step_*.pt"))[:-KEEP_CHECKPOINTS]:
            old.unlink(missing_ok=True)

    try:
        if step == 0 and not members[0].state.rows:
            for index, member in enumerate(members):
                if 0 in save_weights_at:
                    save_weights(member.outdir, 0, snapshot(index))
            record(0)
        while any(m.active for m in members) and step < cfg.steps:
            if requested:
                checkpoint()
                for member in members:
                    member.log(f"signal {requested[0]}: bundle checkpoint written at step {step}")
                raise Interrupted(requested[0], step)
            batches = [next_batch(m.state, n_train, cfg.batch_size, m.generator) for m in members]
            if batches[0] is None:
                inputs, labels = train_inputs, train_labels
            else:
                batches = [
                    order.batch(member.state, indices)
                    for order, member, indices in zip(orders, members, batches, strict=True)
                ]
                indices = torch.stack(batches)  # (N, batch), on the device
                inputs, labels = train_inputs[run_index, indices], train_labels[run_index, indices]
            with autocast(device, cfg.autocast):  # the losses are float32 (repro.losses)
                losses = training_losses(parameters, inputs, labels)  # (N, batch)
            optimizer.zero_grad()
            losses.mean(dim=1).sum().backward()  # run i's gradient is that of its own mean
            gradient_filter.apply(stacked)
            add_noise(stacked, gradient_noise, members, gradients=True)
            optimizer.step()
            add_noise(stacked, weight_noise, members, gradients=False)
            step += 1
            for member in members:
                if member.active:
                    member.state.step = step
            if step in save_weights_at:
                for index, member in enumerate(members):
                    if member.active:
                        save_weights(member.outdir, step, snapshot(index))
            if step in schedule:
                record(step)
            if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                checkpoint()
        last = [m for m in members if m.active and m.state.rows[-1]["step"] != step]
        if last:
            record(step)  # the last step is always evaluated
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    wall = elapsed()
    statuses = []
    members_ids = [m.config.run_id for m in members]
    for index, member in enumerate(members):
        weights = member.final if member.final is not None else snapshot(index)
        write_member_outputs(member, weights, wall, device, threads, started, members_ids)
        statuses.append(member.status)
    return statuses


@torch.inference_mode()
def evaluate_stacked(forward, parameters, splits: dict, step: int, loss: str) -> list[list[dict]]:
    """repro.train.evaluate's loss and accuracy rows (train, val) for every run of the bundle
    at once, through the stacked forward in chunks of EVAL_CHUNK examples in all. Evaluating
    each run's module in turn cost as much as a few hundred bundle steps of the LSTM; the
    measures (train.measures) are still taken on each run's module."""
    loss_fn = LOSSES[loss]
    rows: list[list[dict]] = []
    for split_name, (inputs, labels) in splits.items():
        n_runs, n_examples = labels.shape[:2]
        chunk = max(1, EVAL_CHUNK // n_runs)
        loss_sum = torch.zeros(n_runs, device=labels.device)
        n_correct = torch.zeros(n_runs, device=labels.device, dtype=torch.long)
        for start in range(0, n_examples, chunk):
            outputs = forward(parameters, inputs[:, start : start + chunk]).flatten(0, 1)
            targets = labels[:, start : start + chunk].flatten(0, 1)
            loss_sum += loss_fn(outputs, targets).view(n_runs, -1).sum(1)
            hits = correct(loss, outputs, targets)
            if hits is not None:
                n_correct += hits.view(n_runs, -1).sum(1)
        regression = labels.is_floating_point()
        for index, (run_loss, run_correct) in enumerate(
            zip(loss_sum.tolist(), n_correct.tolist(), strict=True)
        ):
            if len(rows) <= index:
                rows.append([])
            rows[index].append(
                evaluation_row(step, split_name, run_loss, run_correct, n_examples, regression)
            )
    return rows


def check_shapes(members: list[Member]) -> None:
    """Data and parameter shapes must agree across the bundle (they follow from the data)."""
    first = members[0]
    reference = {n: p.shape for n, p in first.module.named_parameters()}
    for member in members[1:]:
        where = f"bundle: {member.config.run_id} and {first.config.run_id}"
        for split in ("train", "val"):
            mine, theirs = getattr(member.dataset, split), getattr(first.dataset, split)
            if mine.inputs.shape != theirs.inputs.shape or mine.labels.shape != theirs.labels.shape:
                raise ConfigError(f"{where} have {split} splits of different sizes (data)")
        if {n: p.shape for n, p in member.module.named_parameters()} != reference:
            raise ConfigError(f"{where} build models of different shapes (data)")
    if any(True for _ in first.module.buffers()):
        raise ConfigError(f"model.name: {first.config.model['name']!r} has buffers; not stackable")


@torch.no_grad()
def add_noise(stacked, stds: list[float], members: list[Member], gradients: bool) -> None:
    """Gradient or weight noise per run, drawn from the run's generator on the CPU in the
    order repro.optim.noise draws it for a solo run."""
    for index, std in enumerate(stds):
        if not std:
            continue
        for parameter in stacked:
            target = parameter.grad if gradients else parameter
            if target is None:
                continue
            noise = torch.randn(target.shape[1:], generator=members[index].generator)
            target[index].add_(noise.to(target.device), alpha=std)


def save_weights(outdir: Path, step: int, weights: dict) -> None:
    io.write_torch(outdir / "weights" / f"step_{step:09d}.pt", weights)


def latest_checkpoint(state_dir: Path) -> dict | None:
    paths = sorted((state_dir / "checkpoints").glob("step_*.pt"))
    if not paths:
        return None
    saved = torch.load(paths[-1], map_location="cpu", weights_only=False)
    saved["path"] = paths[-1]
    return saved


def write_member_outputs(member, weights, wall, device, threads, started, member_ids) -> None:
    """The files of a solo run (repro.train), plus the bundle's members in provenance.json;
    the wall time is the whole bundle's."""
    state = member.state
    write_outputs(
        member.outdir,
        member.config,
        state,
        member.status,
        weights,
        wall,
        device,
        threads,
        started,
        bundle=member_ids,
    )
    member.log(f"{member.status}: {state.step} steps in {wall:.1f} s")
    member.log.close()
