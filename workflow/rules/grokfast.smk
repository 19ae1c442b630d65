# Grokfast (arXiv 2405.20233): named targets. The runs, figures and claims come from the shared
# rules (train.smk, figures.smk) and config/papers/grokfast.yaml.


rule grokfast:
    input:
        paper_files("grokfast"),


rule grokfast_fig2:
    input:
        figure_files("grokfast", "fig2"),


rule grokfast_fig3:
    input:
        figure_files("grokfast", "fig3"),


rule grokfast_fig6:
    input:
        figure_files("grokfast", "fig6"),


rule grokfast_table1:
    input:
        figure_files("grokfast", "table1"),


rule grokfast_table3:
    input:
        figure_files("grokfast", "table3"),
