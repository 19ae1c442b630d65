# Figures, tables and claims of every paper, and the report. Local rules: they are cheap.


rule figure:
    input:
        figure_experiments,
    output:
        png=report(
            "paper_figures/{paper}/{figure}.png",
            caption="../report/figure.rst",
            category="{paper}",
            labels={"figure": "{figure}"},
        ),
        pdf="paper_figures/{paper}/{figure}.pdf",
        table="paper_figures/{paper}/{figure}.md",
        csv="paper_figures/{paper}/{figure}.csv",
        claims="paper_figures/{paper}/{figure}.claims.json",
    log:
        "logs/figures/{paper}/{figure}.log",
    localrule: True
    conda:
        "../../envs/repro.yaml"
    params:
        scale=config["scale"],
    shell:
        "python -m repro figure {wildcards.paper} {wildcards.figure} --scale {params.scale}"
        " --results results/{params.scale}/{wildcards.paper} --out-dir paper_figures/{wildcards.paper}"
        " > {log} 2>&1"


rule claims:
    input:
        lambda wildcards: [
            f"paper_figures/{wildcards.paper}/{figure}.claims.json"
            for figure in figure_names(wildcards.paper)
        ],
    output:
        "paper_figures/{paper}/claims.json",
    log:
        "logs/figures/{paper}/claims.log",
    localrule: True
    conda:
        "../../envs/repro.yaml"
    params:
        scale=config["scale"],
    shell:
        "python -m repro claims {wildcards.paper} --scale {params.scale} --out {output} {input} > {log} 2>&1"


rule report:
    input:
        claims=[f"paper_figures/{paper}/claims.json" for paper in PAPERS],
        figures=[f for paper in PAPERS for f in paper_files(paper)],
    output:
        "paper_figures/REPORT.md",
    log:
        "logs/figures/report.log",
    localrule: True
    conda:
        "../../envs/repro.yaml"
    shell:
        "python -m repro report --out {output} {input.claims} > {log} 2>&1"
