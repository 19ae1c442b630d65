# Furuta et al. (arXiv 2402.16726): named targets. The runs, figures and claims come from the
# shared rules (train.smk, figures.smk) and config/papers/modular_polynomials.yaml.


rule modular_polynomials:
    input:
        paper_files("modular_polynomials"),


rule modular_polynomials_fig1:
    input:
        figure_files("modular_polynomials", "fig1"),


rule modular_polynomials_fig2:
    input:
        figure_files("modular_polynomials", "fig2"),


rule modular_polynomials_fig3:
    input:
        figure_files("modular_polynomials", "fig3"),


rule modular_polynomials_fig4:
    input:
        figure_files("modular_polynomials", "fig4"),


rule modular_polynomials_fig5:
    input:
        figure_files("modular_polynomials", "fig5"),


rule modular_polynomials_fig6:
    input:
        figure_files("modular_polynomials", "fig6"),


rule modular_polynomials_fig7:
    input:
        figure_files("modular_polynomials", "fig7"),


rule modular_polynomials_fig8:
    input:
        figure_files("modular_polynomials", "fig8"),


rule modular_polynomials_fig9:
    input:
        figure_files("modular_polynomials", "fig9"),


rule modular_polynomials_table1:
    input:
        figure_files("modular_polynomials", "table1"),


rule modular_polynomials_fig10:
    input:
        figure_files("modular_polynomials", "fig10"),


rule modular_polynomials_fig11:
    input:
        figure_files("modular_polynomials", "fig11"),


rule modular_polynomials_table_a2:
    input:
        figure_files("modular_polynomials", "table_a2"),


rule modular_polynomials_table_a3:
    input:
        figure_files("modular_polynomials", "table_a3"),


rule modular_polynomials_table_a4:
    input:
        figure_files("modular_polynomials", "table_a4"),


rule modular_polynomials_fig_a12:
    input:
        figure_files("modular_polynomials", "fig_a12"),


rule modular_polynomials_fig_a13:
    input:
        figure_files("modular_polynomials", "fig_a13"),


rule modular_polynomials_fig_a14:
    input:
        figure_files("modular_polynomials", "fig_a14"),


rule modular_polynomials_fig_a15:
    input:
        figure_files("modular_polynomials", "fig_a15"),


rule modular_polynomials_fig_a16:
    input:
        figure_files("modular_polynomials", "fig_a16"),


rule modular_polynomials_table_a5:
    input:
        figure_files("modular_polynomials", "table_a5"),


rule modular_polynomials_fig_a17:
    input:
        figure_files("modular_polynomials", "fig_a17"),


rule modular_polynomials_fig_a18:
    input:
        figure_files("modular_polynomials", "fig_a18"),


rule modular_polynomials_fig_a19:
    input:
        figure_files("modular_polynomials", "fig_a19"),


rule modular_polynomials_fig_a20:
    input:
        figure_files("modular_polynomials", "fig_a20"),


rule modular_polynomials_fig_a21:
    input:
        figure_files("modular_polynomials", "fig_a21"),


rule modular_polynomials_fig_a22:
    input:
        figure_files("modular_polynomials", "fig_a22"),


rule modular_polynomials_fig_a23:
    input:
        figure_files("modular_polynomials", "fig_a23"),


rule modular_polynomials_fig_a24:
    input:
        figure_files("modular_polynomials", "fig_a24"),
