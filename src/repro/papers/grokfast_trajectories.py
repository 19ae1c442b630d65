"""Grokfast Fig. 12 and Table 2: parameter trajectories of the baseline and of Grokfast.

Each run of the trajectory experiment saves its model state at the steps of
`train.save_weights_at` (repro.train writes OUTDIR/weights/step_<9 digits>.pt) and its end state
in OUTDIR/final.pt. The figure code finds them from the aggregated summary: a run's folder is
results/<scale>/grokfast/<experiment>/<run_id>/ (relative to the working directory, which is the
repository root under Snakemake), so the figure rule only needs the summary tables as inputs (they
are made after every run of the experiment has finished, weights included).

Fig. 12 projects every trajectory on the top-2 principal axes of the *baseline's* states of the
same seed (both runs start from the same initialisation, state A), as the paper does. Table 2
gives distances between the states A (initialisation, step 0), B (step 500, the overfit state of
the two-stage strategy) and C (the end of the run).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

WEIGHTS_FILE = re.compile(r"step_(\d+)\.pt$")
STATE_B_STEP = 500  # the paper's state B: the end of the overfitting stage


def run_folder(scale: str, experiment: str, run_id: str, root: Path | str = "results") -> Path:
    """Where the train rule put one run of this paper (workflow/rules/train.smk)."""
    return Path(root) / scale / "grokfast" / experiment / run_id


def flat_state(state: dict[str, torch.Tensor]) -> torch.Tensor:
    """All floating-point tensors of a state dict, in name order, as one float64 vector."""
    parts = [
        state[name].detach().reshape(-1).to(torch.float64)
        for name in sorted(state)
        if state[name].is_floating_point()
    ]
    return torch.cat(parts)


def load_trajectory(folder: Path) -> tuple[np.ndarray, torch.Tensor]:
    """(steps, states): the saved weights of one run in step order, then its end state
    (final.pt) if that step was not saved already. states is (n_states, n_parameters)."""
    folder = Path(folder)
    saved = sorted(
        (int(match.group(1)), path)
        for path in (folder / "weights").glob("step_*.pt")
        if (match := WEIGHTS_FILE.search(path.name))
    )
    steps, vectors = [], []
    for step, path in saved:
        steps.append(step)
        vectors.append(flat_state(torch.load(path, map_location="cpu", weights_only=True)))
    final = torch.load(folder / "final.pt", map_location="cpu", weights_only=False)
    if not steps or steps[-1] != final["step"]:
        steps.append(int(final["step"]))
        vectors.append(flat_state(final["model"]))
    if not vectors:
        raise FileNotFoundError(f"{folder}: no saved weights and no final.pt")
    return np.array(steps), torch.stack(vectors)


def principal_axes(states: torch.Tensor, k: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, axes): the mean state and the top-k principal directions (k, n_parameters) of a
    set of states, from the SVD of the centred (n_states, n_parameters) matrix (n_states is
    small, so the thin SVD is cheap). Signs are fixed so the largest |component| is positive,
    which keeps the figure the same from run to run."""
    mean = states.mean(dim=0)
    _, _, vh = torch.linalg.svd(states - mean, full_matrices=False)
    axes = vh[:k]
    signs = torch.sign(axes.gather(1, axes.abs().argmax(dim=1, keepdim=True)))
    return mean, axes * signs


def project(states: torch.Tensor, mean: torch.Tensor, axes: torch.Tensor) -> np.ndarray:
    """Coordinates (n_states, k) of states on the principal axes."""
    return ((states - mean) @ axes.T).numpy()


def state_at(steps: np.ndarray, states: torch.Tensor, step: int) -> torch.Tensor | None:
    """The saved state at exactly `step`, or None if that step was not saved."""
    hits = np.flatnonzero(steps == step)
    return states[hits[0]] if len(hits) else None


def distances(steps: np.ndarray, states: torch.Tensor, b_step: int = STATE_B_STEP) -> dict:
    """Distances between A (step 0), B (step b_step) and C (the last state), two ways:
    `l2_*` the Euclidean norm of the difference of the flattened parameter vectors, and `msd_*`
    the mean over parameters of the squared difference, x1000. The paper reports "l2 distance
    (x1000)" without the normalisation; its magnitudes (0.97 to 570 for 422k parameters) fit the
    second, so both are kept. A state that was not saved gives NaN."""
    a, b, c = state_at(steps, states, 0), state_at(steps, states, b_step), states[-1]
    out = {}
    for name, (x, y) in {"AB": (a, b), "BC": (b, c), "AC": (a, c)}.items():
        if x is None or y is None:
            out[f"l2_{name}"] = out[f"msd_{name}"] = float("nan")
            continue
        difference = x - y
        out[f"l2_{name}"] = float(difference.norm())
        out[f"msd_{name}"] = float(difference.pow(2).mean() * 1000)
    return out
