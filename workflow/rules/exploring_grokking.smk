# Exploring Grokking (arXiv 2412.10898): named targets. The runs, figures and claims come from
# the shared rules (train.smk, figures.smk) and config/papers/exploring_grokking.yaml.


rule exploring_grokking:
    input:
        paper_files("exploring_grokking"),


rule exploring_grokking_fig1:
    input:
        figure_files("exploring_grokking", "fig1"),


rule exploring_grokking_fig2:
    input:
        figure_files("exploring_grokking", "fig2"),


rule exploring_grokking_fig3:
    input:
        figure_files("exploring_grokking", "fig3"),


rule exploring_grokking_fig4:
    input:
        figure_files("exploring_grokking", "fig4"),


rule exploring_grokking_fig5:
    input:
        figure_files("exploring_grokking", "fig5"),


rule exploring_grokking_fig6:
    input:
        figure_files("exploring_grokking", "fig6"),
