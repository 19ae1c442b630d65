"""Grokfast ablations: the steps-to-95% grid of Fig. 4, the comparisons of the reviewers'
figures, and the PCA projection and A/B/C distances of Fig. 12 / Table 2."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from repro import io
from repro.claims import NOT_REPRODUCED, REPRODUCED
from repro.papers.grokfast_ablations import (
    cell_label,
    faster,
    fig4,
    interior_best,
    one_at_a_time,
    ratio_text,
    steps_grid,
)
from repro.papers.grokfast_reviews import slower_than
from repro.papers.grokfast_trajectories import (
    distances,
    flat_state,
    load_trajectory,
    principal_axes,
    project,
)

NAN = math.nan


def grid_summary(cells: dict[tuple[float, int], list[float]]) -> pd.DataFrame:
    """Summary rows of MA runs: {(lambda, w): [steps to 95% of each seed]}."""
    rows = []
    for (lamb, window), values in cells.items():
        for seed, value in enumerate(values):
            rows.append(
                {
                    "filter.lamb": lamb,
                    "filter.window_size": window,
                    "seed": seed,
                    "step_val_95": value,
                    "run_id": f"l{lamb}_w{window}_s{seed}",
                    "variant": "ma",
                    "train.steps": 3000,
                }
            )
    return pd.DataFrame(rows)


# ---- Fig. 4: steps to 95% over the grid ----


def test_steps_grid_takes_the_median_over_seeds_and_marks_cells_not_reached():
    summary = grid_summary(
        {
            (5.0, 100): [600, 800, 700],  # median 700
            (5.0, 20): [900, NAN, 1100],  # 2 of 3 reached: median of the reached and NaN
            (2.0, 100): [NAN, NAN, 1500],  # fewer than half reached: not reached
        }
    )
    grid = steps_grid(summary)
    assert list(grid.index) == [2.0, 5.0] and list(grid.columns) == [20, 100]
    assert grid.loc[5.0, 100] == 700
    assert grid.loc[5.0, 20] == 1000  # pandas' median skips NaN
    assert math.isnan(grid.loc[2.0, 100])
    assert math.isnan(grid.loc[2.0, 20])  # never run


def test_interior_best_needs_a_minimum_strictly_inside_the_run_cells():
    summary = grid_summary(
        {
            (2.0, 100): [1500],
            (5.0, 100): [700],
            (10.0, 100): [NAN],  # run, never reached: infinitely slow
            (5.0, 20): [600],
            (5.0, 200): [900],
        }
    )
    grid = steps_grid(summary)
    ran = summary.groupby(["filter.lamb", "filter.window_size"]).size().unstack()
    assert interior_best(grid, "index", 100, ran) is True  # lambda 5 fastest at w = 100
    assert interior_best(grid, "columns", 5.0, ran) is False  # w = 20 (the edge) fastest
    assert interior_best(grid, "columns", 2.0, ran) is None  # one cell only on that line
    assert interior_best(grid, "index", 50, ran) is None  # no such column


def test_cell_labels_tell_not_reached_from_not_run():
    assert cell_label(1234.0, 1) == "1,234"
    assert cell_label(NAN, 1) == "n.r."
    assert cell_label(NAN, NAN) == ""


def arm_tables(cells, baseline_steps: float):
    """Tables of fig4: the grid (without its centre), two_stage's centre, main's baseline."""
    summary = grid_summary(cells)
    centre = (summary["filter.lamb"] == 5.0) & (summary["filter.window_size"] == 100)
    empty = pd.DataFrame({"run_id": [], "step": [], "split": [], "accuracy": []})
    baseline = pd.DataFrame(
        [
            {
                "variant": "baseline",
                "seed": 0,
                "run_id": "b",
                "step_val_95": baseline_steps,
                "train.steps": 5000,
            }
        ]
    )
    return {
        "ma_grid": (empty, summary[~centre]),
        "two_stage": (empty, summary[centre].assign(variant="ma_1stage")),
        "main": (empty, baseline),
    }


def test_fig4_judges_the_speed_up_and_the_sweet_spot():
    cells = {
        (2.0, 100): [2000],
        (5.0, 100): [700],
        (10.0, 100): [NAN],
        (5.0, 20): [1200],
        (5.0, 200): [900],
    }
    _, table, claims = fig4(arm_tables(cells, NAN), "laptop")
    assert [claim.verdict for claim in claims] == [REPRODUCED, REPRODUCED]
    assert "x7.1" in claims[0].our_value  # 5000 / 700, a lower bound: the baseline was capped
    assert len(table) == 3  # lambda rows 2, 5, 10

    cells[(5.0, 20)] = [500]  # now the edge w = 20 is fastest along w
    _, _, claims = fig4(arm_tables(cells, 1000), "laptop")
    assert [claim.verdict for claim in claims] == [NOT_REPRODUCED, NOT_REPRODUCED]  # 700 > 500


# ---- Fig. 8: one EMA setting changed at a time ----


def test_one_at_a_time_keeps_the_runs_that_differ_only_in_the_swept_key():
    rows = [  # (lambda, alpha, wd)
        ("default", 2.0, 0.98, 0.005),
        ("lamb1", 1.0, 0.98, 0.005),
        ("lamb5", 5.0, 0.98, 0.005),
        ("alpha90", 2.0, 0.9, 0.005),
        ("wd0", 2.0, 0.98, 0.0),
        ("lamb5_wd0", 5.0, 0.98, 0.0),  # two keys changed: in no line
    ]
    summary = pd.DataFrame(
        rows, columns=["run_id", "filter.lamb", "filter.alpha", "optimizer.weight_decay"]
    )
    default = summary.iloc[0]
    assert list(one_at_a_time(summary, default, "filter.lamb")["run_id"]) == [
        "lamb1",
        "default",
        "lamb5",
    ]
    assert list(one_at_a_time(summary, default, "filter.alpha")["run_id"]) == [
        "alpha90",
        "default",
    ]
    assert list(one_at_a_time(summary, default, "optimizer.weight_decay")["run_id"]) == [
        "wd0",
        "default",
    ]


# ---- comparing arms ----


def test_ratio_text_gives_bounds_for_capped_arms():
    assert ratio_text(4000, 5000, 1000) == ("x4.00", 4.0)
    text, value = ratio_text(NAN, 5000, 1000)
    assert text.startswith(">= x5.0") and value == 5.0
    text, value = ratio_text(4000, 5000, NAN)
    assert math.isnan(value)
    assert faster(100, NAN) and faster(100, 200)
    assert not faster(NAN, 100) and not faster(NAN, NAN) and not faster(200, 200)


def test_slower_than_falls_back_to_the_best_accuracy_when_nobody_reached_95():
    row = {"step_val_95": NAN, "train.steps": 2000, "max_val_accuracy": 0.6}
    lower = {**row, "max_val_accuracy": 0.3}
    _, _, holds = slower_than(row, lower, "a", "b")
    assert holds is True
    _, _, holds = slower_than(lower, row, "a", "b")
    assert holds is False
    ours, _, holds = slower_than({**row, "step_val_95": 800}, row, "a", "b")
    assert holds is True and ">= x2.5" in ours


def test_slower_than_is_not_shown_by_two_arms_that_learned_nothing():
    chance = {"step_val_95": NAN, "train.steps": 2000, "max_val_accuracy": 0.019}
    ours, _, holds = slower_than(chance, {**chance, "max_val_accuracy": 0.008}, "a", "b")
    assert holds is False and "learned nothing" in ours


# ---- Fig. 12 / Table 2 ----


def test_principal_axes_recover_the_directions_of_largest_variance():
    generator = torch.Generator().manual_seed(0)
    n, dim = 40, 50
    e1, e2 = torch.zeros(dim, dtype=torch.float64), torch.zeros(dim, dtype=torch.float64)
    e1[3], e2[7] = 1.0, 1.0
    t = torch.linspace(-1, 1, n, dtype=torch.float64)
    states = 10 * t[:, None] * e1 + 3 * torch.cos(torch.pi * t)[:, None] * e2
    states += 1e-3 * torch.randn(n, dim, generator=generator, dtype=torch.float64)
    states += 5.0  # an offset the centring removes
    mean, axes = principal_axes(states)
    assert axes.shape == (2, dim)
    assert abs(float(axes[0] @ e1)) > 0.999 and abs(float(axes[1] @ e2)) > 0.999
    torch.testing.assert_close(axes @ axes.T, torch.eye(2, dtype=torch.float64))
    assert axes[0, 3] > 0 and axes[1, 7] > 0  # the sign convention: largest entry positive
    xy = project(states, mean, axes)
    assert xy.shape == (n, 2)
    np.testing.assert_allclose(xy.mean(axis=0), 0.0, atol=1e-9)  # projected mean is the origin
    np.testing.assert_allclose(xy[:, 0], 10 * (t - t.mean()).numpy(), atol=0.05)


def test_distances_between_states_a_b_c():
    states = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]], dtype=torch.float64)
    out = distances(np.array([0, 500, 900]), states)
    assert out["l2_AB"] == 5.0 and out["l2_BC"] == 5.0 and out["l2_AC"] == 10.0
    assert out["msd_AB"] == pytest.approx(12.5 * 1000)  # mean of (9, 16), x1000
    missing_b = distances(np.array([0, 400, 900]), states)
    assert math.isnan(missing_b["l2_AB"]) and missing_b["l2_AC"] == 10.0


def test_load_trajectory_reads_weights_in_step_order_and_appends_the_end_state(tmp_path):
    model = torch.nn.Linear(2, 2)
    for step in (500, 0, 100):  # written out of order
        with torch.no_grad():
            model.weight.fill_(step)
        io.write_torch(tmp_path / "weights" / f"step_{step:09d}.pt", model.state_dict())
    with torch.no_grad():
        model.weight.fill_(-1.0)
    io.write_torch(tmp_path / "final.pt", {"model": model.state_dict(), "step": 730})
    steps, states = load_trajectory(tmp_path)
    assert list(steps) == [0, 100, 500, 730]
    assert states.shape == (4, 6) and flat_state(model.state_dict()).dtype == torch.float64
    assert states[1, 2:].tolist() == [100.0] * 4  # 'bias' sorts before 'weight'
    assert states[3, 2:].tolist() == [-1.0] * 4

    io.write_torch(tmp_path / "final.pt", {"model": model.state_dict(), "step": 500})
    steps, _ = load_trajectory(tmp_path)  # the end was saved already: not appended twice
    assert list(steps) == [0, 100, 500]


def test_best_arm_prefers_reaching_95_then_the_best_accuracy():
    from repro.papers.grokfast_reviews import best_arm

    slow = {"step_val_95": 1800.0, "max_val_accuracy": 0.96}
    fast = {"step_val_95": 900.0, "max_val_accuracy": 0.95}
    near = {"step_val_95": NAN, "max_val_accuracy": 0.94}
    far = {"step_val_95": NAN, "max_val_accuracy": 0.5}
    assert best_arm([slow, near, fast]) is fast
    assert best_arm([far, near]) is near  # nobody reached 95%: the closest, not the first
