"""Fourier analysis of grokked transformers on (a o b) mod p (Furuta et al., TMLR 2024).

The 1-D Fourier basis mod p has p unit-norm rows over the inputs t = 0..p-1, ordered
[const, cos 1, sin 1, cos 2, sin 2, ..., cos K, sin K] with K = floor(p/2) and w_k = 2 pi k / p.
A weight matrix W with a p-long input axis (the embedding W_E of the p number tokens, or the
neuron-logit map W_L = W_U W_out over the p answers) is projected on it; the cosine coefficient
mu_k and the sine coefficient nu_k are vectors over the other axis, and their L2 norms are what
the paper plots (its App. B form: unit-norm basis over all p inputs).

Note: the paper's App. B snippet names row 0 of its [cos, sin] split "sin"; the cos/sin labels
of plots made with it are swapped. Here `components()` returns (cos, sin) in that order, so
labels are right. FFD and FCR are symmetric in mu and nu, so the slip does not change them.

- FFD (Fourier Frequency Density), eta = 0.5:
  (1 / 2K) sum_k ( 1[|mu_k| / max_i |mu_i| > eta] + 1[|nu_k| / max_j |nu_j| > eta] ).
  Few key frequencies (addition) give a low FFD; every frequency in use (multiplication) gives 1.
- FCR (Fourier Coefficient Ratio): (1 / K) sum_k min(|mu_k| / |nu_k|, |nu_k| / |mu_k|) in
  (0, 1]; low when the components are cos- or sin-biased (multiplication).
"""

from __future__ import annotations

import math

import torch

ETA = 0.5  # the paper's threshold (App. H: lower delays the drop, higher converges too fast)


def basis(p: int, dtype=torch.float64) -> torch.Tensor:
    """(p, p) orthonormal Fourier basis; row 0 constant, rows 2k-1 / 2k cos / sin of freq k."""
    t = torch.arange(p, dtype=dtype)
    rows = [torch.ones(p, dtype=dtype)]
    for k in range(1, p // 2 + 1):
        rows.append(torch.cos(2 * math.pi * k * t / p))
        rows.append(torch.sin(2 * math.pi * k * t / p))
    rows = torch.stack(rows)
    return rows / rows.norm(dim=1, keepdim=True)


def labels(p: int) -> list[str]:
    """Names of the basis rows: const, cos 1, sin 1, ..."""
    return ["const"] + [f"{kind} {k}" for k in range(1, p // 2 + 1) for kind in ("cos", "sin")]


def components(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(|mu_k|, |nu_k|) for k = 1..floor(p/2): norms of the cos and sin coefficients of a
    (p, d) matrix along its first (p-long) axis."""
    p = weight.shape[0]
    coefficients = basis(p) @ weight.detach().to(torch.float64).cpu()  # (p, d)
    norms = coefficients.norm(dim=1)
    return norms[1::2], norms[2::2]


def ffd(cos: torch.Tensor, sin: torch.Tensor, eta: float = ETA) -> float:
    """Fraction of cos and sin components above eta times the largest of their own kind."""
    above = (cos / cos.max().clamp_min(1e-300) > eta).sum() + (
        sin / sin.max().clamp_min(1e-300) > eta
    ).sum()
    return float(above) / (2 * len(cos))


def fcr(cos: torch.Tensor, sin: torch.Tensor) -> float:
    """Mean over frequencies of min(|mu|/|nu|, |nu|/|mu|); a frequency where both are 0 counts 1."""
    low, high = torch.minimum(cos, sin), torch.maximum(cos, sin)
    ratio = torch.where(high > 0, low / high.clamp_min(1e-300), torch.ones_like(high))
    return float(ratio.mean())


# --- the matrices of the paper's 1-layer transformer (repro.models.transformer) ---


def n_numbers(model) -> int:
    """p: the answers are the p numbers (the unembedding has one row per class)."""
    return model.unembed.weight.shape[0]


def embedding(model) -> torch.Tensor:
    """W_E of the p number tokens as (p, d_emb): tokens 0..p-1 are the numbers."""
    if not hasattr(model, "embed") or not hasattr(model, "unembed"):
        raise ValueError("the Fourier measures need a transformer (model.embed, model.unembed)")
    table = model.embed.weight.weight
    table = table if not model.embed.onehot else table.T  # Linear stores (d, vocab)
    return table[: n_numbers(model)]


def neuron_logit_map(model) -> torch.Tensor:
    """W_L = W_U W_out as (p, d_mlp): how each MLP neuron of the last block moves each logit."""
    w_out = model.blocks[-1].mlp[-1].weight  # (d_model, d_mlp)
    return model.unembed.weight @ w_out


def spectra(model) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{"we": (cos, sin), "wl": (cos, sin)} norms per frequency."""
    return {"we": components(embedding(model)), "wl": components(neuron_logit_map(model))}


def ffd_fcr(model, inputs=None, labels=None) -> dict[str, float]:
    """The progress measures of W_E and W_L at eta = 0.5 (a measure: data ignored)."""
    row = {}
    for name, (cos, sin) in spectra(model).items():
        row[f"ffd_{name}"] = ffd(cos, sin)
        row[f"fcr_{name}"] = fcr(cos, sin)
    return row


def fourier_norms(model, inputs=None, labels=None) -> dict[str, float]:
    """Every |mu_k| and |nu_k| of W_E and W_L (columns we_cos_1, we_sin_1, ..., wl_sin_K): FFD at
    any other eta (Fig A.16) and the spectra over training are recomputed from these."""
    row = {}
    for name, (cos, sin) in spectra(model).items():
        for k, (c, s) in enumerate(zip(cos.tolist(), sin.tolist(), strict=True), start=1):
            row[f"{name}_cos_{k}"] = c
            row[f"{name}_sin_{k}"] = s
    return row


def logit_spectrum(logits: torch.Tensor) -> torch.Tensor:
    """Norms (over the answer axis) of logits (p, p, n_out) over (a, b) in the 2-D Fourier
    basis: a (p, p) map indexed by (basis row of a, basis row of b)."""
    p = logits.shape[0]
    fourier = basis(p)
    coefficients = torch.einsum("ia,jb,abc->ijc", fourier, fourier, logits.to(torch.float64))
    return coefficients.norm(dim=-1)


def task_accuracy(model, inputs, labels) -> dict[str, float]:
    """Accuracy per operation token (position 1 of [a, op, b, =]); one task when all share it.
    Columns accuracy_task0, accuracy_task1, ... in the order of the op tokens."""
    predictions = torch.cat(
        [model(inputs[start : start + 8192]).argmax(-1) for start in range(0, len(inputs), 8192)]
    )
    hits = predictions == labels
    ops = inputs[:, 1]
    return {
        f"accuracy_task{index}": float(hits[ops == op].float().mean())
        for index, op in enumerate(torch.unique(ops).tolist())
    }


MEASURES = {"ffd_fcr": ffd_fcr, "fourier_norms": fourier_norms, "task_accuracy": task_accuracy}
