# Two commands on a fresh machine:  `make` (the whole pipeline)  and  `make test`.
# The first use creates .venv with the pinned packages of requirements.txt.
VENV := .venv
STAMP := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)
CORES ?= all
SCALE ?= laptop

.PHONY: all test lint format smoke report clean-results
all: $(STAMP)
	snakemake --cores $(CORES) --config scale=$(SCALE)

$(STAMP): requirements.txt pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

test: $(STAMP)
	pytest

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
