"""Empirical neural tangent kernels with torch.func, and their drift during training.

eNTK of a scalar output g: K_theta(x, x') = <grad_theta g(x), grad_theta g(x')>, i.e. K = J J^T
with J the (examples x parameters) Jacobian. For vector outputs (classifiers) the kernel of the
FIRST logit is used, K = J_1 J_1^T with J_1 = grad_theta f_1 (Mohamadi, Bae, Sutherland 2023,
the approximation "Why Do You Grok?" uses; pass output_index for another logit).

J is computed per example with vmap(jacrev(...)) over torch.func.functional_call (the PyTorch
"Neural Tangent Kernels" tutorial's recipe), in chunks of examples to bound memory; J itself
takes examples x parameters x 4 bytes (1,000 examples x 12k parameters = 48 MB).

Drift measure `ntk_drift` (train.measures): ||K_t - K_0||_F on a fixed random subset of each
split (train.ntk_points examples, the same subset at every evaluation), where K_0 is the kernel
of the run's INITIAL weights. The training loop calls `remember_initial_state` right after the
model is built (before a checkpoint is loaded), so a resumed run has the same theta_0 and logs
the same numbers; theta_0 lives on the model object, not in its state_dict.
"""

from __future__ import annotations

import torch
from torch.func import functional_call, jacrev, vmap

INITIAL = "_repro_initial_parameters"
POINTS = "_repro_ntk_points"
CACHE = "_repro_ntk_initial_kernels"
SUBSET_SEED = 0  # the fixed subset of each split is a seeded permutation's first k examples


def jacobian(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    parameters: dict[str, torch.Tensor] | None = None,
    output_index: int = 0,
    chunk: int = 256,
) -> torch.Tensor:
    """d output / d theta for each example: shape (examples, parameters). The output is the
    model's scalar output per example, or its logit `output_index` for vector outputs."""
    if parameters is None:
        parameters = {name: p.detach() for name, p in model.named_parameters()}

    def output(params, example):
        result = functional_call(model, params, (example.unsqueeze(0),))[0]
        return result if result.dim() == 0 else result[output_index]

    per_example = vmap(jacrev(output), in_dims=(None, 0))
    rows = []
    with torch.inference_mode(False), torch.enable_grad():
        for start in range(0, len(inputs), chunk):
            grads = per_example(parameters, inputs[start : start + chunk])
            rows.append(torch.cat([g.reshape(g.shape[0], -1) for g in grads.values()], dim=1))
    return torch.cat(rows)


def empirical_ntk(model, inputs, parameters=None, output_index: int = 0) -> torch.Tensor:
    """K = J J^T, shape (examples, examples)."""
    jac = jacobian(model, inputs, parameters, output_index)
    return jac @ jac.T


def remember_initial_state(model: torch.nn.Module, ntk_points: int) -> None:
    """Keep theta_0 (and the subset size) on the model, for `ntk_drift`."""
    initial = {name: p.detach().clone() for name, p in model.named_parameters()}
    object.__setattr__(model, INITIAL, initial)
    object.__setattr__(model, POINTS, ntk_points)
    object.__setattr__(model, CACHE, {})


def fixed_subset(inputs: torch.Tensor, k: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(SUBSET_SEED)
    order = torch.randperm(len(inputs), generator=generator)[: min(k, len(inputs))]
    return inputs[order.to(inputs.device)]


def ntk_drift(model, inputs, labels) -> dict[str, float]:
    """||K_t - K_0||_F on the split's fixed subset, also relative to ||K_0||_F."""
    if not hasattr(model, INITIAL):
        raise RuntimeError("ntk_drift needs remember_initial_state(model) before training")
    subset = fixed_subset(inputs, getattr(model, POINTS))
    key = (inputs.data_ptr(), tuple(inputs.shape), len(subset))
    cache = getattr(model, CACHE)
    if key not in cache:
        cache[key] = empirical_ntk(model, subset, getattr(model, INITIAL))
    initial = cache[key]
    drift = torch.linalg.matrix_norm(empirical_ntk(model, subset) - initial)
    return {
        "ntk_drift": float(drift),
        "ntk_drift_relative": float(drift / torch.linalg.matrix_norm(initial)),
    }
