"""Datasets by name: `build_dataset({"name": ..., **kwargs}, seed)` -> repro.data.modular.Dataset.

Each dataset module has `build(**kwargs)` and `check(**kwargs)` (cheap, raises ConfigError);
new datasets (MNIST, QM9, IMDb, ...) register here.
"""

from __future__ import annotations

import inspect
from typing import Any

from repro.config import ConfigError
from repro.data import modular

DATASETS = {"modular": modular}


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
