# One rule trains every run of every paper. Only the final files are declared: checkpoints in
# OUTDIR/checkpoints are not, so snakemake never deletes them and a rerun resumes.


rule train:
    input:
        run_upstream_files,
        run_data_files,
    output:
        multiext(
            "results/{scale}/{paper}/{experiment}/{run}/",
            "config.json",
            "metrics.parquet",
            "final.pt",
            "provenance.json",
        ),
    log:
        "logs/{scale}/{paper}/{experiment}/{run}.log",
    benchmark:
        "benchmarks/{scale}/{paper}/{experiment}/{run}.tsv"
    conda:
        "../../envs/repro.yaml"
    threads: config["threads_per_run"]
    resources:
        runtime=train_runtime,
        mem_mb=train_mem_mb,
        gpu=train_gpus,
    params:
        config=run_config_json,
        outdir="results/{scale}/{paper}/{experiment}/{run}",
    shell:
        "python -m repro train --run {wildcards.paper}/{wildcards.experiment}/{wildcards.run}"
        " --scale {wildcards.scale} --threads {threads} {params.outdir} > {log} 2>&1"


rule aggregate:
    input:
        experiment_run_files,
    output:
        curves="results/{scale}/{paper}/{experiment}/curves.parquet",
        summary="results/{scale}/{paper}/{experiment}/summary.parquet",
    log:
        "logs/{scale}/{paper}/{experiment}/aggregate.log",
    localrule: True
    conda:
        "../../envs/repro.yaml"
    params:
        runs=experiment_runs,
    shell:
        "python -m repro aggregate results/{wildcards.scale}/{wildcards.paper}/{wildcards.experiment}"
        " {params.runs} > {log} 2>&1"
