"""QM9 molecular graphs for Grokfast's QM9 experiment (main_qm9.py): regress the isotropic
polarizability alpha (bohr^3) of the first 100 molecules, split 50/50.

Inputs are repro.data.graphs.Graphs (padded dense graphs with PyG's 11 atom and 4 bond
features, hydrogens as atoms: see repro.data.chem); labels are float32 alpha in bohr^3. The
dataset reports n_classes=1 (one regression output), vocab_size=11 (atom features) and
seq_len=the largest atom count in the set.

"The first 100 molecules" are PyG's: QM9 in gdb9.sdf order without the 3,054 molecules listed
as uncharacterized (figshare file 3195404). Molecules 58, 61 and 80 are among those, so the
first 100 are gdb_1..gdb_103 minus those three. (PyG versions before the fix of an off-by-one
in that skip list dropped 57, 60 and 79 instead; which PyG Grokfast used is not known.)

Sources (`source=`):
- "download": the raw archive PyG reads when RDKit is installed (deepchem's molnet qm9.zip:
  gdb9.sdf + gdb9.sdf.csv) and the uncharacterized list, under data/qm9/. Bonds and bond types
  come from the SDF bond block, alpha from the CSV's `alpha` column (PyG's target 1, no unit
  conversion). PyG's *processed* archive is not used: it is a pickled torch_geometric object
  that cannot be read without torch_geometric. Nobody publishes digests for these files: their
  sha256 are recorded on first download (data/checksums.json, trust on first use).
- "qm9pack": the QM9 tables shipped in the qm9pack package on PyPI (MIT; 130,831 molecules in
  Index order, i.e. the same molecules in the same order, the uncharacterized ones already
  left out; `Polarizability_bohr3` is the same alpha: 13.21 for methane). Bonds come from its
  SMILES column (the GDB-17 Kekule SMILES of the QM9 xyz files), parsed by repro.data.chem;
  PyG's SDF may place double bonds of a ring differently or, for the rare molecules whose
  relaxed geometry changed bonding, differ in bonds: a documented substitute.
- "synthetic": random molecules (chains of C/N/O/F with rings closed at random and hydrogens
  filling valences) with a target that depends on the graph, for smoke tests.

Split: a seeded random half (n_train of size) for training, the rest for validation, as
torch.utils.data.random_split does in the official code (whose exact halves depend on
torch's global seed and are not reproduced).
"""

from __future__ import annotations

import importlib.util
import io as _io
import zipfile
from pathlib import Path

import torch

from repro.config import ConfigError
from repro.data import chem
from repro.data.fetch import RemoteFile, fetch_files, mirrors_from_env
from repro.data.graphs import Graphs, pad
from repro.data.local import data_root, require
from repro.data.modular import Dataset, Split

NAME = "qm9"
SOURCES = ("download", "qm9pack", "synthetic")
# how figure captions and the report name the data (repro.data.source_note)
NOTES = {
    "download": "QM9 (PyG's raw archive: gdb9.sdf bonds, gdb9.sdf.csv alpha)",
    "qm9pack": (
        "substitute data: QM9 from the qm9pack package (same molecules and alpha as PyG's; "
        "bonds from its SMILES)"
    ),
    "synthetic": "synthetic molecules with a made-up target (smoke test, no meaning)",
}
ARCHIVE = "qm9.zip"
UNCHARACTERIZED = "uncharacterized.txt"
SDF, TARGETS = "gdb9.sdf", "gdb9.sdf.csv"
UNCHARACTERIZED_HEADER = 9  # lines before the index list
UNCHARACTERIZED_COUNT = 3054  # molecules it lists (PyG asserts this number)


def looks_like_archive(path: Path) -> str | None:
    """None if the file is a zip holding gdb9.sdf and gdb9.sdf.csv."""
    try:
        with zipfile.ZipFile(path) as archive:
            missing = {SDF, TARGETS} - set(archive.namelist())
    except zipfile.BadZipFile:
        return "not a zip archive"
    return f"the archive lacks {sorted(missing)}" if missing else None


def looks_like_listing(path: Path) -> str | None:
    """None if the file lists the 3,054 uncharacterized molecules after its 9-line header."""
    try:
        count = len(read_uncharacterized(path))
    except (ConfigError, UnicodeDecodeError) as error:
        return str(error)
    return None if count == UNCHARACTERIZED_COUNT else f"it lists {count} molecules, not 3054"


# None: no published digest; the sha256 seen first is recorded (data/checksums.json)
FILES = (
    RemoteFile(ARCHIVE, None, validate=looks_like_archive),
    RemoteFile(UNCHARACTERIZED, None, validate=looks_like_listing),
)
# PyG's raw URLs, one file each; override with $REPRO_QM9_MIRRORS (mirror_url rules: a folder
# URL ending in "/" serves both files by name)
DEFAULT_URLS = {
    ARCHIVE: "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/molnet_publish/qm9.zip",
    UNCHARACTERIZED: "https://ndownloader.figshare.com/files/3195404",
}
TARGET_COLUMN = "alpha"  # bohr^3, PyG target 1
QM9PACK_FILES = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
QM9PACK_TARGET = "Polarizability_bohr3"
QM9_SIZE = 130_831


def download(root=None, mirrors=None, **options) -> list[Path]:
    """Fetch qm9.zip and uncharacterized.txt into <root>/qm9/ (each file from its own URL,
    or from every mirror in $REPRO_QM9_MIRRORS / `mirrors`)."""
    root = data_root(root)
    overridden = mirrors or mirrors_from_env(NAME, ())
    paths = []
    for remote in FILES:
        paths += fetch_files(
            NAME, [remote], overridden or [DEFAULT_URLS[remote.name]], root, **options
        )
    return paths


def check(source: str = "download", size: int = 100, n_train: int = 50, **_) -> None:
    if source not in SOURCES:
        raise ConfigError(f"data.source: {source!r} is not one of {list(SOURCES)}")
    if not 2 <= size <= QM9_SIZE:
        raise ConfigError(f"data.size: {size} is outside [2, {QM9_SIZE}]")
    if not 1 <= n_train < size:
        raise ConfigError(f"data.n_train: {n_train} is outside [1, size - 1 = {size - 1}]")


def read_uncharacterized(path: Path) -> set[int]:
    """1-based gdb indices of the uncharacterized molecules: the first number of each line
    after the 9-line header (PyG reads lines [9:-2]; the footer lines hold no index)."""
    lines = path.read_text().split("\n")[UNCHARACTERIZED_HEADER:]
    indices = {int(line.split()[0]) for line in lines if line.split() and line.split()[0].isdigit()}
    if not indices:
        raise ConfigError(f"data.source: {path} lists no molecule; is it the uncharacterized list?")
    return indices


def load_download(folder: Path, size: int) -> tuple[list[chem.Molecule], torch.Tensor]:
    """The first `size` characterized molecules of gdb9.sdf (read from inside qm9.zip) and
    their alpha."""
    import pandas as pd

    skip = read_uncharacterized(folder / UNCHARACTERIZED)
    molecules = []
    try:
        with zipfile.ZipFile(folder / ARCHIVE) as archive:
            with archive.open(SDF) as raw:
                lines = _io.TextIOWrapper(raw, encoding="utf-8")
                for index, molecule in enumerate(chem.read_sdf(lines), start=1):
                    if index not in skip:
                        molecules.append(molecule)
                    if len(molecules) == size:
                        break
            with archive.open(TARGETS) as raw:
                targets = pd.read_csv(raw, index_col="mol_id")[TARGET_COLUMN]
    except (zipfile.BadZipFile, KeyError) as error:
        raise ConfigError(f"data.source: 'download': {folder / ARCHIVE}: {error}") from None
    if len(molecules) < size:
        raise ConfigError(f"data.size: {size} but gdb9.sdf has {len(molecules)} molecules")
    missing = [m.name for m in molecules if m.name not in targets.index]
    if missing:
        raise ConfigError(f"data.source: 'download': no {TARGET_COLUMN} for {missing[:3]}")
    alpha = torch.tensor([float(targets[m.name]) for m in molecules], dtype=torch.float32)
    return molecules, alpha


def qm9pack_folder() -> Path:
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "data.source: 'qm9pack' needs the qm9pack package (pip install qm9pack==1.0.3, "
            "pinned in requirements.txt)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_qm9pack(size: int) -> tuple[list[chem.Molecule], torch.Tensor]:
    """The first `size` molecules of qm9pack's tables (Index order), bonds from SMILES."""
    import pandas as pd

    frames, remaining = [], size
    for name in QM9PACK_FILES:
        frame = pd.read_csv(
            qm9pack_folder() / name, usecols=["Index", "SMILES", QM9PACK_TARGET], nrows=remaining
        )
        frames.append(frame)
        remaining -= len(frame)
        if remaining <= 0:
            break
    table = pd.concat(frames, ignore_index=True)
    if not table["Index"].is_monotonic_increasing:
        raise ConfigError("data.source: 'qm9pack': its tables are not in Index order")
    molecules = []
    for index, smiles in zip(table["Index"], table["SMILES"], strict=True):
        molecule = chem.parse_smiles(smiles)
        molecule.name = f"gdb_{index}"
        molecules.append(molecule)
    return molecules, torch.tensor(table[QM9PACK_TARGET].to_numpy(), dtype=torch.float32)


def synthetic(size: int, seed: int) -> tuple[list[chem.Molecule], torch.Tensor]:
    """Random small molecules; target = a fixed linear function of atom and bond counts plus
    noise, so a GNN can fit it."""
    generator = torch.Generator().manual_seed(seed)
    heavy = ("C", "N", "O", "F")
    molecules, targets = [], []
    for _ in range(size):
        n = int(torch.randint(1, 10, (), generator=generator))  # QM9: 1-9 heavy atoms
        kinds = [
            heavy[int(k)]
            for k in torch.multinomial(
                torch.tensor([6.0, 2, 2, 0.3]), n, replacement=True, generator=generator
            )
        ]
        kinds = ["C" if k == "F" and 0 < i < n - 1 else k for i, k in enumerate(kinds)]
        smiles = "".join(kinds)
        if (
            n >= 5
            and kinds[0] == "C"
            and kinds[-1] == "C"
            and torch.rand((), generator=generator) < 0.3
        ):
            smiles = f"{kinds[0]}1{''.join(kinds[1:-1])}{kinds[-1]}1"
        molecule = chem.parse_smiles(smiles)
        counts = [molecule.symbols.count(e) for e in chem.ELEMENTS]
        targets.append(2.0 * counts[0] + 9.0 * counts[1] + 7.0 * counts[2] + 5.0 * counts[3])
        molecules.append(molecule)
    alpha = torch.tensor(targets) + 0.5 * torch.randn(size, generator=generator)
    return molecules, alpha


def build(
    source: str = "download",
    size: int = 100,
    n_train: int = 50,
    root: str | None = None,
    split_seed: int = 0,
) -> Dataset:
    check(source, size, n_train)
    if source == "synthetic":
        molecules, alpha = synthetic(size, split_seed)
    elif source == "qm9pack":
        molecules, alpha = load_qm9pack(size)
    else:
        folder = data_root(root) / NAME
        require([folder / remote.name for remote in FILES], NAME, source)
        molecules, alpha = load_download(folder, size)
    graphs: Graphs = pad([chem.graph(molecule) for molecule in molecules])
    order = torch.randperm(size, generator=torch.Generator().manual_seed(split_seed))
    train, val = order[:n_train].sort().values, order[n_train:].sort().values
    return Dataset(
        train=Split(graphs[train], alpha[train]),
        val=Split(graphs[val], alpha[val]),
        n_classes=1,  # one regression output
        vocab_size=chem.NODE_FEATURES,
        seq_len=graphs.nodes.shape[1],
    )
