# repro: datasets -> training runs -> tables -> figures and claims -> paper_figures/REPORT.md
#
#   snakemake --cores all                      # every paper in config/config.yaml, default scale
#   snakemake --cores all exploring_grokking   # one paper;  ... exploring_grokking_fig1: one figure
#   snakemake --cores all --config scale=smoke # smoke | laptop | paper
#   snakemake --list-target-rules              # every named target
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/bundles.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/dvc.smk"
include: "workflow/rules/exploring_grokking.smk"
include: "workflow/rules/grokfast.smk"
include: "workflow/rules/tickets.smk"
include: "workflow/rules/modular_polynomials.smk"
include: "workflow/rules/why_grok.smk"


rule all:
    default_target: True
    input:
        "paper_figures/REPORT.md",
