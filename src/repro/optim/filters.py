"""Gradient filters: stateful transforms of the gradients between backward and the optimizer step.

A filter is an object with `apply(parameters)`, `state_dict()` and `load_state_dict(state)`; its
state is saved in every checkpoint so a resumed run continues exactly. The Grokfast filters
(EMA, MA, ...) register in FILTERS.
"""

from __future__ import annotations

from typing import Any

from repro.config import ConfigError
from repro.optim.grokfast import GROKFAST_FILTERS


class NoFilter:
    def apply(self, parameters) -> None:
        pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


FILTERS = {"none": NoFilter, **GROKFAST_FILTERS}  # ema, ma, highpass: see repro.optim.grokfast


def build_filter(config: dict[str, Any]):
    kwargs = dict(config)
    name = kwargs.pop("name", "none")
    if name not in FILTERS:
        raise ConfigError(f"filter.name: {name!r} is not one of {sorted(FILTERS)}")
    try:
        return FILTERS[name](**kwargs)
    except TypeError as error:
        raise ConfigError(f"filter: {error}") from None
