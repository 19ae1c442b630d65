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


# ---- ablations and the reviewers' questions (src/repro/papers/grokfast_ablations.py) ----
# Fig. 12 and Table 2 also read the saved weights of the trajectory runs, which the train rule
# writes next to final.pt: results/<scale>/grokfast/trajectory/<run>/weights/step_*.pt.


rule grokfast_fig4:
    input:
        figure_files("grokfast", "fig4"),


rule grokfast_fig5:
    input:
        figure_files("grokfast", "fig5"),


rule grokfast_fig7:
    input:
        figure_files("grokfast", "fig7"),


rule grokfast_fig8:
    input:
        figure_files("grokfast", "fig8"),


rule grokfast_fig12:
    input:
        figure_files("grokfast", "fig12"),


rule grokfast_table2:
    input:
        figure_files("grokfast", "table2"),


rule grokfast_fig_review_momentum:
    input:
        figure_files("grokfast", "fig_review_momentum"),


rule grokfast_fig_review_lr:
    input:
        figure_files("grokfast", "fig_review_lr"),


rule grokfast_fig_review_highpass:
    input:
        figure_files("grokfast", "fig_review_highpass"),


rule grokfast_fig_review_sgd:
    input:
        figure_files("grokfast", "fig_review_sgd"),


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
