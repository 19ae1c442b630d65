"""The eNTK against an explicit Jacobian (torch.autograd.functional.jacobian) and finite
differences on tiny networks, its drift measure, and resume safety of theta_0."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import nn

from repro.config import run_config_from_dict
from repro.measures.ntk import empirical_ntk, jacobian, ntk_drift, remember_initial_state
from repro.models.quadratic import QuadraticNet
from repro.train import checkpoint_paths, train


def explicit_jacobian(model: nn.Module, inputs: torch.Tensor, output_index: int = 0):
    """d output_i / d theta, all parameters flattened in named_parameters order, via
    torch.autograd.functional.jacobian on a flat parameter vector."""
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    flat = torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters()])

    def outputs(vector):
        params, start = {}, 0
        for name, shape in zip(names, shapes, strict=True):
            size = shape.numel()
            params[name] = vector[start : start + size].reshape(shape)
            start += size
        out = torch.func.functional_call(model, params, (inputs,))
        return out if out.dim() == 1 else out[:, output_index]

    return torch.autograd.functional.jacobian(outputs, flat)


def tiny_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4)).double()


def test_jacobian_matches_autograd_on_an_mlp_first_logit():
    model = tiny_mlp()
    inputs = torch.randn(7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    expected = explicit_jacobian(model, inputs, output_index=0)
    torch.testing.assert_close(jacobian(model, inputs, chunk=3), expected)
    kernel = empirical_ntk(model, inputs)
    torch.testing.assert_close(kernel, expected @ expected.T)
    other = explicit_jacobian(model, inputs, output_index=2)
    torch.testing.assert_close(empirical_ntk(model, inputs, output_index=2), other @ other.T)


def regression_net(p: int = 5, hidden: int = 6) -> QuadraticNet:
    torch.manual_seed(0)
    return QuadraticNet(vocab_size=p, seq_len=3, n_classes=p, onehot=False, hidden=hidden).double()


def test_ntk_of_the_regression_net_matches_autograd_and_finite_differences():
    """Scalar output g = e_c^T f; the batch is larger than p, so the explicit Jacobian goes
    through the unique-pair path of the model and the per-example one through the small path."""
    p = 5
    model = regression_net(p)
    triples = torch.cartesian_prod(torch.arange(p), torch.arange(p), torch.arange(p))[::7]
    assert len(triples) > p
    expected = explicit_jacobian(model, triples)
    torch.testing.assert_close(jacobian(model, triples, chunk=4), expected)
    # finite differences on a few parameter entries
    base = model(triples).detach()
    flat = torch.cat([p_.detach().reshape(-1) for p_ in model.parameters()])
    eps = 1e-6
    for index in (0, 7, len(flat) // 2, len(flat) - 1):
        shifted = flat.clone()
        shifted[index] += eps
        params, start = {}, 0
        for name, parameter in model.named_parameters():
            params[name] = shifted[start : start + parameter.numel()].reshape(parameter.shape)
            start += parameter.numel()
        moved = torch.func.functional_call(model, params, (triples,)).detach()
        torch.testing.assert_close((moved - base) / eps, expected[:, index], atol=1e-4, rtol=1e-4)


def test_regression_ntk_has_the_papers_v_block():
    """App. B, eq. B.1: the V part of K(x, x') is sum_k (Q_ka+R_kb)^2 (Q_ka'+R_kb')^2 1(c=c')."""
    p = 5
    model = regression_net(p)
    triples = torch.tensor([[0, 1, 2], [3, 4, 2], [1, 1, 0]])
    jac = jacobian(model, triples)
    n_w = model.W.numel()
    v_block = jac[:, n_w:] @ jac[:, n_w:].T
    hidden = (model.W[:, triples[:, 0]] + model.W[:, p + triples[:, 1]]).T.pow(2).detach()
    same_c = (triples[:, 2:3] == triples[:, 2]).double()
    torch.testing.assert_close(v_block, (hidden @ hidden.T) * same_c)


def test_drift_is_zero_at_init_and_grows_after_a_step():
    model = regression_net()
    remember_initial_state(model, ntk_points=20)
    inputs = torch.cartesian_prod(torch.arange(5), torch.arange(5), torch.arange(5))
    labels = torch.zeros(len(inputs), dtype=torch.float64)
    assert ntk_drift(model, inputs, labels)["ntk_drift"] == 0.0
    with torch.no_grad():
        model.W.add_(0.1)
    after = ntk_drift(model, inputs, labels)
    assert after["ntk_drift"] > 0 and after["ntk_drift_relative"] > 0


def test_drift_needs_the_initial_state():
    with pytest.raises(RuntimeError, match="remember_initial_state"):
        ntk_drift(regression_net(), torch.zeros(3, 3, dtype=torch.long), torch.zeros(3))


def test_drift_is_logged_and_identical_after_a_resume(tmp_path):
    """theta_0 is taken from the freshly built model, so a resumed run logs the same drift."""
    run = {
        "paper": "t",
        "experiment": "t",
        "run_id": "r",
        "seed": 0,
        "data": {"name": "modular_power", "p": 7, "n_factor": 1.0},
        "model": {"name": "quadratic", "hidden": 8},
        "optimizer": {"name": "normalized_gd", "lr": 0.5},
        "train": {
            "steps": 20,
            "batch_size": None,
            "eval_every": 10,
            "checkpoint_every": 10,
            "measures": ["ntk_drift"],
            "ntk_points": 10,
        },
    }
    config = run_config_from_dict(run)
    train(config, tmp_path / "whole")
    metrics = pd.read_parquet(tmp_path / "whole" / "metrics.parquet")
    assert (metrics.loc[metrics["step"] == 0, "ntk_drift"] == 0).all()
    assert (metrics.loc[metrics["step"] == 20, "ntk_drift"] > 0).all()
    killed = tmp_path / "killed"
    train(config, killed)
    for path in checkpoint_paths(killed)[1:]:
        path.unlink()
    (killed / "final.pt").unlink()
    train(config, killed)
    pd.testing.assert_frame_equal(pd.read_parquet(killed / "metrics.parquet"), metrics)
