"""Losses by name: each matches torch's own reduction, and training with them runs."""

import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from repro.config import run_config_from_dict
from repro.losses import LOSSES, correct
from repro.train import train


def test_cross_entropy_mean_matches_torch():
    outputs, labels = torch.randn(7, 5), torch.randint(0, 5, (7,))
    assert torch.allclose(
        LOSSES["cross_entropy"](outputs, labels).mean(), F.cross_entropy(outputs, labels)
    )


def test_mse_on_one_hot_targets_matches_mse_loss():
    outputs, labels = torch.randn(7, 5), torch.randint(0, 5, (7,))
    expected = torch.nn.MSELoss()(outputs, F.one_hot(labels, 5).float())
    assert torch.allclose(LOSSES["mse"](outputs, labels).mean(), expected)


def test_mse_regression_uses_the_float_labels():
    outputs, labels = torch.randn(6, 1), torch.randn(6)
    assert torch.allclose(LOSSES["mse"](outputs, labels), (outputs[:, 0] - labels) ** 2)
    assert correct("mse", outputs, labels) is None


@pytest.mark.parametrize("width", [1, 2])
def test_bce_reads_one_logit_or_a_logit_difference(width):
    outputs, labels = torch.randn(8, width), torch.randint(0, 2, (8,))
    logit = outputs[:, 0] if width == 1 else outputs[:, 1] - outputs[:, 0]
    expected = F.binary_cross_entropy_with_logits(logit, labels.float(), reduction="none")
    assert torch.allclose(LOSSES["bce"](outputs, labels), expected)
    assert torch.equal(correct("bce", outputs, labels), (logit > 0).long() == labels)


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_training_logs_loss_and_accuracy(tiny_run, tmp_path, loss):
    tiny_run["train"].update(steps=5, eval_every=5, checkpoint_every=0, loss=loss)
    train(run_config_from_dict(tiny_run), tmp_path, progress=False)
    metrics = pd.read_parquet(tmp_path / "metrics.parquet")
    assert set(metrics["split"]) == {"train", "val"}
    assert all(math.isfinite(v) for v in metrics["loss"])
    assert metrics["accuracy"].between(0, 1).all()
