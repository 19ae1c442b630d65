"""The Grokfast filters against their closed forms (impulse and frequency response), exact
checkpoint round trips, the two-stage start, and the config checks."""

from __future__ import annotations

import cmath
import io
import math

import pandas as pd
import pytest
import torch

from repro.config import ConfigError, run_config_from_dict
from repro.optim.filters import build_filter
from repro.optim.grokfast import EMAFilter, HighPassFilter, MAFilter
from repro.train import checkpoint_paths, train

TINY_RUN = {
    "paper": "t",
    "experiment": "t",
    "run_id": "r",
    "seed": 0,
    "data": {"name": "modular", "p": 7, "operation": "add", "train_fraction": 0.5},
    "model": {"name": "mlp", "hidden": 8},
    "train": {"steps": 3},
}


def run_filter(gradient_filter, gradients: torch.Tensor) -> torch.Tensor:
    """Feed one parameter the gradients gradients[0], gradients[1], ...; the filtered ones."""
    parameter = torch.nn.Parameter(torch.zeros(gradients.shape[1:], dtype=gradients.dtype))
    outputs = []
    for gradient in gradients:
        parameter.grad = gradient.clone()
        gradient_filter.apply([parameter])
        outputs.append(parameter.grad.clone())
    return torch.stack(outputs)


def impulse(length: int, at: int) -> torch.Tensor:
    gradients = torch.zeros(length, dtype=torch.float64)
    gradients[at] = 1.0
    return gradients


# ---- impulse responses ----


@pytest.mark.parametrize("slow_only", [False, True])
def test_ema_impulse_at_the_first_step(slow_only):
    """mu_0 = g_0 = 1, so h_0 = [1 +] lamb and h_k = lamb alpha^k for k >= 1."""
    alpha, lamb, length = 0.9, 2.0, 40
    response = run_filter(EMAFilter(alpha, lamb, slow_only=slow_only), impulse(length, 0))
    expected = torch.tensor([lamb * alpha**k for k in range(length)], dtype=torch.float64)
    expected[0] += 0.0 if slow_only else 1.0
    torch.testing.assert_close(response, expected, rtol=1e-12, atol=1e-15)


def test_ema_impulse_after_a_zero_start_is_the_papers_kernel():
    """With mu_0 = g_0 = 0, the response is delta + lamb (1 - alpha) alpha^k (paper, Alg. 2)."""
    alpha, lamb, at, length = 0.98, 2.0, 5, 60
    response = run_filter(EMAFilter(alpha, lamb), impulse(length, at))
    expected = torch.zeros(length, dtype=torch.float64)
    for k in range(length - at):
        expected[at + k] = lamb * (1 - alpha) * alpha**k
    expected[at] += 1.0
    torch.testing.assert_close(response, expected, rtol=1e-12, atol=1e-15)


def ma_impulse_response(window: int, lamb: float, at: int, length: int, slow_only: bool):
    """Closed form for an impulse at step `at`: y_t = [not slow_only] delta(t - at) + lamb / w
    when the window is full (t >= w - 1) and holds the impulse (0 <= t - at < w); before the
    window is full the gradient passes unchanged, so y_at = 1 also with slow_only if at < w - 1."""
    response = torch.zeros(length, dtype=torch.float64)
    for t in range(length):
        full = t >= window - 1
        if t == at and (not slow_only or not full):
            response[t] += 1.0
        if full and 0 <= t - at < window:
            response[t] += lamb / window
    return response


@pytest.mark.parametrize("slow_only", [False, True])
@pytest.mark.parametrize("at", [0, 2, 4, 9])
def test_ma_impulse_response(at, slow_only):
    window, lamb, length = 5, 5.0, 20
    response = run_filter(MAFilter(window, lamb, slow_only=slow_only), impulse(length, at))
    expected = ma_impulse_response(window, lamb, at, length, slow_only)
    torch.testing.assert_close(response, expected, rtol=1e-12, atol=1e-15)


def test_ma_of_window_one_is_a_constant_gain():
    response = run_filter(MAFilter(window_size=1, lamb=3.0), impulse(4, 0))
    assert response.tolist() == [4.0, 0.0, 0.0, 0.0]


# ---- frequency responses ----


def ema_transfer(alpha, lamb, omega, keep_fast=1.0):
    return keep_fast + lamb * (1 - alpha) / (1 - alpha * cmath.exp(-1j * omega))


def ma_transfer(window, lamb, omega, keep_fast=1.0):
    return keep_fast + lamb / window * sum(cmath.exp(-1j * omega * k) for k in range(window))


OMEGAS = [0.0, 0.01, 0.1, 1.0, 2.5, math.pi]
FREQUENCY_CASES = {
    "ema": (lambda: EMAFilter(0.98, 2.0), lambda w: ema_transfer(0.98, 2.0, w)),
    "ema_slow": (
        lambda: EMAFilter(0.98, 2.0, slow_only=True),
        lambda w: ema_transfer(0.98, 2.0, w, 0.0),
    ),
    "ma": (lambda: MAFilter(100, 5.0), lambda w: ma_transfer(100, 5.0, w)),
    "ma_slow": (
        lambda: MAFilter(100, 5.0, slow_only=True),
        lambda w: ma_transfer(100, 5.0, w, 0.0),
    ),
    "highpass": (lambda: HighPassFilter(0.98, 0.7), lambda w: ema_transfer(0.98, -0.7, w)),
}


@pytest.mark.parametrize("case", sorted(FREQUENCY_CASES))
def test_steady_state_frequency_response(case):
    """Feed cos(omega t) and sin(omega t) side by side; in steady state the complex output
    y_cos + i y_sin equals H(e^{i omega}) e^{i omega t}. Checked in gain and phase."""
    make_filter, transfer = FREQUENCY_CASES[case]
    steps = 1500  # 0.98^1500 ~ 1e-13: the EMA's start (mu_0 = g_0) has died away
    times = torch.arange(steps, dtype=torch.float64)[:, None]
    omegas = torch.tensor(OMEGAS, dtype=torch.float64)[None, :]
    gradients = torch.stack([torch.cos(omegas * times), torch.sin(omegas * times)], dim=1)
    outputs = run_filter(make_filter(), gradients)  # (steps, 2, frequencies)
    for column, omega in enumerate(OMEGAS):
        for t in (steps - 7, steps - 1):
            measured = complex(outputs[t, 0, column], outputs[t, 1, column])
            measured *= cmath.exp(-1j * omega * t)
            expected = transfer(omega)
            tolerance = 1e-4 * abs(expected) + 1e-12  # + 1e-12: MA has zeros, e.g. at pi
            assert abs(measured - expected) <= tolerance, (omega, measured, expected)
            assert abs(abs(measured) - abs(expected)) <= tolerance


def test_ma_mean_matches_a_stacked_mean_after_large_spikes():
    """The running sum must not keep rounding error from gradients 1e6 times larger."""
    generator = torch.Generator().manual_seed(0)
    window, lamb, steps = 10, 5.0, 300
    gradients = torch.randn(steps, 50, generator=generator) * 1e-3
    gradients[::37] *= 1e6
    outputs = run_filter(MAFilter(window, lamb), gradients)
    for t in range(window - 1, steps):
        slow = torch.stack(list(gradients[t - window + 1 : t + 1])).mean(0)
        torch.testing.assert_close(outputs[t] - gradients[t], lamb * slow, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("make_filter", [EMAFilter, HighPassFilter, lambda: MAFilter(3)])
def test_filters_keep_the_gradient_dtype(make_filter, dtype):
    outputs = run_filter(make_filter(), torch.ones(5, 2, dtype=dtype))
    assert outputs.dtype == dtype and torch.isfinite(outputs).all()


# ---- checkpoints and the two-stage start ----

ROUND_TRIP_CASES = [
    {"name": "ema"},
    {"name": "ema", "slow_only": True, "alpha": 0.9},
    {"name": "ma", "window_size": 4},
    {"name": "ma", "window_size": 9, "slow_only": True},  # window not full when saved
    {"name": "ma", "window_size": 3, "start_step": 8},  # saved before the start
    {"name": "highpass", "lamb": 0.3},
]


def gradient_stream(steps: int, seed: int = 0):
    """Per step, gradients for a (3, 2) and a (4,) parameter; the second skips step 2."""
    generator = torch.Generator().manual_seed(seed)
    for step in range(steps):
        second = None if step == 2 else torch.randn(4, generator=generator)
        yield torch.randn(3, 2, generator=generator), second


def filter_steps(gradient_filter, parameters, gradients) -> list[torch.Tensor]:
    outputs = []
    for first, second in gradients:
        parameters[0].grad = first.clone()
        parameters[1].grad = None if second is None else second.clone()
        gradient_filter.apply(parameters)
        outputs += [p.grad.clone() for p in parameters if p.grad is not None]
    return outputs


@pytest.mark.parametrize("config", ROUND_TRIP_CASES, ids=lambda c: str(sorted(c.items())))
def test_state_round_trip_is_bit_exact(config):
    parameters = [torch.nn.Parameter(torch.zeros(3, 2)), torch.nn.Parameter(torch.zeros(4))]
    stream = list(gradient_stream(20))
    uninterrupted = filter_steps(build_filter(config), parameters, stream)

    first_half = build_filter(config)
    outputs = filter_steps(first_half, parameters, stream[:6])
    buffer = io.BytesIO()
    torch.save(first_half.state_dict(), buffer)
    buffer.seek(0)
    resumed = build_filter(config)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))  # plain data only
    outputs += filter_steps(resumed, parameters, stream[6:])

    assert len(outputs) == len(uninterrupted)
    assert all(torch.equal(a, b) for a, b in zip(outputs, uninterrupted, strict=True))


def test_loading_the_state_of_another_filter_fails():
    state = MAFilter(window_size=5).state_dict()
    with pytest.raises(ValueError, match="window_size"):
        MAFilter(window_size=6).load_state_dict(state)
    with pytest.raises(ValueError, match="ema"):
        EMAFilter().load_state_dict(state)
    resumed = MAFilter(window_size=5)
    run_filter(resumed, torch.ones(2, 3))
    other_model = MAFilter(window_size=5)
    other_model.load_state_dict(resumed.state_dict())
    with pytest.raises(ValueError, match="shape"):
        run_filter(other_model, torch.ones(2, 4))


@pytest.mark.parametrize("config", [{"name": "ema"}, {"name": "ma", "window_size": 4}])
def test_start_step_passes_gradients_unchanged_then_filters_with_warm_state(config):
    """Before start_step: unchanged. From it on: the same as a filter that was always on,
    because the slow component is updated from step 0 (the official code's `trigger`)."""
    start = 6
    gradients = torch.randn(15, 3, generator=torch.Generator().manual_seed(1))
    delayed = run_filter(build_filter({**config, "start_step": start}), gradients)
    always_on = run_filter(build_filter(config), gradients)
    assert torch.equal(delayed[:start], gradients[:start])
    assert torch.equal(delayed[start:], always_on[start:])
    assert not torch.equal(always_on[start:], gradients[start:])


# ---- configs ----


@pytest.mark.parametrize(
    "settings, key",
    [
        ({"name": "ema", "window_size": 10}, "window_size"),
        ({"name": "ma", "alpha": 0.9}, "alpha"),
        ({"name": "highpass", "slow_only": True}, "slow_only"),
        ({"name": "none", "lamb": 1.0}, "lamb"),
        ({"name": "ema", "alpha": 1.0}, "filter.alpha"),
        ({"name": "ema", "lamb": -0.5}, "filter.lamb"),
        ({"name": "ema", "slow_only": "yes"}, "filter.slow_only"),
        ({"name": "ma", "window_size": 0}, "filter.window_size"),
        ({"name": "ma", "window_size": 2.5}, "filter.window_size"),
        ({"name": "ma", "start_step": -1}, "filter.start_step"),
        ({"name": "highpass", "lamb": 1.5}, "filter.lamb"),
        ({"name": "kalman"}, "filter.name"),
    ],
)
def test_bad_filter_configs_name_the_key(settings, key):
    with pytest.raises(ConfigError) as error:
        run_config_from_dict({**TINY_RUN, "filter": settings})
    assert key in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "settings, key",
    [
        ({"name": "ema", "window_size": 10}, "window_size"),
        ({"name": "ema", "alpha": 1.0}, "filter.alpha"),
        ({"name": "ma", "window_size": True}, "filter.window_size"),
        ({"name": "ma", "lamb": math.nan}, "filter.lamb"),
        ({"name": "highpass", "lamb": 2.0}, "filter.lamb"),
        ({"name": "ema", "slow_only": 1}, "filter.slow_only"),
    ],
)
def test_build_filter_checks_its_arguments_without_the_schema(settings, key):
    with pytest.raises(ConfigError, match=key):
        build_filter(settings)


def test_good_filter_configs_build_the_right_filter():
    config = run_config_from_dict(
        {**TINY_RUN, "filter": {"name": "ma", "window_size": 100.0, "start_step": 500}}
    )
    ma = build_filter(config.filter)
    assert isinstance(ma, MAFilter) and ma.window_size == 100 and ma.start_step == 500
    ema = build_filter({"name": "ema"})
    assert (ema.alpha, ema.slow_gain, ema.keep_fast) == (0.98, 2.0, True)
    highpass = build_filter({"name": "highpass", "lamb": 0.25})
    assert isinstance(highpass, HighPassFilter) and highpass.slow_gain == -0.25


# ---- the training loop ----


def test_training_with_ema_runs_and_resumes_exactly(tmp_path):
    run = {
        **TINY_RUN,
        "filter": {"name": "ema", "alpha": 0.9, "lamb": 2.0},
        "train": {"steps": 20, "batch_size": 4, "eval_every": 10, "checkpoint_every": 10},
    }
    config = run_config_from_dict(run)
    assert train(config, tmp_path / "whole") == "completed"
    metrics = pd.read_parquet(tmp_path / "whole" / "metrics.parquet")
    assert sorted(set(metrics["step"])) == [0, 10, 20]

    killed = tmp_path / "killed"  # keep only the step-10 checkpoint, as if killed there
    train(config, killed)
    for path in checkpoint_paths(killed)[1:]:
        path.unlink()
    (killed / "final.pt").unlink()
    train(config, killed)
    pd.testing.assert_frame_equal(
        pd.read_parquet(killed / "metrics.parquet"), metrics, check_exact=True
    )
    final = torch.load(killed / "final.pt", weights_only=False)["model"]
    whole = torch.load(tmp_path / "whole" / "final.pt", weights_only=False)["model"]
    assert all(torch.equal(final[key], whole[key]) for key in whole)
