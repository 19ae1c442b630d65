"""Models by name: `build_model({"name": ..., **kwargs}, dataset)`.

The dataset supplies the shapes (vocabulary, sequence length, classes, one-hot or tokens); the
config supplies the architecture, as keyword arguments of the model class.
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from repro.config import ConfigError
from repro.models.gnn import GNN
from repro.models.lstm import LSTMClassifier
from repro.models.mlp import MLP
from repro.models.quadratic import QuadraticNet
from repro.models.tickets import TicketsMLP, TicketsMnistMLP, TicketsTransformer
from repro.models.tickets_layered import TicketsLayeredMLP
from repro.models.transformer import Transformer

MODELS = {
    "transformer": Transformer,
    "mlp": MLP,
    "lstm": LSTMClassifier,
    "quadratic": QuadraticNet,
    "gnn": GNN,
    "tickets_mlp": TicketsMLP,
    "tickets_transformer": TicketsTransformer,
    "tickets_mnist_mlp": TicketsMnistMLP,
    "tickets_layered_mlp": TicketsLayeredMLP,
}
SHAPE_ARGUMENTS = ("vocab_size", "seq_len", "n_classes", "onehot")


def check_model_config(model: dict[str, Any]) -> dict[str, Any]:
    """The builder kwargs of a model config; ConfigError on an unknown model or key."""
    name = model.get("name")
    if name not in MODELS:
        raise ConfigError(f"model.name: {name!r} is not one of {sorted(MODELS)}")
    accepted = [p for p in inspect.signature(MODELS[name]).parameters if p not in SHAPE_ARGUMENTS]
    kwargs = {key: value for key, value in model.items() if key != "name"}
    for key in kwargs:
        if key not in accepted:
            raise ConfigError(
                f"model.{key}: unknown key for model {name!r}; expected one of {accepted}"
            )
    return kwargs


def build_model(model: dict[str, Any], dataset) -> nn.Module:
    kwargs = check_model_config(model)
    cls = MODELS[model["name"]]
    onehot = dataset.train.inputs.is_floating_point()
    return cls(
        vocab_size=dataset.vocab_size,
        seq_len=dataset.seq_len,
        n_classes=dataset.n_classes,
        onehot=onehot,
        **kwargs,
    )
