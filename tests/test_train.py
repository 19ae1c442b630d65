import json
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from conftest import ROOT, shell_env
from repro.config import run_config_from_dict
from repro.train import checkpoint_paths, discard_stale_checkpoints, train

FINAL_FILES = ("config.json", "metrics.parquet", "final.pt", "provenance.json")


def weights(outdir):
    return torch.load(outdir / "final.pt", weights_only=False)["model"]


def assert_same_run(first, second):
    pd.testing.assert_frame_equal(
        pd.read_parquet(first / "metrics.parquet"),
        pd.read_parquet(second / "metrics.parquet"),
        check_exact=True,
    )
    a, b = weights(first), weights(second)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_outputs_and_provenance(tiny_run, tmp_path):
    tiny_run["train"]["measures"] = ["weight_norm"]
    assert train(run_config_from_dict(tiny_run), tmp_path) == "completed"
    assert all((tmp_path / name).exists() for name in FINAL_FILES)
    metrics = pd.read_parquet(tmp_path / "metrics.parquet")
    assert list(metrics.columns) == ["step", "split", "loss", "accuracy", "weight_norm"]
    assert sorted(set(metrics["step"])) == [0, 10, 20, 30, 40]
    provenance = json.loads((tmp_path / "provenance.json").read_text())
    for key in ("config", "seed", "git", "packages", "host", "wall_time_s", "status"):
        assert key in provenance
    assert provenance["packages"]["torch"].startswith("2.13")
    assert "step 40/40" in (tmp_path / "log.txt").read_text()


def test_same_seed_same_metrics_bit_for_bit(tiny_run, tmp_path):
    config = run_config_from_dict(tiny_run)
    train(config, tmp_path / "a")
    train(config, tmp_path / "b")
    assert_same_run(tmp_path / "a", tmp_path / "b")
    other = run_config_from_dict({**tiny_run, "seed": 1})
    train(other, tmp_path / "c")
    assert not pd.read_parquet(tmp_path / "c" / "metrics.parquet").equals(
        pd.read_parquet(tmp_path / "a" / "metrics.parquet")
    )


def test_training_keeps_freed_memory_and_skips_the_nan_fill(tiny_run, tmp_path):
    """The two process settings train() makes for speed (repro.allocator, use_deterministic):
    glibc keeps freed pages; deterministic kernels on, the NaN fill of new tensors off."""
    import platform

    from repro.allocator import keep_freed_memory

    train(run_config_from_dict(tiny_run), tmp_path)
    assert keep_freed_memory() == (platform.libc_ver()[0] == "glibc")
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.utils.deterministic.fill_uninitialized_memory


@pytest.mark.parametrize("noise", [{}, {"gradient_noise": 0.01, "weight_noise": 0.001}])
def test_resume_from_a_checkpoint_ends_identical(tiny_run, tmp_path, noise):
    """Keep only the step-30 checkpoint of a finished run, as if it had been killed there."""
    tiny_run["optimizer"].update(noise)
    tiny_run["model"]["dropout"] = 0.1  # the global RNG state must be restored as well
    config = run_config_from_dict(tiny_run)
    train(config, tmp_path / "whole")
    killed = tmp_path / "killed"
    train(config, killed)
    for path in checkpoint_paths(killed):
        if not path.name.endswith("000000030.pt"):
            path.unlink()
    for name in FINAL_FILES:
        (killed / name).unlink()
    train(config, killed)
    assert "resumed from step_000000030.pt" in (killed / "log.txt").read_text()
    assert json.loads((killed / "provenance.json").read_text())["resumed_from_steps"] == [30]
    assert_same_run(tmp_path / "whole", killed)


def test_checkpoints_of_another_config_are_not_resumed(tiny_run, tmp_path):
    """An edited config reruns the run in the same folder: it must start from scratch."""
    train(run_config_from_dict(tiny_run), tmp_path / "edited")
    tiny_run["optimizer"]["lr"] = 1e-3
    config = run_config_from_dict(tiny_run)
    train(config, tmp_path / "edited")
    train(config, tmp_path / "fresh")
    assert "checkpoints of another config" in (tmp_path / "edited" / "log.txt").read_text()
    assert_same_run(tmp_path / "fresh", tmp_path / "edited")


def test_a_stamp_that_spells_out_defaults_still_resumes(tiny_run, tmp_path):
    """A stamp written before a setting existed (or with every default written out) is the
    same run: only values that differ from the defaults make checkpoints stale."""
    config = run_config_from_dict(tiny_run)
    outdir = tmp_path / "run"
    train(config, outdir)
    stamp = outdir / "checkpoints" / "config.json"
    full = config.to_dict()
    del full["train"]["ntk_points"]  # as if written before train.ntk_points existed
    stamp.write_text(json.dumps(full))
    assert not discard_stale_checkpoints(outdir, config)
    full["train"]["steps"] += 1
    stamp.write_text(json.dumps(full))
    assert discard_stale_checkpoints(outdir, config)


def test_sigterm_writes_a_checkpoint_and_the_rerun_resumes(tiny_run, tmp_path):
    tiny_run["train"].update(steps=1000, eval_every=100, checkpoint_every=0)
    config_path = tmp_path / "run.json"
    config_path.write_text(json.dumps(tiny_run))
    outdir = tmp_path / "run"
    command = [sys.executable, "-m", "repro", "train", "--config", str(config_path), str(outdir)]
    process = subprocess.Popen(command, cwd=ROOT, env=shell_env(), stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until training is under way
        log = outdir / "log.txt"
        if log.exists() and "step 100/" in log.read_text():
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    checkpoints = checkpoint_paths(outdir)
    assert len(checkpoints) == 1 and not (outdir / "metrics.parquet").exists()
    step = torch.load(checkpoints[0], weights_only=False)["step"]
    assert 100 <= step < 1000
    assert subprocess.run(command, cwd=ROOT, env=shell_env(), capture_output=True).returncode == 0
    assert f"resumed from {checkpoints[0].name}" in (outdir / "log.txt").read_text()
    train(run_config_from_dict(tiny_run), tmp_path / "whole")
    assert_same_run(tmp_path / "whole", outdir)


def test_divergence_is_a_result_not_a_crash(tiny_run, tmp_path):
    tiny_run["optimizer"] = {"name": "sgd", "lr": 1e30}
    assert train(run_config_from_dict(tiny_run), tmp_path) == "diverged"
    provenance = json.loads((tmp_path / "provenance.json").read_text())
    assert provenance["status"] == "diverged" and provenance["steps_done"] < 40


def test_early_stop_at_target_accuracy(tiny_run, tmp_path):
    tiny_run["train"]["stop_at_val_accuracy"] = 0.0
    train(run_config_from_dict(tiny_run), tmp_path)
    metrics = pd.read_parquet(tmp_path / "metrics.parquet")
    assert metrics["step"].max() == 10
    assert json.loads((tmp_path / "provenance.json").read_text())["stopped_early"]


def test_full_batch(tiny_run, tmp_path):
    tiny_run["train"]["batch_size"] = None
    assert train(run_config_from_dict(tiny_run), tmp_path) == "completed"
