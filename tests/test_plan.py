import pytest

from conftest import ROOT
from repro.config import ConfigError
from repro.papers import paper_module
from repro.plan import PAPERS_DIR, find_run, load_paper, plan_experiment, plan_paper

SPEC = {
    "paper": "demo",
    "title": "demo",
    "base": {
        "data": {"name": "modular", "p": 11, "operation": "add", "train_fraction": 0.5},
        "model": {"name": "transformer", "d_model": 16, "n_heads": 2},
        "train": {"steps": 100},
    },
    "scales": {"smoke": {"train": {"steps": 5}}},
    "experiments": {
        "sweep": {
            "description": "",
            "grid": {"data.train_fraction": [0.3, 0.5], "seed": [0, 1]},
            "scales": {"smoke": {"grid": {"seed": [0]}}},
        },
        "models": {
            "description": "",
            "variants": {"transformer": {}, "mlp": {"model": {"name": "mlp", "hidden": 8}}},
            "set": {"train": {"steps": 7}},
        },
    },
    "figures": {"fig1": {"title": "", "experiments": ["sweep"]}},
}


def test_grid_ids_and_scale_overrides():
    laptop = plan_experiment(SPEC, "sweep", "laptop")
    assert [r.config.run_id for r in laptop] == [
        "train_fraction=0.3_seed=0",
        "train_fraction=0.3_seed=1",
        "train_fraction=0.5_seed=0",
        "train_fraction=0.5_seed=1",
    ]
    assert laptop[1].config.seed == 1 and laptop[1].config.data["train_fraction"] == 0.3
    assert laptop[0].config.train.steps == 100
    assert laptop[0].outdir == "results/laptop/demo/sweep/train_fraction=0.3_seed=0"
    smoke = plan_experiment(SPEC, "sweep", "smoke")
    assert len(smoke) == 2 and smoke[0].config.train.steps == 5


def test_variants_replace_a_renamed_model_and_experiment_set_wins_over_scale():
    runs = plan_experiment(SPEC, "models", "smoke")
    assert [r.config.run_id for r in runs] == ["transformer", "mlp"]
    assert runs[1].config.model == {"name": "mlp", "hidden": 8}
    assert runs[1].config.variant == "mlp"
    assert runs[0].config.train.steps == 7  # experiment.set applies after scales[scale]


def test_bad_scale_and_bad_values_fail_before_training():
    with pytest.raises(ConfigError, match="scale: 'huge'"):
        plan_experiment(SPEC, "sweep", "huge")
    bad = {**SPEC, "experiments": {"sweep": {"description": "", "grid": {"data.p": [12]}}}}
    with pytest.raises(ConfigError, match=r"\[laptop\] sweep/p=12: data.p: 12 is not prime"):
        plan_experiment(bad, "sweep", "laptop")


PAPERS = sorted(path.stem for path in PAPERS_DIR.glob("*.yaml"))


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("scale", ["smoke", "laptop", "paper"])
def test_every_paper_plans_at_every_scale(paper, scale):
    runs = plan_paper(paper, scale)
    ids = [run.key for run in runs]
    assert len(ids) == len(set(ids)) and runs
    experiments = {run.config.experiment for run in runs}
    assert experiments == set(load_paper(paper)["experiments"])


@pytest.mark.parametrize("paper", PAPERS)
def test_every_figure_has_code_and_a_named_target(paper):
    figures = set(load_paper(paper)["figures"])
    assert set(paper_module(paper).FIGURES) == figures
    rules = (ROOT / "workflow" / "rules" / f"{paper}.smk").read_text()
    assert f"rule {paper}:" in rules
    for figure in figures:
        assert f"rule {paper}_{figure}:" in rules


def test_find_run():
    config = find_run("exploring_grokking", "smoke", "models", "mlp_seed=0")
    assert config.model["name"] == "mlp" and config.data["encoding"] == "onehot"
    with pytest.raises(ConfigError, match="not planned"):
        find_run("exploring_grokking", "smoke", "models", "nope")
