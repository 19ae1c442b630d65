"""The conda environment the rules name pins the same packages as the venv's requirements."""

import re

import yaml

from conftest import ROOT


def requirement_lines(text):
    return sorted(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def test_conda_env_matches_requirements():
    env = yaml.safe_load((ROOT / "envs" / "repro.yaml").read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    requirements = requirement_lines((ROOT / "requirements.txt").read_text())
    assert sorted(pip) == requirements
    assert all("==" in line for line in requirements)
    assert "torch==2.13.0" in requirements
    assert "python=3.11" in env["dependencies"]


def test_every_rule_names_the_env():
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        text = smk.read_text()
        envs = re.findall(r'conda:\n\s+"../../envs/repro.yaml"', text)
        assert text.count("shell:") == len(envs), smk
