"""Python is ruff-clean and ruff-formatted (the Snakefiles are checked in test_workflow)."""

from conftest import ROOT, run


def test_ruff():
    check = run(["ruff", "check", "src", "tests", "bench"], ROOT)
    assert check.returncode == 0, check.stdout
    formatted = run(["ruff", "format", "--check", "src", "tests", "bench"], ROOT)
    assert formatted.returncode == 0, formatted.stdout
