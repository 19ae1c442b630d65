"""The typed run config: one object describes a training run completely.

A run config is written by `repro.plan` as JSON and read by `repro.train`. Every config is
checked against `config/schemas/run.schema.yaml` (structure, types, ranges, known names) and
then against the rules a schema cannot say (p is prime, the operation parses), so a bad value
fails with one line naming the key before any compute is spent.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "config" / "schemas"


class ConfigError(ValueError):
    """A config value is wrong; the message is one line naming the key and what was expected."""


@dataclass(frozen=True)
class OptimizerConfig:
    name: str = "adamw"  # adam | adamw | sgd
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-8
    weight_decay: float = 0.0  # coupled L2 for adam/sgd, decoupled for adamw
    momentum: float = 0.0  # sgd only
    nesterov: bool = False
    warmup_steps: int = 0  # linear warm-up from lr/warmup_steps to lr
    gradient_noise: float = 0.0  # std of Gaussian noise added to every gradient entry
    weight_noise: float = 0.0  # std of Gaussian noise added to every weight after a step
    grad_clip: float | None = None  # max global gradient L2 norm, applied before the filter
    linf: float = 0.0  # lambda of the penalty lambda * max_i |theta_i| (repro.optim.linf)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000
    batch_size: int | None = 512  # None: full batch
    eval_every: int = 0  # evaluate every N steps (0: off) ...
    eval_log_points: int = 0  # ... and/or at N log-spaced steps in [1, steps]
    checkpoint_every: int = 0  # 0: only on SIGTERM/SIGINT
    stop_at_val_accuracy: float | None = None  # stop once val accuracy reaches this
    device: str = "cpu"  # cpu | cuda | auto
    measures: tuple[str, ...] = ()  # extra measures logged at every evaluation
    loss: str = "cross_entropy"  # cross_entropy | mse | bce, see repro.losses
    # Runs built on other runs (tickets, pre-grokked models): files under results/ that the
    # train rule takes as inputs, so Snakemake trains the upstream run first. In a paper config
    # they may say {scale}, {paper} and {seed}; the planner fills them in.
    init_from: str | None = None  # a final.pt or weights file whose model state is loaded
    init_parameters: tuple[str, ...] = ()  # load only parameters with these name prefixes
    freeze: tuple[str, ...] = ()  # parameters with these name prefixes are not trained
    mask: str | None = None  # {parameter name: 0/1 tensor}; masked weights stay exactly 0
    save_weights_at: tuple[int, ...] = ()  # steps whose model state goes to weights/
    autocast: str = "none"  # none | bf16: mixed precision of the training forward pass
    dtype: str = "float32"  # float64: model, float inputs and labels (normalised GD at lr 10)
    ntk_points: int = 1000  # examples per split in the eNTK measures (repro.measures.ntk)


@dataclass(frozen=True)
class RunConfig:
    paper: str
    experiment: str
    run_id: str
    seed: int
    data: dict[str, Any]  # {"name": ..., **builder kwargs}, see repro.data
    model: dict[str, Any]  # {"name": ..., **builder kwargs}, see repro.models
    variant: str = ""  # the experiment's variant label ("" when it has none)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    filter: dict[str, Any] = field(default_factory=lambda: {"name": "none"})
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (tuples become lists), as read back from config.json."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def identity(self) -> dict[str, Any]:
        """What makes this run this run: to_dict() without the optimizer and train settings
        that equal their defaults. A new engine setting comes with a default that reproduces
        the old behaviour, so adding one leaves every existing run's identity (Snakemake's
        params, the checkpoint stamp) unchanged instead of making every result stale."""
        return sparse_settings(self.to_dict())


def sparse_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A to_dict()-shaped config (or one read from config.json) without the optimizer and
    train values equal to the dataclass defaults; the other sections are kept as written."""
    sparse = dict(settings)
    for section, defaults in (("optimizer", OptimizerConfig()), ("train", TrainConfig())):
        default = json.loads(json.dumps(dataclasses.asdict(defaults)))
        sparse[section] = {
            key: value
            for key, value in settings.get(section, {}).items()
            if key not in default or value != default[key]
        }
    return sparse


@functools.cache
def load_schema(name: str) -> dict:
    """Parsed once per process (planning checks every run against it); callers only read it."""
    return yaml.safe_load((SCHEMAS / name).read_text())


def check_schema(instance: Any, schema: dict, where: str = "") -> None:
    """Raise ConfigError with one line for the first (most specific) schema violation."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=jsonschema.exceptions.relevance)
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
    prefix = f"{where}: " if where else ""
    raise ConfigError(f"{prefix}{key}: {_short(error)}")


def _short(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, without dumping a whole sub-document."""
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown key")
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {error.validator_value}"
    if error.validator in ("oneOf", "anyOf"):
        return f"{error.instance!r} does not match any allowed form"
    return error.message


def run_config_from_dict(raw: dict[str, Any], where: str = "") -> RunConfig:
    """Check a plain dict (from JSON or the planner) and build the typed config."""
    check_schema(raw, load_schema("run.schema.yaml"), where)
    raw = copy.deepcopy(raw)
    optimizer = raw.pop("optimizer", {})
    if "betas" in optimizer:
        optimizer["betas"] = tuple(optimizer["betas"])
    train = raw.pop("train", {})
    for key in ("measures", "init_parameters", "freeze", "save_weights_at"):
        if key in train:
            train[key] = tuple(train[key])
    config = RunConfig(optimizer=OptimizerConfig(**optimizer), train=TrainConfig(**train), **raw)
    check_semantics(config, where)
    return config


def check_semantics(config: RunConfig, where: str = "") -> None:
    """What the schema cannot say: delegated to the data and model builders' own checks."""
    from repro.data import check_data_config
    from repro.models import check_model_config
    from repro.optim.filters import build_filter

    prefix = f"{where}: " if where else ""
    try:
        check_data_config(config.data)
        check_model_config(config.model)
        build_filter(config.filter)
    except ConfigError as error:
        raise ConfigError(f"{prefix}{error}") from None


def load_run_config(path: Path) -> RunConfig:
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: cannot read a JSON run config ({error})") from None
    return run_config_from_dict(raw, where=str(path))


def deep_merge(base: dict, override: dict) -> dict:
    """A copy of base with override merged in; nested dicts merge, everything else replaces.
    A dict whose "name" changes (another model, dataset or filter) replaces the old one whole:
    the old one's keys belong to something else."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        old = merged.get(key)
        renamed = (
            isinstance(old, dict) and "name" in value and value.get("name") != old.get("name")
            if isinstance(value, dict)
            else False
        )
        if isinstance(value, dict) and isinstance(old, dict) and not renamed:
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def set_dotted(tree: dict, dotted_key: str, value: Any) -> None:
    """tree['a']['b'] = value for dotted_key 'a.b', creating dicts on the way."""
    *parents, leaf = dotted_key.split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
