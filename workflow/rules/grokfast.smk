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


rule grokfast_fig9:
    input:
        figure_files("grokfast", "fig9"),


rule grokfast_fig10:
    input:
        figure_files("grokfast", "fig10"),


rule grokfast_fig11:
    input:
        figure_files("grokfast", "fig11"),


rule grokfast_table4:
    input:
        figure_files("grokfast", "table4"),


rule grokfast_table5:
    input:
        figure_files("grokfast", "table5"),


rule grokfast_table6:
    input:
        figure_files("grokfast", "table6"),
