# What the DVC stages of dvc.yaml ask Snakemake for: each paper's runs (`<paper>_runs`), and two
# views DVC reads: one metrics file per claim, and a paper's learning curves as one CSV.


# `<paper>_runs`: train and aggregate every run of a paper, draw nothing (dvc.yaml: runs@<paper>)
for _paper in PAPERS:

    rule:
        name:
            f"{_paper}_runs"
        input:
            paper_tables(_paper),


rule claim_metrics:
    input:
        "paper_figures/{paper}/claims.json",
    output:
        # a folder: its files are the claims, which the paper's code may add or remove
        directory("metrics/{paper}"),
    log:
        "logs/figures/{paper}/metrics.log",
    localrule: True
    conda:
        "../../envs/repro.yaml"
    shell:
        "python -m repro metrics {input} --out-dir {output} > {log} 2>&1"


rule learning_curves:
    input:
        lambda wildcards: paper_tables(wildcards.paper, ("curves",)),
    output:
        "paper_figures/curves/{paper}.csv",
    log:
        "logs/figures/{paper}/curves.log",
    localrule: True
    conda:
        "../../envs/repro.yaml"
    shell:
        "python -m repro curves --out {output} {input} > {log} 2>&1"
