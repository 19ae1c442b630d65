"""The Adam/AdamW implementation chosen by measurement (fused) gives foreach's metrics to float32
rounding: same formula, another operation order, so not bit for bit."""

import pandas as pd
import pytest
import torch

import repro.optim
from repro.config import OptimizerConfig, run_config_from_dict
from repro.optim import build_optimizer
from repro.train import train


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_is_the_default_on_cpu(name):
    optimizer = build_optimizer([torch.zeros(3, requires_grad=True)], OptimizerConfig(name=name))
    assert optimizer.defaults["fused"] is True


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_metrics_match_foreach_to_float_tolerance(tiny_run, tmp_path, monkeypatch, name):
    tiny_run["optimizer"]["name"] = name
    train(run_config_from_dict(tiny_run), tmp_path / "fused")
    monkeypatch.setattr(repro.optim, "adam_implementation", lambda parameters: {"foreach": True})
    train(run_config_from_dict(tiny_run), tmp_path / "foreach")
    fused = pd.read_parquet(tmp_path / "fused" / "metrics.parquet")
    foreach = pd.read_parquet(tmp_path / "foreach" / "metrics.parquet")
    pd.testing.assert_frame_equal(fused, foreach, check_exact=False, rtol=1e-4, atol=1e-6)
