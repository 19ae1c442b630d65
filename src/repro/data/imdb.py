"""IMDb sentiment for Grokfast's LSTM experiment: token ids of reviews, label 1 = positive.

Grokfast's main_imdb.py reads ./IMDB-Dataset.csv (columns `review`, `sentiment` with values
positive/negative: the layout of the 50,000-review Kaggle CSV built from Maas et al.'s
reviews), keeps the first 1,000 rows, splits them 75/25 stratified by label, and tokenizes as
in repro.data.text (top 1,000 training words, sequences of 500, left-padded).

Sources (`source=`):
- "csv": data/imdb/IMDB-Dataset.csv, the file the official code reads. Its only public copy is
  the Google Drive link in the Grokfast README (whether that file is the bare CSV was not
  checkable from here), and nobody publishes its digest: the first download (or a copy put
  there by hand) has its SHA-256 recorded in data/checksums.json and every later download must
  match it (trust on first use; see repro.data.fetch.ChecksumLock).
- "aclimdb": Stanford's aclImdb_v1.tar.gz (published SHA-256 below), the original 50,000
  labelled reviews. They are read once into data/imdb/aclImdb.csv with the same two columns, in
  a fixed order (file names sorted, then shuffled with seed 0) since the Kaggle CSV's order is
  unknown: "the first 1,000 rows" are therefore a different sample of the same reviews.
- "synthetic": random token sequences of the right shape, labelled by whether even or odd ids
  are more frequent (learnable), for smoke tests.

No PyPI package ships the review texts (see shared/papers/grokking.md section 0.2), so the
real experiment needs a download and is `not run at this scale` without --config download=true.

Split: a seeded stratified split (repro.data.splits) with ceil(val_fraction * size) validation
rows, the sizes scikit-learn's train_test_split gives; the rows differ from the official run
(its split depends on numpy's global random state), as the official split varies per seed too.
"""

from __future__ import annotations

import math
import tarfile
from pathlib import Path

import torch

from repro import io
from repro.config import ConfigError
from repro.data import text
from repro.data.fetch import RemoteFile, fetch_files, mirrors_from_env
from repro.data.local import data_root, require
from repro.data.modular import Dataset, Split
from repro.data.splits import stratified_split

NAME = "imdb"
SOURCES = ("csv", "aclimdb", "synthetic")
# how figure captions and the report name the data (repro.data.source_note)
NOTES = {
    "csv": "IMDb: IMDB-Dataset.csv, the file Grokfast's code reads",
    "aclimdb": (
        "IMDb: Stanford's aclImdb reviews in a fixed shuffled order (not the official CSV's "
        "order: a different 1,000-review sample)"
    ),
    "synthetic": "synthetic IMDb-shaped token sequences (smoke test, no meaning)",
}
CSV = "IMDB-Dataset.csv"
ARCHIVE = "aclImdb_v1.tar.gz"
ACLIMDB_CSV = "aclImdb.csv"
# full URLs of the one file each source needs; override with $REPRO_IMDB_MIRRORS
CSV_MIRRORS = (
    "https://drive.usercontent.google.com/download"
    "?id=11dNiqE5Y5tigaeyYP6JPV3xxa1MOu1L-&export=download&confirm=t",
)
ARCHIVE_MIRRORS = ("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",)
CSV_HEADER = "review,sentiment"


def looks_like_csv(path: Path) -> str | None:
    """None if the file starts with the CSV's header line, else what it starts with."""
    with open(path, "rb") as file:
        start = file.read(200)
    first = start.decode("utf-8", "replace").lstrip("\ufeff").splitlines()[:1]
    if first and first[0].strip() == CSV_HEADER:
        return None
    return f"expected a CSV starting {CSV_HEADER!r}, got {start[:40]!r}"


REMOTE = {
    # no published digest: None = record the sha256 on first download (trust on first use)
    "csv": RemoteFile(CSV, None, "sha256", validate=looks_like_csv),
    # the digest that TFDS and many other loaders publish for the Stanford archive
    "aclimdb": RemoteFile(
        ARCHIVE, "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe", "sha256"
    ),
}
ACLIMDB_ORDER_SEED = 0


def download(source: str = "csv", root=None, mirrors=None, **options) -> list[Path]:
    """Fetch the CSV or the archive into <root>/imdb/; the archive is then read into a CSV."""
    if source not in REMOTE:
        raise ConfigError(f"fetch imdb: source {source!r} is not one of {list(REMOTE)}")
    defaults = CSV_MIRRORS if source == "csv" else ARCHIVE_MIRRORS
    mirrors = mirrors or mirrors_from_env(NAME, defaults)
    paths = fetch_files(NAME, [REMOTE[source]], mirrors, data_root(root), **options)
    if source == "aclimdb":
        paths.append(archive_to_csv(paths[0], paths[0].parent / ACLIMDB_CSV))
    return paths


def archive_to_csv(archive: Path, target: Path) -> Path:
    """The 50,000 labelled reviews of aclImdb_v1.tar.gz as a review,sentiment CSV, in a fixed
    order: member names sorted, then permuted with seed ACLIMDB_ORDER_SEED."""
    import pandas as pd

    rows = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")  # aclImdb/{train,test}/{pos,neg}/<id>_<stars>.txt
            if len(parts) == 4 and parts[1] in ("train", "test") and parts[2] in ("pos", "neg"):
                review = tar.extractfile(member).read().decode("utf-8")
                rows[member.name] = (review, "positive" if parts[2] == "pos" else "negative")
    names = sorted(rows)
    order = torch.randperm(
        len(names), generator=torch.Generator().manual_seed(ACLIMDB_ORDER_SEED)
    ).tolist()
    frame = pd.DataFrame([rows[names[i]] for i in order], columns=["review", "sentiment"])
    with io.atomic_path(target) as temporary:
        frame.to_csv(temporary, index=False)
    return target


def check(
    source: str = "csv",
    size: int = 1000,
    n_vocab: int = 1000,
    seq_len: int = 500,
    val_fraction: float = 0.25,
    **_,
) -> None:
    if source not in SOURCES:
        raise ConfigError(f"data.source: {source!r} is not one of {list(SOURCES)}")
    if not 0 < val_fraction < 1:
        raise ConfigError(f"data.val_fraction: {val_fraction} is outside (0, 1)")
    if not 4 <= size <= 50_000:
        raise ConfigError(f"data.size: {size} is outside [4, 50000] (the CSV has 50,000 rows)")
    for key, value in (("n_vocab", n_vocab), ("seq_len", seq_len)):
        if value < 1:
            raise ConfigError(f"data.{key}: {value} must be at least 1")


def read_rows(path: Path, size: int) -> tuple[list[str], torch.Tensor]:
    """(reviews, labels) of the first `size` rows of a review,sentiment CSV."""
    import pandas as pd

    frame = pd.read_csv(path, nrows=size)
    if not {"review", "sentiment"} <= set(frame.columns):
        raise ConfigError(
            f"data.source: {path} has columns {list(frame.columns)}; expected review, sentiment"
        )
    if len(frame) < size:
        raise ConfigError(f"data.size: {size} but {path} has only {len(frame)} rows")
    labels = torch.tensor((frame["sentiment"] == "positive").to_numpy(), dtype=torch.int64)
    return frame["review"].astype(str).tolist(), labels


def synthetic(size: int, n_val: int, n_vocab: int, seq_len: int, seed: int) -> Dataset:
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(1, n_vocab + 1, (size, seq_len), generator=generator)
    lengths = torch.randint(seq_len // 4 + 1, seq_len + 1, (size, 1), generator=generator)
    tokens[torch.arange(seq_len).expand(size, -1) < seq_len - lengths] = 0  # left padding
    even = ((tokens % 2 == 0) & (tokens > 0)).sum(1)
    labels = (even > (tokens % 2 == 1).sum(1)).long()
    n_train = size - n_val
    return _dataset(tokens[:n_train], labels[:n_train], tokens[n_train:], labels[n_train:], n_vocab)


def _dataset(train_x, train_y, val_x, val_y, n_vocab: int) -> Dataset:
    return Dataset(
        train=Split(train_x, train_y),
        val=Split(val_x, val_y),
        n_classes=2,
        vocab_size=n_vocab + 1,  # id 0 is padding
        seq_len=train_x.shape[1],
    )


def build(
    source: str = "csv",
    size: int = 1000,
    n_vocab: int = 1000,
    seq_len: int = 500,
    val_fraction: float = 0.25,
    root: str | None = None,
    split_seed: int = 0,
) -> Dataset:
    """The vocabulary comes from the training rows only, as in the official script."""
    check(source, size, n_vocab, seq_len, val_fraction)
    n_val = math.ceil(val_fraction * size)
    if source == "synthetic":
        return synthetic(size, n_val, n_vocab, seq_len, split_seed)
    folder = data_root(root) / NAME
    path = folder / (CSV if source == "csv" else ACLIMDB_CSV)
    if source == "aclimdb" and not path.exists() and (folder / ARCHIVE).exists():
        archive_to_csv(folder / ARCHIVE, path)
    require([path], NAME, source)
    reviews, labels = read_rows(path, size)
    train, val = stratified_split(labels, size - n_val, split_seed)
    vocab = text.vocabulary([reviews[i] for i in train.tolist()], n_vocab)
    encode = lambda indices: text.encode([reviews[i] for i in indices.tolist()], vocab, seq_len)
    return _dataset(encode(train), labels[train], encode(val), labels[val], len(vocab))
