"""Full-batch gradient descent as in "Why Do You Grok?" (App. A): plain GD, theta <- theta -
lr * g, and normalised GD (eq. A.1), theta <- theta - lr * g / ||g||_2 with ONE global L2 norm
over every parameter's gradient (the paper normalises the whole gradient vector, lr 10).

Plain GD is torch's SGD without momentum or weight decay. Normalised GD has no state; a zero
gradient leaves theta unchanged (the step would be 0/0).
"""

from __future__ import annotations

import torch


class NormalizedGD(torch.optim.Optimizer):
    def __init__(self, params, lr: float):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        gradients = [p.grad for group in self.param_groups for p in group["params"]]
        gradients = [g for g in gradients if g is not None]
        if not gradients:
            return loss
        norms = torch.stack([torch.linalg.vector_norm(g) for g in gradients])
        norm = torch.linalg.vector_norm(norms)  # of the whole gradient vector
        # a zero gradient takes no step; computed on the device (no host sync per step)
        inverse = torch.where(norm > 0, 1 / norm, torch.zeros_like(norm))
        for group in self.param_groups:
            for parameter in group["params"]:
                if parameter.grad is not None:
                    parameter.sub_(parameter.grad * (group["lr"] * inverse))
        return loss


def build_gd(parameters, name: str, lr: float) -> torch.optim.Optimizer:
    if name == "gd":
        return torch.optim.SGD(parameters, lr=lr)
    return NormalizedGD(parameters, lr=lr)
