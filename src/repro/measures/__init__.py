"""Extra measures logged at every evaluation, by name (`train.measures` in a run config).

A measure is `fn(model, inputs, labels) -> dict[str, float]`, called once per split under
torch.inference_mode; model-only measures ignore the data. Papers register theirs here.
"""

from __future__ import annotations

import torch


def weight_norm(model, inputs, labels) -> dict[str, float]:
    """Global L2 norm of all parameters (the quantity weight decay shrinks)."""
    squares = sum(parameter.detach().pow(2).sum() for parameter in model.parameters())
    return {"weight_norm": float(torch.sqrt(squares))}


MEASURES = {"weight_norm": weight_norm}

from repro.measures import tickets  # noqa: E402  (Grokking Tickets)

MEASURES.update(weight_norms=tickets.weight_norms, fourier_entropy=tickets.fourier_entropy)
from repro.measures import fourier  # noqa: E402  (Furuta et al.: FFD, FCR, spectra)

MEASURES.update(fourier.MEASURES)
