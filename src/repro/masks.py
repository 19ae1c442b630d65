"""`python -m repro mask RUN_DIR ...`: the files a ticket, PaI or control run starts from, made
from a trained base run (its config.json, final.pt and weights/step_*.pt snapshots).

    magnitude: the grokked (or non-grokked) ticket: |theta_t| of the base run at --step t
    random, snip, grasp, synflow: pruning at initialisation, scored on theta_0 (and the base run's
        training set for snip/grasp/synflow)
    l1, l2: not a mask but the initial weights r_p * theta_0 of the dense norm-matched control,
        r_p from the magnitude mask at --step and --rate (load with train.init_from)
    weights: the base run's model state at --step, as it is (--rate 0): the start theta_mem of
        the edge-popup runs (train.init_from), declared as a file Snakemake can ask for

Masks are {parameter name: 0/1 tensor} (train.mask). The ticket itself is not rewound here: a
run with the same seed and model config starts from the same theta_0, which this command checks
against the base run's weights/step_000000000.pt whenever that snapshot exists.
"""

from __future__ import annotations

from pathlib import Path

import torch

from repro import io, prune
from repro.config import ConfigError, load_run_config
from repro.data import build_dataset
from repro.models import build_model

CHOICES = prune.METHODS + prune.NORM_CONTROLS + ("weights",)


def weights_at(run_dir: Path, step: str) -> dict[str, torch.Tensor]:
    """The base run's model state at `step` ("final" or an integer it saved)."""
    if step == "final":
        path = run_dir / "final.pt"
    else:
        path = run_dir / "weights" / f"step_{int(step):09d}.pt"
    if not path.exists():
        saved = sorted(p.stem for p in (run_dir / "weights").glob("step_*.pt"))
        raise ConfigError(
            f"mask --step {step}: {path} does not exist; the base run saved {saved} "
            "(add the step to its train.save_weights_at)"
        )
    saved = torch.load(path, map_location="cpu", weights_only=False)
    return saved.get("model", saved)


def initial_model(run_dir: Path):
    """The base run's model at theta_0 and its dataset, rebuilt from its config and seed the way
    repro.train builds them; checked against the step-0 snapshot when there is one."""
    config = load_run_config(run_dir / "config.json")
    torch.manual_seed(config.seed)
    dataset = build_dataset(config.data, config.seed)
    model = build_model(config.model, dataset)
    snapshot = run_dir / "weights" / "step_000000000.pt"
    if snapshot.exists():
        saved = torch.load(snapshot, map_location="cpu", weights_only=True)
        for name, value in model.state_dict().items():
            if not torch.equal(value, saved[name]):
                raise ConfigError(
                    f"mask: rebuilding {run_dir}'s model from its seed does not give its step-0 "
                    f"weights ({name}); a ticket would not be rewound to theta_0"
                )
    return config, dataset, model


def make(run_dir: Path, method: str, pruning_rate: float, step: str, seed: int = 0):
    """(the object to save, a one-line description)."""
    run_dir = Path(run_dir)
    if method not in CHOICES:
        raise ConfigError(f"mask --method: {method!r} is not one of {list(CHOICES)}")
    prune.check_rate(pruning_rate)
    if method == "weights":
        if pruning_rate != 0:
            raise ConfigError(
                f"mask --method weights copies a snapshot: --rate must be 0, not {pruning_rate}"
            )
        return weights_at(run_dir, step), f"the base run's weights at step {step}"
    config, dataset, model = initial_model(run_dir)
    theta0 = {name: value.detach().clone() for name, value in model.state_dict().items()}
    inputs, labels = dataset.train.inputs, dataset.train.labels
    loss = config.train.loss
    if method in ("magnitude", "l1", "l2"):
        scores = prune.magnitude_scores(weights_at(run_dir, step))
    elif method == "random":
        scores = prune.random_scores(theta0, seed)
    elif method == "snip":
        scores = prune.snip_scores(model, inputs, labels, loss)
    elif method == "grasp":
        scores = prune.grasp_scores(model, inputs, labels, loss)
    else:
        scores = prune.synflow_scores(model, inputs)
    masks = prune.global_mask(scores, pruning_rate)
    kept = prune.kept_fraction(masks)
    if method in prune.NORM_CONTROLS:
        p = int(method[1])
        state, ratio = prune.norm_matched_state(theta0, masks, p)
        return state, f"{method} control: r_{p} = {ratio:.6f} (ticket kept {kept:.4f})"
    return masks, f"{method} mask: pruning rate {pruning_rate}, kept fraction {kept:.6f}"


def cmd_mask(args) -> None:
    made, description = make(Path(args.run_dir), args.method, args.rate, args.step, args.seed)
    io.write_torch(args.out, made)
    print(f"{args.out}: {description}")


def add_parser(commands) -> None:
    mask = commands.add_parser(
        "mask", help="write a pruning mask (or a norm-matched initial state) from a base run"
    )
    mask.add_argument("run_dir", help="the trained base run (config.json, final.pt, weights/)")
    mask.add_argument("--method", required=True, choices=CHOICES)
    mask.add_argument(
        "--rate", type=float, required=True, help="pruning rate k: the fraction REMOVED"
    )
    mask.add_argument("--step", default="final", help="base-run step of the magnitudes")
    mask.add_argument("--seed", type=int, default=0, help="random scores only")
    mask.add_argument("--out", required=True, help="the file to write (atomically)")
    mask.set_defaults(func=cmd_mask)
