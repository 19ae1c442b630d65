"""Parameter norms logged as measures (model-only: the data arguments are ignored)."""

from __future__ import annotations

from repro.optim.linf import linf_norm as _linf


def linf_norm(model, inputs, labels) -> dict[str, float]:
    """||theta||_inf = max_i |theta_i| over every parameter (what the l_inf penalty bounds)."""
    return {"linf_norm": float(_linf(list(model.parameters())))}
