# Why Do You Grok? (arXiv 2407.12332): named targets. The runs, figures and claims come from the
# shared rules (train.smk, figures.smk) and config/papers/why_grok.yaml.


rule why_grok:
    input:
        paper_files("why_grok"),


rule why_grok_fig1:
    input:
        figure_files("why_grok", "fig1"),


rule why_grok_fig2:
    input:
        figure_files("why_grok", "fig2"),


rule why_grok_fig3:
    input:
        figure_files("why_grok", "fig3"),


rule why_grok_fig4:
    input:
        figure_files("why_grok", "fig4"),


rule why_grok_fig5:
    input:
        figure_files("why_grok", "fig5"),


rule why_grok_fig_review_init_seeds:
    input:
        figure_files("why_grok", "fig_review_init_seeds"),
