"""Extra measures logged at every evaluation, by name (`train.measures` in a run config).

A measure is `fn(model, inputs, labels) -> dict[str, float]`, called once per split under
torch.inference_mode; model-only measures ignore the data. Papers register theirs here.
"""

from __future__ import annotations

import torch

from repro.measures import fourier, tickets
from repro.measures.norms import linf_norm
from repro.measures.ntk import ntk_drift, remember_initial_state
from repro.measures.pair_accuracy import pair_accuracy


def weight_norm(model, inputs, labels) -> dict[str, float]:
    """Global L2 norm of all parameters (the quantity weight decay shrinks)."""
    squares = sum(parameter.detach().pow(2).sum() for parameter in model.parameters())
    return {"weight_norm": float(torch.sqrt(squares))}


MEASURES = {
    "weight_norm": weight_norm,
    # Grokking Tickets
    "weight_norms": tickets.weight_norms,
    "fourier_entropy": tickets.fourier_entropy,
    # Why Do You Grok?
    "linf_norm": linf_norm,
    "pair_accuracy": pair_accuracy,
    "ntk_drift": ntk_drift,
}
MEASURES |= fourier.MEASURES  # modular polynomials: FFD, FCR, Fourier norms, task accuracy


def prepare_measures(model, train_config) -> None:
    """Called once on the freshly built model (before a checkpoint is loaded): measures that
    compare against the initial weights remember them here."""
    if "ntk_drift" in train_config.measures:
        remember_initial_state(model, train_config.ntk_points)
