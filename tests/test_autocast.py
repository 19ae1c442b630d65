"""train.autocast: `none` changes nothing, `bf16` trains (in bf16 rounding)."""

import contextlib

import pandas as pd
import pytest

import repro.train
from repro.config import ConfigError, run_config_from_dict
from repro.train import train


def metrics(outdir):
    return pd.read_parquet(outdir / "metrics.parquet")


def test_none_is_bit_identical_to_the_loop_without_the_switch(tiny_run, tmp_path, monkeypatch):
    tiny_run["train"]["autocast"] = "none"
    train(run_config_from_dict(tiny_run), tmp_path / "switch")
    # the loop as it was before the switch: no context manager around the forward pass
    monkeypatch.setattr(repro.train, "autocast", lambda device, mode: contextlib.nullcontext())
    train(run_config_from_dict(tiny_run), tmp_path / "plain")
    pd.testing.assert_frame_equal(
        metrics(tmp_path / "switch"), metrics(tmp_path / "plain"), check_exact=True
    )


def test_bf16_trains_and_rounds_differently(tiny_run, tmp_path):
    train(run_config_from_dict(tiny_run), tmp_path / "fp32")
    tiny_run["train"]["autocast"] = "bf16"
    assert train(run_config_from_dict(tiny_run), tmp_path / "bf16") == "completed"
    fp32, bf16 = metrics(tmp_path / "fp32"), metrics(tmp_path / "bf16")
    assert bf16["loss"].notna().all() and len(bf16) == len(fp32)
    # step 0 is evaluated before any update (in float32): identical; later steps are not
    assert bf16["loss"].iloc[:2].tolist() == fp32["loss"].iloc[:2].tolist()
    assert not bf16["loss"].equals(fp32["loss"])
    assert (bf16["loss"] - fp32["loss"]).abs().max() < 0.5


def test_unknown_mode_is_a_config_error(tiny_run):
    tiny_run["train"]["autocast"] = "fp16"
    with pytest.raises(ConfigError, match="train.autocast"):
        run_config_from_dict(tiny_run)
