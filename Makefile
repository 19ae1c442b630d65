# Two commands on a fresh machine:  `make` (the whole pipeline)  and  `make test`.
# The first use creates .venv with the pinned packages of requirements.txt.
VENV := .venv
STAMP := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)
CORES ?= all
SCALE ?= laptop

.PHONY: all test test-slow lint format smoke report clean-results
all: $(STAMP)
	snakemake --cores $(CORES) --config scale=$(SCALE)

$(STAMP): requirements.txt pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

test: $(STAMP)
	pytest

test-slow: $(STAMP)
	pytest -m slow

smoke: $(STAMP)
	snakemake --cores $(CORES) --config scale=smoke

report: $(STAMP)
	snakemake --cores $(CORES) --config scale=$(SCALE) --report report.html

lint: $(STAMP)
	snakemake --lint
	snakefmt --check Snakefile workflow/rules
	ruff check src tests bench
	ruff format --check src tests bench

format: $(STAMP)
	snakefmt Snakefile workflow/rules
	ruff format src tests bench
	ruff check --fix src tests bench

clean-results:
	rm -rf results paper_figures logs benchmarks .snakemake/metadata

# A real one-node SLURM cluster on this machine (root; installs Debian's slurm, munge, slurmdbd,
# MariaDB), the smoke DAG through profiles/slurm against it, then the daemons stopped again.
.PHONY: test-slurm
test-slurm: $(STAMP)
	scripts/slurm/test.sh

# Sharing through DVC (README, "Sharing results with DVC"), at the scale in config/config.yaml.
# pull: dvc pull, then mark what arrived up to date for Snakemake (src/repro/share.py says when);
# push: dvc commit + dvc push, refused while an output is missing or stale (snakemake --summary).
.PHONY: pull push test-dvc
pull: $(STAMP)
	PYTHONPATH=src python -m repro share pull

push: $(STAMP)
	PYTHONPATH=src python -m repro share push

# The collaborator's round trip in temporary clones and a temporary remote (about 3 minutes):
# tests/dvc_roundtrip.py says what it checks. Not part of `make test`, which it would double.
test-dvc: $(STAMP)
	python tests/dvc_roundtrip.py
