"""The l_inf penalty of "Why Do You Grok?" (eq. 2.2): L = loss + lambda * ||theta||_inf, with
||theta||_inf = max_i |theta_i| over ALL parameters (one vector, not per tensor).

Its subgradient is lambda * sign(theta_i*) at the arg-max entry i* only, zero elsewhere; a tie
picks the first maximal entry in parameter order (torch.argmax), and an all-zero theta gets
sign(0) = 0, i.e. no push. Added to the gradients right after backward (`optimizer.linf` in a
run config), so filters, normalised GD and the optimizer all see the regularised gradient.
"""

from __future__ import annotations

import torch


def linf_norm(parameters) -> torch.Tensor:
    return torch.stack([p.detach().abs().max() for p in parameters if p.numel()]).max()


@torch.no_grad()
def add_linf_subgradient(parameters, strength: float) -> None:
    """grad[i*] += strength * sign(theta[i*]) for the largest |theta| over every parameter."""
    if strength == 0:
        return
    parameters = [p for p in parameters if p.numel()]
    maxima = torch.stack([p.abs().max() for p in parameters])
    # the first tensor holding the global maximum, found on the device (no host sync per step)
    holds_max = maxima == maxima.max()
    owner = holds_max & (holds_max.cumsum(0) == 1)
    for index, parameter in enumerate(parameters):
        if parameter.grad is None:  # no loss gradient (none in the papers' nets): a zero one
            parameter.grad = torch.zeros_like(parameter)
        flat_index = parameter.abs().argmax().view(1)
        entry = parameter.view(-1).index_select(0, flat_index)
        step = strength * torch.sign(entry) * owner[index]  # 0 except in the owner
        parameter.grad.view(-1).index_add_(0, flat_index, step)
