"""Analyses of trained runs for Furuta et al. (TMLR 2024) that need the weights, not the logged
curves: Fourier spectra of a final model, logits over every pair (a, b), the key / non-key /
residual ablations of App. E (Table A.4, Fig A.12), and the label statistics of Fig A.23.

A run's final.pt is read from results/<scale>/modular_polynomials/<experiment>/<run_id>/: the
figure rule depends on the experiment's summary, which depends on every final.pt, so these
files exist whenever a figure is drawn.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from repro.data import build_dataset
from repro.data.modular import evaluate
from repro.losses import LOSSES
from repro.measures import fourier
from repro.models import build_model

PAPER = "modular_polynomials"


def final_path(scale: str, experiment: str, run_id: str) -> Path:
    return Path("results") / scale / PAPER / experiment / run_id / "final.pt"


def load_run(scale: str, experiment: str, run_id: str):
    """(model in eval mode, dataset, config dict) of a finished run."""
    saved = torch.load(
        final_path(scale, experiment, run_id), map_location="cpu", weights_only=False
    )
    config = saved["config"]
    dataset = build_dataset(config["data"], config["seed"])
    model = build_model(config["model"], dataset)
    model.load_state_dict(saved["model"])
    model.eval()
    return model, dataset, config


@torch.inference_mode()
def all_logits(model, dataset, task: int = 0) -> torch.Tensor:
    """Logits (p, p, p) over every pair (a, b) of one task, float64: [a, op_task, b, =]."""
    p = dataset.n_classes
    template = dataset.train.inputs
    ops = torch.unique(template[:, 1])
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).unbind(1)
    inputs = torch.stack(
        [a, torch.full_like(a, int(ops[task])), b, torch.full_like(a, int(template[0, 3]))], dim=1
    )
    return model(inputs).to(torch.float64).view(p, p, p)


def spectrum_rows(model) -> dict[str, np.ndarray]:
    """Norms per frequency: we_cos, we_sin, wl_cos, wl_sin (numpy, index k-1)."""
    rows = {}
    for name, (cos, sin) in fourier.spectra(model).items():
        rows[f"{name}_cos"], rows[f"{name}_sin"] = cos.numpy(), sin.numpy()
    return rows


def key_frequencies(model, eta: float = fourier.ETA) -> list[int]:
    """Frequencies k whose cos or sin norm of W_E exceeds eta times the largest of its kind."""
    cos, sin = fourier.components(fourier.embedding(model))
    keep = (cos / cos.max() > eta) | (sin / sin.max() > eta)
    return [k + 1 for k in torch.nonzero(keep).flatten().tolist()]


def frequency_of_rows(p: int) -> torch.Tensor:
    """Frequency k of each basis row: 0 for const, k for cos k and sin k."""
    return (torch.arange(p) + 1) // 2


def component_masks(p: int, key: list[int]) -> dict[str, torch.Tensor]:
    """(p, p) masks over the 2-D basis (row of a, row of b): `key` = the 2x2 blocks at a key
    frequency on both a and b; `non_key` = those blocks at every other frequency k >= 1;
    `residual` = the rest (constant rows, and different frequencies on a and b)."""
    freq = frequency_of_rows(p)
    same = (freq[:, None] == freq[None, :]) & (freq[:, None] > 0)
    is_key = torch.zeros(p, dtype=torch.bool)
    is_key[[2 * k - 1 for k in key] + [2 * k for k in key]] = True
    key_mask = same & is_key[:, None]
    non_key = same & ~is_key[:, None]
    return {"key": key_mask, "non_key": non_key, "residual": ~(key_mask | non_key)}


def coefficients_2d(logits: torch.Tensor) -> torch.Tensor:
    """(p, p, n_out) coefficients of logits (p, p, n_out) in the 2-D Fourier basis of (a, b)."""
    basis = fourier.basis(logits.shape[0])
    return torch.einsum("jb,ibc->ijc", basis, torch.einsum("ia,abc->ibc", basis, logits))


def reconstruct(coefficients: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The logits rebuilt from the coefficients selected by a (p, p) mask."""
    basis = fourier.basis(coefficients.shape[0])
    kept = coefficients * mask[..., None].to(coefficients.dtype)
    return torch.einsum("ia,ibc->abc", basis, torch.einsum("jb,ijc->ibc", basis, kept))


def project(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The logits rebuilt from the 2-D Fourier components of (a, b) selected by mask."""
    return reconstruct(coefficients_2d(logits), mask)


def pair_loss(logits: torch.Tensor, split) -> float:
    """Mean cross-entropy of (p, p, p) logits on a split's pairs (a = token 0, b = token 2)."""
    chosen = logits[split.inputs[:, 0], split.inputs[:, 2]]
    return float(LOSSES["cross_entropy"](chosen, split.labels).mean())


ABLATIONS = {
    "train (all components)": ("key", "non_key", "residual"),
    "restricted (key only)": ("key",),
    "(a) non-key only": ("non_key",),
    "(b) residual only": ("residual",),
    "(c) key + non-key": ("key", "non_key"),
    "(d) key + residual": ("key", "residual"),
    "(e) non-key + residual": ("non_key", "residual"),
}


def ablation_losses(model, dataset) -> tuple[dict[str, float], pd.DataFrame, list[int]]:
    """Table A.4's losses on the training pairs, and Fig A.12's loss with each frequency's
    block (on both a and b) removed. Returns (losses, per-frequency frame, key frequencies)."""
    p = dataset.n_classes
    logits = all_logits(model, dataset)
    coefficients = coefficients_2d(logits)
    key = key_frequencies(model)
    masks = component_masks(p, key)
    losses = {}
    for name, parts in ABLATIONS.items():
        mask = torch.zeros(p, p, dtype=torch.bool)
        for part in parts:
            mask |= masks[part]
        losses[name] = pair_loss(reconstruct(coefficients, mask), dataset.train)
    basis = fourier.basis(p)
    rows = []
    for k in range(1, p // 2 + 1):
        block = [2 * k - 1, 2 * k]  # remove the (cos k, sin k) x (cos k, sin k) block
        part = coefficients[block][:, block]
        removed = torch.einsum("ia,jb,ijc->abc", basis[block], basis[block], part)
        ablated = pair_loss(logits - removed, dataset.train)
        rows.append({"frequency": k, "key": k in key, "ablated_loss": ablated})
    return losses, pd.DataFrame(rows), key


def label_statistics(operation: str, p: int, fraction: float, n_splits: int) -> dict[str, float]:
    """Fig A.23: over random splits, KL(train || test) of the label histograms and the entropy
    of each (nats), averaged. Uses the same pairs and split sizes as the training data."""
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).unbind(1)
    labels, valid = evaluate(operation, a, b, p)
    labels = labels[valid]
    n_train = round(fraction * len(labels))
    generator = torch.Generator().manual_seed(0)
    kl, h_train, h_test = [], [], []
    for _ in range(n_splits):
        order = torch.randperm(len(labels), generator=generator)
        train = torch.bincount(labels[order[:n_train]], minlength=p).double() + 1e-12
        test = torch.bincount(labels[order[n_train:]], minlength=p).double() + 1e-12
        train, test = train / train.sum(), test / test.sum()
        kl.append(float((train * (train / test).log()).sum()))
        h_train.append(float(-(train * train.log()).sum()))
        h_test.append(float(-(test * test.log()).sum()))
    full = torch.bincount(labels, minlength=p).double() / len(labels)
    return {
        "kl_train_test": float(np.mean(kl)),
        "entropy_train": float(np.mean(h_train)),
        "entropy_test": float(np.mean(h_test)),
        "entropy_all": float(-(full[full > 0] * full[full > 0].log()).sum()),
        "max_entropy": math.log(p),
    }
