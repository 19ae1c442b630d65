"""Fourier basis, FFD and FCR on matrices whose answers are known; the measures on a model."""

import math

import pytest
import torch

from repro.data import build_dataset
from repro.measures import MEASURES, fourier
from repro.models import build_model

P = 23
K = P // 2


def wave(k: int, kind: str, p: int = P) -> torch.Tensor:
    t = torch.arange(p, dtype=torch.float64)
    return (torch.cos if kind == "cos" else torch.sin)(2 * math.pi * k * t / p)


def test_basis_is_orthonormal_and_labelled_cos_then_sin():
    basis = fourier.basis(P)
    assert torch.allclose(basis @ basis.T, torch.eye(P, dtype=torch.float64), atol=1e-10)
    names = fourier.labels(P)
    assert names[:3] == ["const", "cos 1", "sin 1"] and len(names) == P
    # a pure cosine of frequency 3 lands on the row named "cos 3", not "sin 3" (App. B's slip)
    coefficients = basis @ wave(3, "cos")
    assert names[int(coefficients.abs().argmax())] == "cos 3"


def test_components_of_one_frequency():
    d = 5
    weight = torch.outer(wave(4, "cos"), torch.randn(d, dtype=torch.float64)) + torch.outer(
        wave(4, "sin"), torch.randn(d, dtype=torch.float64)
    )
    cos, sin = fourier.components(weight)
    assert cos.shape == (K,) and sin.shape == (K,)
    assert int(cos.argmax()) == 3 and int(sin.argmax()) == 3
    others = torch.cat([cos[torch.arange(K) != 3], sin[torch.arange(K) != 3]])
    assert float(others.max()) < 1e-9


def test_ffd_of_one_frequency_is_one_over_floor_p_half():
    weight = torch.outer(wave(4, "cos"), torch.ones(6)) + torch.outer(wave(4, "sin"), torch.ones(6))
    assert fourier.ffd(*fourier.components(weight)) == pytest.approx(1 / K)


def test_ffd_of_every_frequency_is_one_and_counts_threshold():
    weight = sum(
        torch.outer(wave(k, kind), torch.randn(4, dtype=torch.float64))
        for k in range(1, K + 1)
        for kind in ("cos", "sin")
    )
    cos, sin = fourier.components(weight)
    flat_cos, flat_sin = torch.ones(K), torch.ones(K)
    assert fourier.ffd(flat_cos, flat_sin) == 1.0
    # half of the components at 0.4 of the max: below eta = 0.5, above eta = 0.3
    cos = torch.tensor([1.0] + [0.4] * (K - 1))
    assert fourier.ffd(cos, cos) == pytest.approx(1 / K)
    assert fourier.ffd(cos, cos, eta=0.3) == 1.0
    assert 0 < fourier.ffd(*fourier.components(weight)) <= 1


def test_fcr_equal_cos_and_sin_is_one_and_cos_bias_near_zero():
    norms = torch.rand(K, dtype=torch.float64) + 0.1
    assert fourier.fcr(norms, norms) == pytest.approx(1.0)
    assert fourier.fcr(norms, 1e-3 * norms) == pytest.approx(1e-3)
    # constructed matrix: cos rows only (plus a tiny sin part) -> FCR near 0
    weight = sum(
        torch.outer(wave(k, "cos"), torch.randn(3, dtype=torch.float64))
        + 1e-4 * torch.outer(wave(k, "sin"), torch.randn(3, dtype=torch.float64))
        for k in range(1, K + 1)
    )
    assert fourier.fcr(*fourier.components(weight)) < 0.01
    # FFD and FCR are symmetric in cos and sin (so App. B's swapped labels change neither)
    cos, sin = fourier.components(weight)
    assert fourier.fcr(cos, sin) == fourier.fcr(sin, cos)
    assert fourier.ffd(cos, sin) == fourier.ffd(sin, cos)


def test_logit_spectrum_of_cos_a_plus_b():
    """cos(w(a+b)) = cos a cos b - sin a sin b: only the (cos k, cos k) and (sin k, sin k) cells."""
    a = torch.arange(P, dtype=torch.float64)
    logits = torch.cos(2 * math.pi * 2 * (a[:, None] + a[None, :]) / P)[..., None]
    spectrum = fourier.logit_spectrum(logits)
    names = fourier.labels(P)
    big = {(names[i], names[j]) for i, j in (spectrum > 1e-6).nonzero().tolist()}
    assert big == {("cos 2", "cos 2"), ("sin 2", "sin 2")}


def small_model(operation="add"):
    data = {"name": "modular", "p": P, "operation": operation, "train_fraction": 0.5}
    dataset = build_dataset(data, 0)
    torch.manual_seed(0)
    model = build_model(
        {
            "name": "transformer",
            "n_layers": 1,
            "d_model": 16,
            "n_heads": 2,
            "d_mlp": 32,
            "layer_norm": False,
        },
        dataset,
    )
    return model, dataset


def test_measures_read_the_transformer():
    model, dataset = small_model()
    assert fourier.embedding(model).shape == (P, 16)
    assert fourier.neuron_logit_map(model).shape == (P, 32)
    row = MEASURES["ffd_fcr"](model, dataset.val.inputs, dataset.val.labels)
    assert set(row) == {"ffd_we", "fcr_we", "ffd_wl", "fcr_wl"}
    assert all(0 < value <= 1 for value in row.values())
    norms = MEASURES["fourier_norms"](model, None, None)
    assert len(norms) == 4 * K and "we_cos_1" in norms and f"wl_sin_{K}" in norms
    # the embedding set to one frequency: FFD of W_E drops to 1/K
    with torch.no_grad():
        model.embed.weight.weight[:P] = torch.outer(
            wave(5, "cos") + wave(5, "sin"), torch.ones(16, dtype=torch.float64)
        ).float()
    assert MEASURES["ffd_fcr"](model, None, None)["ffd_we"] == pytest.approx(1 / K)


def test_task_accuracy_splits_by_operation_token():
    data = {"name": "modular_multi", "p": P, "operations": ["add", "mul"], "train_fraction": 0.3}
    dataset = build_dataset(data, 0)
    assert dataset.vocab_size == P + 3 and len(dataset.train) == 2 * round(0.3 * P * P)
    torch.manual_seed(0)
    model = build_model(
        {"name": "transformer", "n_layers": 1, "d_model": 16, "n_heads": 2, "d_mlp": 32}, dataset
    )
    row = MEASURES["task_accuracy"](model, dataset.val.inputs, dataset.val.labels)
    assert set(row) == {"accuracy_task0", "accuracy_task1"}
    predictions = model(dataset.val.inputs).argmax(-1)
    overall = float((predictions == dataset.val.labels).float().mean())
    assert overall == pytest.approx((row["accuracy_task0"] + row["accuracy_task1"]) / 2, abs=1e-6)


def test_component_masks_partition_and_projection_round_trip():
    from repro.papers import modular_polynomials_analysis as analysis

    masks = analysis.component_masks(P, key=[2, 5])
    total = masks["key"].int() + masks["non_key"].int() + masks["residual"].int()
    assert bool((total == 1).all())
    assert int(masks["key"].sum()) == 2 * 4 and int(masks["non_key"].sum()) == (K - 2) * 4
    logits = torch.randn(P, P, 3, dtype=torch.float64)
    everything = torch.ones(P, P, dtype=torch.bool)
    assert torch.allclose(analysis.project(logits, everything), logits, atol=1e-10)
    parts = sum(analysis.project(logits, mask) for mask in masks.values())
    assert torch.allclose(parts, logits, atol=1e-10)


def test_key_frequency_logits_survive_the_restricted_ablation():
    """Logits made only of cos(w k (a+b-c)) at k = 3: the key-only projection keeps them."""
    from repro.papers import modular_polynomials_analysis as analysis

    t = torch.arange(P, dtype=torch.float64)
    angle = 2 * math.pi * 3 * (t[:, None, None] + t[None, :, None] - t[None, None, :]) / P
    logits = torch.cos(angle)
    masks = analysis.component_masks(P, key=[3])
    assert torch.allclose(analysis.project(logits, masks["key"]), logits, atol=1e-9)
    assert float(analysis.project(logits, masks["non_key"]).abs().max()) < 1e-9


def test_label_statistics():
    from repro.papers import modular_polynomials_analysis as analysis

    stats = analysis.label_statistics("add", 11, 0.3, n_splits=5)
    # a+b mod p hits every label p times: the full label distribution is uniform
    assert stats["entropy_all"] == pytest.approx(math.log(11))
    assert stats["kl_train_test"] > 0 and stats["entropy_train"] <= math.log(11) + 1e-9
