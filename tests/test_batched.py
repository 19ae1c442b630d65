"""Batched training (repro.batched): each run of a bundle ends as it would alone, to float32
rounding, with the files of a solo run; resumable from the stacked checkpoint."""

import copy
import json

import pandas as pd
import pytest
import torch

from repro.batched import train_bundle
from repro.config import ConfigError, run_config_from_dict
from repro.train import train

FILES = ("config.json", "metrics.parquet", "final.pt", "provenance.json", "log.txt")
MODELS = {
    "mlp": ({"encoding": "onehot"}, {"name": "mlp", "hidden": 16, "n_layers": 2}),
    "lstm": ({}, {"name": "lstm", "hidden": 8, "d_embed": 8}),
    "quadratic": ({"encoding": "onehot"}, {"name": "quadratic", "hidden": 12}),
    "quadratic_tokens": ({}, {"name": "quadratic", "hidden": 12}),
}


def run_config(base, run_id, seed, model, **sections):
    raw = copy.deepcopy(base)
    data, model_config = MODELS[model]
    raw["data"].update(data)
    raw["model"] = model_config
    raw.update(run_id=run_id, seed=seed)
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return run_config_from_dict(raw)


def assert_close_runs(bundled, alone):
    for name in FILES:
        assert (bundled / name).exists(), name
    pd.testing.assert_frame_equal(
        pd.read_parquet(bundled / "metrics.parquet"),
        pd.read_parquet(alone / "metrics.parquet"),
        check_exact=False,
        rtol=1e-4,
        atol=1e-5,
    )
    a = torch.load(bundled / "final.pt", weights_only=False)
    b = torch.load(alone / "final.pt", weights_only=False)
    assert a["step"] == b["step"] and a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        torch.testing.assert_close(
            a["model"][key], b["model"][key], rtol=1e-4, atol=1e-5, equal_nan=True
        )
    bundled_provenance = json.loads((bundled / "provenance.json").read_text())
    alone_provenance = json.loads((alone / "provenance.json").read_text())
    assert set(bundled_provenance) - set(alone_provenance) == {"bundle"}
    assert bundled_provenance["status"] == alone_provenance["status"]


BUNDLES = {
    # seeds, learning rates and AdamW weight decays differ within the bundle
    "mlp_adamw": [
        ("mlp", {"optimizer": {"name": "adamw", "weight_decay": 1.0}}),
        ("mlp", {"optimizer": {"name": "adamw", "weight_decay": 0.0, "lr": 1e-3}}),
        ("mlp", {"optimizer": {"name": "adamw", "weight_decay": 0.3}}),
    ],
    # Grokfast EMA, Adam with coupled L2, gradient noise in one run
    "lstm_ema": [
        ("lstm", {"filter": {"name": "ema", "alpha": 0.9, "lamb": 2.0},
                  "optimizer": {"name": "adam", "weight_decay": 0.01}}),
        ("lstm", {"filter": {"name": "ema", "alpha": 0.9, "lamb": 2.0},
                  "optimizer": {"name": "adam", "weight_decay": 0.0, "gradient_noise": 0.01}}),
    ],
    # seeds alone: one fused AdamW call on the stacked tensors; the written-out quadratic net
    "quadratic_tokens_seeds": [
        ("quadratic_tokens", {"optimizer": {"name": "adamw", "weight_decay": 1.0},
                              "train": {"batch_size": None}}),
        ("quadratic_tokens", {"optimizer": {"name": "adamw", "weight_decay": 1.0},
                              "train": {"batch_size": None}}),
    ],
    # Grokfast MA, SGD with momentum, full batch, early stop
    "quadratic_ma": [
        ("quadratic", {"filter": {"name": "ma", "window_size": 5, "lamb": 2.0},
                       "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
                       "train": {"batch_size": None, "stop_at_val_accuracy": 0.2}}),
        ("quadratic", {"filter": {"name": "ma", "window_size": 5, "lamb": 2.0},
                       "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
                       "train": {"batch_size": None, "stop_at_val_accuracy": 0.2}}),
    ],
}  # fmt: skip


@pytest.mark.parametrize("bundle", sorted(BUNDLES))
def test_each_run_of_a_bundle_matches_its_solo_run(tiny_run, tmp_path, bundle):
    tiny_run["train"].update(measures=["weight_norm"], checkpoint_every=0)
    configs = [
        run_config(tiny_run, f"r{index}", index, model, **sections)
        for index, (model, sections) in enumerate(BUNDLES[bundle])
    ]
    outdirs = [tmp_path / "bundle" / c.run_id for c in configs]
    statuses = train_bundle(configs, outdirs, tmp_path / "state")
    for config, outdir, status in zip(configs, outdirs, statuses, strict=True):
        assert train(config, tmp_path / "alone" / config.run_id) == status
        assert_close_runs(outdir, tmp_path / "alone" / config.run_id)


def test_early_stop_and_divergence_are_per_run(tiny_run, tmp_path):
    """r2 reaches val accuracy 0.08 at step 20 and stops; r3 diverges; r0 and r1 go on."""
    tiny_run["train"].update(steps=60, stop_at_val_accuracy=0.08, checkpoint_every=0)
    configs = [
        run_config(tiny_run, f"r{seed}", seed, "mlp", optimizer={"lr": lr, "weight_decay": 0.0})
        for seed, lr in enumerate([1e-2, 3e-2, 3e-3, 1e30])
    ]
    outdirs = [tmp_path / "bundle" / c.run_id for c in configs]
    assert train_bundle(configs, outdirs, tmp_path / "state") == [
        "completed",
        "completed",
        "completed",
        "diverged",
    ]
    steps = [json.loads((o / "provenance.json").read_text())["steps_done"] for o in outdirs]
    assert steps[:3] == [60, 60, 20] and steps[3] < 20
    assert json.loads((outdirs[2] / "provenance.json").read_text())["stopped_early"]
    for config, outdir in zip(configs, outdirs, strict=True):
        train(config, tmp_path / "alone" / config.run_id)
        assert_close_runs(outdir, tmp_path / "alone" / config.run_id)
    metrics = [pd.read_parquet(o / "metrics.parquet") for o in outdirs]
    assert metrics[0].loc[0, "loss"] != metrics[1].loc[0, "loss"]  # own initial weights


@pytest.mark.parametrize("early_stop", [False, True])
def test_resume_from_the_bundle_checkpoint_ends_identical(tiny_run, tmp_path, early_stop):
    """With early_stop, r2 stops at step 20 (as in the test above), before the checkpoint."""
    tiny_run["train"]["checkpoint_every"] = 10
    if early_stop:
        tiny_run["train"].update(steps=40, stop_at_val_accuracy=0.08)
        configs = [
            run_config(tiny_run, f"r{seed}", seed, "mlp", optimizer={"lr": lr, "weight_decay": 0})
            for seed, lr in enumerate([1e-2, 3e-2, 3e-3])
        ]
    else:
        configs = [
            run_config(tiny_run, f"r{seed}", seed, "lstm", optimizer={"weight_decay": 0.1 * seed})
            for seed in range(2)
        ]
    train_bundle(configs, [tmp_path / "a" / c.run_id for c in configs], tmp_path / "state_a")
    # a bundle killed after step 30: its step-30 checkpoint and nothing after it
    (tmp_path / "state_b" / "checkpoints").mkdir(parents=True)
    checkpoint = tmp_path / "state_a" / "checkpoints" / "step_000000030.pt"
    (tmp_path / "state_b" / "checkpoints" / checkpoint.name).write_bytes(checkpoint.read_bytes())
    train_bundle(configs, [tmp_path / "b" / c.run_id for c in configs], tmp_path / "state_b")
    for config in configs:
        a, b = tmp_path / "a" / config.run_id, tmp_path / "b" / config.run_id
        pd.testing.assert_frame_equal(
            pd.read_parquet(a / "metrics.parquet"),
            pd.read_parquet(b / "metrics.parquet"),
            check_exact=True,
        )
        wa = torch.load(a / "final.pt", weights_only=False)["model"]
        wb = torch.load(b / "final.pt", weights_only=False)["model"]
        assert all(torch.equal(wa[k], wb[k]) for k in wa)
        provenance = json.loads((b / "provenance.json").read_text())
        assert provenance["resumed_from_steps"] == [30]
        assert (
            provenance["steps_done"]
            == json.loads((a / "provenance.json").read_text())["steps_done"]
        )
    if early_stop:
        assert json.loads((tmp_path / "b/r2/provenance.json").read_text())["steps_done"] == 20


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": {"name": "transformer"}}, "model.name"),
        ({"train": {"mask": "x.pt"}}, "train.mask"),
        ({"train": {"dtype": "float64"}}, "train.dtype"),
        ({"model": {"name": "lstm", "hidden": 8}, "train": {"autocast": "bf16"}}, "autocast"),
        ({"optimizer": {"betas": [0.8, 0.9]}}, "optimizer.betas"),
        ({"filter": {"name": "ema"}}, "filter"),
        ({"model": {"name": "mlp", "hidden": 8}}, "model"),
    ],
)
def test_what_a_bundle_refuses(tiny_run, tmp_path, change, message):
    first = run_config(tiny_run, "a", 0, "mlp")
    raw = first.to_dict()
    raw["run_id"] = "b"
    for section, values in change.items():
        raw[section] = values if section == "model" else {**raw[section], **values}
    alone = {"mask", "dtype", "autocast"}  # refused for the bundle's first run already
    if change.get("model", {}).get("name") == "transformer" or alone & set(change.get("train", {})):
        configs = [run_config_from_dict(raw)]
    else:
        configs = [first, run_config_from_dict(raw)]
    with pytest.raises(ConfigError, match=message):
        train_bundle(configs, [tmp_path / c.run_id for c in configs], tmp_path / "state")
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(
    ("encoding", "model"),
    [
        ("tokens", {"name": "lstm", "hidden": 6, "d_embed": 5, "n_layers": 2}),
        ("onehot", {"name": "lstm", "hidden": 6, "d_embed": 5}),
        ("tokens", {"name": "mlp", "hidden": 7, "d_embed": 3}),
        ("onehot", {"name": "mlp", "hidden": 7}),
        ("tokens", {"name": "quadratic", "hidden": 9}),
        ("onehot", {"name": "quadratic", "hidden": 9}),
    ],
)
def test_stacked_forward_and_gradients_are_each_module_s(encoding, model):
    """Values and gradients: the LSTM and the token quadratic net have hand-written backwards."""
    from repro.data import build_dataset
    from repro.models import build_model
    from repro.models.stacked import stacked_forward

    data = {"name": "modular", "p": 7, "operation": "add", "train_fraction": 0.5}
    dataset = build_dataset({**data, "encoding": encoding}, seed=0)
    modules = []
    for seed in range(3):
        torch.manual_seed(seed)
        modules.append(build_model(model, dataset))
    names = [name for name, _ in modules[0].named_parameters()]
    params = {
        n: torch.stack([dict(m.named_parameters())[n] for m in modules]).detach().requires_grad_()
        for n in names
    }
    inputs, labels = dataset.train.inputs[:10], dataset.train.labels[:10]
    outputs = stacked_forward(model["name"], modules[0])(params, torch.stack([inputs] * 3))
    loss = torch.nn.functional.cross_entropy(
        outputs.flatten(0, 1), labels.repeat(3), reduction="sum"
    )
    loss.backward()
    for index, module in enumerate(modules):
        alone = module(inputs)
        torch.testing.assert_close(outputs[index], alone, rtol=1e-5, atol=1e-6)
        torch.nn.functional.cross_entropy(alone, labels, reduction="sum").backward()
        for name, parameter in module.named_parameters():
            torch.testing.assert_close(
                params[name].grad[index], parameter.grad, rtol=1e-5, atol=1e-6
            )


def test_token_quadratic_trains_on_its_written_out_cross_entropy():
    """The bundle's training losses of the token quadratic net (one written-out pass, the
    softmax's gradient taken in the forward) and their gradients equal each module's cross
    entropy; W is stored transposed, with the module's shape."""
    from repro.data import build_dataset
    from repro.models import build_model
    from repro.models.stacked import stack_parameters, stacked_forward, stacked_losses

    data = {"name": "modular", "p": 7, "operation": "add", "train_fraction": 0.5}
    dataset = build_dataset(data, seed=0)
    modules = []
    for seed in range(3):
        torch.manual_seed(seed)
        modules.append(build_model({"name": "quadratic", "hidden": 9}, dataset))
    params = stack_parameters("quadratic", modules)
    assert params["W"].shape == (3, *modules[0].W.shape)
    assert params["W"].transpose(1, 2).is_contiguous() and params["W"].is_leaf
    forward = stacked_forward("quadratic", modules[0])
    losses_of = stacked_losses("quadratic", modules[0], "cross_entropy", forward)
    generator = torch.Generator().manual_seed(0)
    rows = torch.stack(
        [torch.randperm(len(dataset.train), generator=generator)[:10] for _ in modules]
    )
    inputs, labels = dataset.train.inputs[rows], dataset.train.labels[rows]  # a batch per model
    losses = losses_of(params, inputs, labels)
    weights = torch.rand(3, 10, generator=generator)  # any upstream gradient, not only 1/batch
    (losses * weights).sum().backward()
    for index, module in enumerate(modules):
        alone = torch.nn.functional.cross_entropy(
            module(inputs[index]), labels[index], reduction="none"
        )
        torch.testing.assert_close(losses[index], alone, rtol=1e-5, atol=1e-6)
        (alone * weights[index]).sum().backward()
        for name, parameter in module.named_parameters():
            torch.testing.assert_close(
                params[name].grad[index], parameter.grad, rtol=1e-5, atol=1e-6
            )
    generic = stacked_losses("quadratic", modules[0], "cross_entropy", forward, autocast="bf16")
    with torch.no_grad():
        torch.testing.assert_close(generic(params, inputs, labels), losses.detach())
