"""Datasets by name: `build_dataset({"name": ..., **kwargs}, seed)` -> repro.data.modular.Dataset.

Each dataset module has `build(**kwargs)` and `check(**kwargs)` (cheap, raises ConfigError);
new datasets register here. Those with files to download also have `download(root=None,
mirrors=None, **fetch_options)` (see repro.data.fetch), which `python -m repro fetch NAME` calls.
"""

from __future__ import annotations

import inspect
from typing import Any

from repro.config import ConfigError
from repro.data import (
    imdb,
    mnist,
    modular,
    modular_multi,
    modular_power,
    modular_regression,
    poly_regression,
    qm9,
    sparse_parity,
)

DATASETS = {
    "modular": modular,
    "mnist": mnist,
    "imdb": imdb,
    "qm9": qm9,
    "modular_multi": modular_multi,
    "modular_regression": modular_regression,
    "modular_power": modular_power,
    "poly_regression": poly_regression,
    "sparse_parity": sparse_parity,
}
DOWNLOADABLE = {name: module for name, module in DATASETS.items() if hasattr(module, "download")}


def _module(data: dict[str, Any]):
    name = data.get("name")
    if name not in DATASETS:
        raise ConfigError(f"data.name: {name!r} is not one of {sorted(DATASETS)}")
    return DATASETS[name]


def _kwargs(function, data: dict[str, Any]) -> dict[str, Any]:
    kwargs = {key: value for key, value in data.items() if key != "name"}
    accepted = inspect.signature(function).parameters
    for key in kwargs:
        if key not in accepted:
            raise ConfigError(
                f"data.{key}: unknown key for dataset {data['name']!r}; expected "
                f"one of {[k for k in accepted if k != 'split_seed']}"
            )
    for key, parameter in accepted.items():
        required = parameter.default is inspect.Parameter.empty and parameter.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        )
        if required and key not in kwargs:
            raise ConfigError(f"data.{key}: required for dataset {data['name']!r}")
    return kwargs


def check_data_config(data: dict[str, Any]) -> None:
    module = _module(data)
    kwargs = _kwargs(module.build, data)
    module.check(**kwargs)


def build_dataset(data: dict[str, Any], seed: int):
    """The split seed defaults to the run seed (a different split per seed, as in the papers)."""
    module = _module(data)
    kwargs = _kwargs(module.build, data)
    kwargs.setdefault("split_seed", seed)
    return module.build(**kwargs)


def source_note(data: dict[str, Any]) -> str:
    """How a figure caption or the report names a run's data: which source, and whether it is
    a substitute for the papers' data. Empty for generated data (modular arithmetic)."""
    module = _module(data)
    notes = getattr(module, "NOTES", None)
    if not notes:
        return ""
    source = data.get("source", inspect.signature(module.build).parameters["source"].default)
    return notes[source]
