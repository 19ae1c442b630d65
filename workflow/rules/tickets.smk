# Grokking Tickets (arXiv 2310.19470): the mask rule and named targets. Runs, figures and claims
# come from the shared rules (train.smk, figures.smk) and config/papers/tickets.yaml.
#
# A ticket, PaI or control run names a file under results/<scale>/tickets/masks/ in train.mask
# or train.init_from, so it is an input of that run's train job; this rule makes it from the
# base run. Only the base run's final.pt and config.json are declared: the weights/step_*.pt
# snapshots are written by the same train job (before final.pt) and read here by path.


rule tickets_mask:
    input:
        "results/{scale}/tickets/{experiment}/{run}/config.json",
        "results/{scale}/tickets/{experiment}/{run}/final.pt",
    output:
        "results/{scale}/tickets/masks/{experiment}/{run}/{method}_k={rate}_step={step}.pt",
    log:
        "logs/{scale}/tickets/masks/{experiment}/{run}/{method}_k={rate}_step={step}.log",
    wildcard_constraints:
        method="[a-z0-9]+",
        rate="[0-9.]+",
        step="[0-9]+|final",
    localrule: True
    conda:
        "../../envs/repro.yaml"
    params:
        run_dir=lambda wildcards, input: Path(input[0]).parent,
    shell:
        "python -m repro mask {params.run_dir} --method {wildcards.method} --rate {wildcards.rate}"
        " --step {wildcards.step} --out {output} > {log} 2>&1"


rule tickets:
    input:
        paper_files("tickets"),


rule tickets_fig1:
    input:
        figure_files("tickets", "fig1"),


rule tickets_fig2:
    input:
        figure_files("tickets", "fig2"),


rule tickets_fig3:
    input:
        figure_files("tickets", "fig3"),


rule tickets_fig4:
    input:
        figure_files("tickets", "fig4"),


rule tickets_fig5:
    input:
        figure_files("tickets", "fig5"),


rule tickets_fig6:
    input:
        figure_files("tickets", "fig6"),


rule tickets_fig7:
    input:
        figure_files("tickets", "fig7"),


rule tickets_fig8:
    input:
        figure_files("tickets", "fig8"),


rule tickets_fig16:
    input:
        figure_files("tickets", "fig16"),


rule tickets_fig17:
    input:
        figure_files("tickets", "fig17"),


rule tickets_fig18:
    input:
        figure_files("tickets", "fig18"),


rule tickets_fig19:
    input:
        figure_files("tickets", "fig19"),


rule tickets_fig9:
    input:
        figure_files("tickets", "fig9"),


rule tickets_fig11:
    input:
        figure_files("tickets", "fig11"),


rule tickets_fig20:
    input:
        figure_files("tickets", "fig20"),


rule tickets_fig10:
    input:
        figure_files("tickets", "fig10"),


rule tickets_table1:
    input:
        figure_files("tickets", "table1"),


rule tickets_fig2d:
    input:
        figure_files("tickets", "fig2d"),


rule tickets_fig2e:
    input:
        figure_files("tickets", "fig2e"),


rule tickets_fig9b:
    input:
        figure_files("tickets", "fig9b"),


rule tickets_fig15:
    input:
        figure_files("tickets", "fig15"),
