"""Pruning masks and their controls (Grokking Tickets, arXiv 2310.19470, v3 sections 3-4).

Conventions (the official code's `sparsity` / `--prune_rate` is the fraction KEPT; here it is not):
- `pruning_rate` k is the fraction of weights REMOVED. k = 0.6 keeps 40% of the weights.
- The pruned set is every weight matrix (parameters with 2 or more dimensions), pooled into one
  global ranking, as the official code prunes every weight of its bias-free models (MLP: W_E,
  W_in, W_out, W_U; Transformer: also W_Q, W_K, W_V, W_O). Vectors (biases, LayerNorm gains,
  none in the tickets models) are never pruned.
- A score is kept when it is among the highest: magnitude |theta_t|; SNIP |g * theta|; GraSP
  theta * (H g) (keeping its highest equals GraSP's removal of the highest -theta * Hg); SynFlow
  |dR/dtheta * theta| on the sign-stripped network; random: Gaussian scores.
- Exactly round(k * N) weights are removed (ties broken by position, so the count is exact and
  the mask deterministic), N the number of weights in the pruned set.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call

from repro.config import ConfigError
from repro.losses import LOSSES

METHODS = ("magnitude", "random", "snip", "grasp", "synflow")
NORM_CONTROLS = ("l1", "l2")
GRASP_TEMPERATURE = 200.0  # logits / T before the loss (GraSP's and the official code's value)


def prunable(state: dict[str, torch.Tensor]) -> list[str]:
    """Names of the weights that are ranked and pruned: every tensor with >= 2 dimensions."""
    return [name for name, value in state.items() if value.dim() >= 2]


def check_rate(pruning_rate: float) -> None:
    if not 0 <= pruning_rate < 1:
        raise ConfigError(f"pruning_rate: {pruning_rate} is outside [0, 1) (fraction removed)")


def global_mask(scores: dict[str, torch.Tensor], pruning_rate: float) -> dict[str, torch.Tensor]:
    """{name: 0/1 float mask} keeping the highest scores over all tensors together; exactly
    round(pruning_rate * N) entries are 0."""
    check_rate(pruning_rate)
    names = list(scores)
    flat = torch.cat([scores[name].detach().flatten().double() for name in names])
    n_removed = round(pruning_rate * flat.numel())
    order = torch.argsort(flat, stable=True)  # ascending; equal scores by position
    keep = torch.ones_like(flat)
    keep[order[:n_removed]] = 0.0
    masks, start = {}, 0
    for name in names:
        size = scores[name].numel()
        masks[name] = keep[start : start + size].view_as(scores[name]).float()
        start += size
    return masks


def kept_fraction(masks: dict[str, torch.Tensor]) -> float:
    kept = sum(float(mask.sum()) for mask in masks.values())
    return kept / sum(mask.numel() for mask in masks.values())


def magnitude_scores(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: state[name].detach().abs() for name in prunable(state)}


def random_scores(state: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.randn(state[name].shape, generator=generator) for name in prunable(state)}


def _weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """Detached copies of every parameter that require gradients (for functional calls)."""
    return {name: p.detach().clone().requires_grad_() for name, p in model.named_parameters()}


def snip_scores(model: nn.Module, inputs, labels, loss: str = "cross_entropy"):
    """|dL/dtheta * theta| (Lee et al. 2019: the gradient with respect to the mask at 1)."""
    params = _weights(model)
    names = prunable(params)
    value = LOSSES[loss](functional_call(model, params, (inputs,)), labels).mean()
    grads = torch.autograd.grad(value, [params[n] for n in names])
    return {n: (g * params[n]).abs().detach() for n, g in zip(names, grads, strict=True)}


def grasp_scores(
    model: nn.Module, inputs, labels, loss: str = "cross_entropy", temperature=GRASP_TEMPERATURE
):
    """theta * (H g) with g the gradient of the loss on logits / temperature (Wang et al. 2020).
    The highest are kept: pruning them would most reduce the gradient flow g^T g."""
    params = _weights(model)
    names = prunable(params)
    logits = functional_call(model, params, (inputs,)) / temperature
    value = LOSSES[loss](logits, labels).mean()
    grads = torch.autograd.grad(value, [params[n] for n in names], create_graph=True)
    flow = sum((g * g.detach()).sum() for g in grads)  # g^T stop_grad(g): its gradient is H g
    hessian_grads = torch.autograd.grad(flow, [params[n] for n in names])
    return {n: (hg * params[n]).detach() for n, hg in zip(names, hessian_grads, strict=True)}


def synflow_scores(model: nn.Module, inputs):
    """|dR/dtheta * theta| with R = sum of the outputs of the network whose weights are |theta|
    (Tanaka et al. 2020), single shot and on a real input batch as in the official tickets code
    (the original iterates 100 times on an all-ones input). Float64 against overflow."""
    params = {
        name: p.detach().abs().double().requires_grad_() for name, p in model.named_parameters()
    }
    names = prunable(params)
    total = functional_call(model.double(), params, (inputs.double(),)).sum()
    model.float()
    grads = torch.autograd.grad(total, [params[n] for n in names])
    return {n: (g * params[n]).abs().float().detach() for n, g in zip(names, grads, strict=True)}


def norm(tensors, p: int) -> float:
    """Sum over tensors of each tensor's L_p norm (the official code's per-tensor sum)."""
    return sum(float(torch.linalg.vector_norm(t.double().flatten(), ord=p)) for t in tensors)


def norm_ratio(state: dict[str, torch.Tensor], masks: dict[str, torch.Tensor], p: int) -> float:
    """r_p = sum_i ||W_i * m_i||_p / sum_i ||W_i||_p over the pruned weights (v3 section 4.1).
    For p = 1 this is the global ratio; for p = 2 a ratio of sums of per-tensor norms."""
    if p not in (1, 2):
        raise ConfigError(f"norm control: p={p}; expected 1 or 2")
    names = list(masks)
    masked = norm((state[n] * masks[n] for n in names), p)
    return masked / norm((state[n] for n in names), p)


def norm_matched_state(
    state: dict[str, torch.Tensor], masks: dict[str, torch.Tensor], p: int
) -> tuple[dict[str, torch.Tensor], float]:
    """The dense control's initial weights r_p * theta_0 (every tensor scaled by the one scalar),
    so that its summed L_p norm equals the ticket's at initialisation; and r_p."""
    ratio = norm_ratio(state, masks, p)
    return {name: value * ratio for name, value in state.items()}, ratio


def jaccard_distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> dict[str, float]:
    """Per tensor: 1 - |a and b| / |a or b| of two 0/1 masks (v3 section 5.1)."""
    distances = {}
    for name in a:
        x, y = a[name].bool(), b[name].bool()
        union = int((x | y).sum())
        distances[name] = 1.0 - int((x & y).sum()) / union if union else math.nan
    return distances
