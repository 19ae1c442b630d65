import pytest

from repro.config import ConfigError, check_schema, deep_merge, load_schema, run_config_from_dict


@pytest.mark.parametrize(
    "change, message",
    [
        ({"model": {"name": "resnet"}}, "model.name: 'resnet' is not one of"),
        ({"optimizer": {"name": "lion"}}, "optimizer.name: 'lion' is not one of"),
        (
            {"data": {"name": "modular", "p": 9, "operation": "add", "train_fraction": 0.5}},
            "data.p: 9 is not prime",
        ),
        (
            {"data": {"name": "modular", "p": 11, "operation": "a?b", "train_fraction": 0.5}},
            "data.operation",
        ),
        (
            {"data": {"name": "modular", "p": 11, "operation": "add", "train_fraction": 1.5}},
            "data.train_fraction",
        ),
        (
            {"data": {"name": "modular", "p": 11, "operation": "add"}},
            "data.train_fraction: required for dataset 'modular'",
        ),
        ({"train": {"steps": 0}}, "train.steps"),
        ({"train": {"stepz": 10}}, "train: unknown key"),
    ],
)
def test_bad_values_give_one_line_naming_the_key(tiny_run, change, message):
    with pytest.raises(ConfigError) as error:
        run_config_from_dict({**tiny_run, **change}, where="run.json")
    text = str(error.value)
    assert "\n" not in text and text.startswith("run.json: ")
    assert message in text


def test_workflow_config_schema():
    schema = load_schema("config.schema.yaml")
    check_schema({"scale": "laptop", "papers": ["exploring_grokking"]}, schema)
    with pytest.raises(ConfigError, match="scale: 'huge' is not one of"):
        check_schema({"scale": "huge"}, schema)
    with pytest.raises(ConfigError, match="unknown key"):
        check_schema({"scael": "smoke"}, schema)


def test_round_trip(tiny_run):
    config = run_config_from_dict(tiny_run)
    assert run_config_from_dict(config.to_dict()) == config


def test_deep_merge_replaces_a_renamed_section():
    base = {"model": {"name": "transformer", "d_model": 128}, "seed": 0}
    assert deep_merge(base, {"model": {"d_model": 64}})["model"] == {
        "name": "transformer",
        "d_model": 64,
    }
    assert deep_merge(base, {"model": {"name": "lstm", "hidden": 20}})["model"] == {
        "name": "lstm",
        "hidden": 20,
    }
    assert base["model"]["d_model"] == 128  # inputs are not modified


def test_identity_leaves_out_defaults_and_keeps_what_differs():
    from repro.config import run_config_from_dict, sparse_settings

    raw = {
        "paper": "p",
        "experiment": "e",
        "run_id": "r",
        "seed": 0,
        "data": {"name": "modular", "p": 7, "operation": "add", "train_fraction": 0.5},
        "model": {"name": "mlp"},
        "optimizer": {"lr": 0.01},
        "train": {"steps": 10},
    }
    config = run_config_from_dict(raw)
    identity = config.identity()
    assert identity["optimizer"] == {"lr": 0.01}
    assert identity["train"] == {"steps": 10}
    assert identity["data"] == raw["data"] and identity["model"] == raw["model"]
    # a config.json written in full (every default spelled out) has the same identity
    assert sparse_settings(config.to_dict()) == identity
