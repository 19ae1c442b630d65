"""Molecules from SDF records or Kekule SMILES, and their graphs with PyG's QM9 features,
without RDKit (a large dependency for what QM9 needs).

A Molecule is its atoms' element symbols (hydrogens included, as separate atoms) and its bonds
(i, j, order) with order 1, 2, 3, or 4 for aromatic. Graph features follow PyTorch Geometric's
QM9 class (11 per atom, 4 per bond):
- atom: one-hot of H, C, N, O, F (5); atomic number; aromatic; sp; sp2; sp3; number of bonded
  hydrogens. PyG reads gdb9.sdf with RDKit *without sanitisation*, so its aromatic and
  hybridisation flags are unset ("unspecified") for many atoms (pyg-team/pytorch_geometric issue
  2163); neither our sources (Kekule bonds) nor this code perceive them: those 4 columns are 0.
- bond: one-hot of single, double, triple, aromatic; both directions i -> j and j -> i.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

ELEMENTS = ("H", "C", "N", "O", "F")
ATOMIC_NUMBER = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}
BOND_TYPES = 4  # single, double, triple, aromatic
NODE_FEATURES = len(ELEMENTS) + 6
VALENCES = {"C": (4,), "N": (3, 5), "O": (2,), "F": (1,)}  # SMILES organic subset, as used
BOND_SYMBOLS = {"-": 1, "=": 2, "#": 3, ":": 4}


class MoleculeError(ValueError):
    """A record or SMILES this reader cannot interpret; the message quotes it."""


@dataclass
class Molecule:
    symbols: list[str] = field(default_factory=list)
    bonds: list[tuple[int, int, int]] = field(default_factory=list)  # (i, j, order)
    name: str = ""


def read_sdf(lines: Iterator[str]) -> Iterator[Molecule]:
    """Molecules of a V2000 SDF file, in file order (a streaming parse: stop early freely).

    Each record: a name line, two comment lines, the counts line (atoms in columns 1-3, bonds
    in 4-6), one line per atom (the symbol in columns 32-34), one per bond (atom numbers in
    columns 1-3 and 4-6, counted from 1; type in 7-9), optional property lines, then "$$$$".
    """
    record: list[str] = []
    for line in lines:
        if line.startswith("$$$$"):
            yield _sdf_record(record)
            record = []
        else:
            record.append(line.rstrip("\r\n"))


def _sdf_record(record: list[str]) -> Molecule:
    try:
        n_atoms, n_bonds = int(record[3][0:3]), int(record[3][3:6])
        atoms = record[4 : 4 + n_atoms]
        bonds = record[4 + n_atoms : 4 + n_atoms + n_bonds]
        molecule = Molecule(name=record[0].strip())
        molecule.symbols = [line[31:34].strip() for line in atoms]
        for line in bonds:
            i, j, order = int(line[0:3]) - 1, int(line[3:6]) - 1, int(line[6:9])
            molecule.bonds.append((i, j, order))
    except (IndexError, ValueError):
        raise MoleculeError(f"malformed SDF record {record[:1]!r}") from None
    if len(molecule.symbols) != n_atoms or len(molecule.bonds) != n_bonds:
        raise MoleculeError(f"SDF record {molecule.name!r} ends before its atoms and bonds")
    return molecule


_SMILES_TOKEN = re.compile(r"\[[^\]]+\]|Cl|Br|[A-Za-z]|%\d\d|\d|[-=#:/\\()\.]")
_BRACKET = re.compile(r"\[(\d*)([A-Z][a-z]?)(@*)(H\d*)?([+-]+\d*)?\]")


def parse_smiles(smiles: str) -> Molecule:
    """A molecule from a Kekule SMILES of the QM9 kind (C, N, O, F; bracket atoms with explicit
    hydrogens and charges, e.g. [NH3+] and [O-]; rings; branches), hydrogens made explicit:
    an organic-subset atom gets hydrogens up to its smallest normal valence that fits its
    bonds, a bracket atom exactly those it lists. Aromatic (lower-case) atoms are refused:
    they would need a Kekule structure first."""
    molecule = Molecule(name=smiles)
    hydrogens: list[int] = []  # explicit H count for bracket atoms, -1 for organic subset
    stack: list[int] = []
    rings: dict[str, tuple[int, int | None]] = {}
    previous, pending = None, None
    tokens = _SMILES_TOKEN.findall(smiles)
    if "".join(tokens) != smiles:
        raise MoleculeError(f"cannot parse SMILES {smiles!r}")
    for token in tokens:
        if token in BOND_SYMBOLS or token in "/\\":
            pending = BOND_SYMBOLS.get(token, 1)
        elif token == "(":
            stack.append(previous)
        elif token == ")":
            previous = stack.pop()
        elif token == ".":
            previous = None
        elif token[0] == "%" or token.isdigit():
            if previous is None:
                raise MoleculeError(f"ring bond without an atom in SMILES {smiles!r}")
            if token in rings:
                other, order = rings.pop(token)
                molecule.bonds.append((other, previous, pending or order or 1))
            else:
                rings[token] = (previous, pending)
            pending = None
        else:
            if token[0] == "[":
                match = _BRACKET.fullmatch(token)
                if not match or match.group(2) not in ATOMIC_NUMBER:
                    raise MoleculeError(f"unsupported atom {token} in SMILES {smiles!r}")
                symbol, count = match.group(2), match.group(4)
                hydrogens.append(0 if not count else int(count[1:] or 1))
            elif token in VALENCES:
                symbol = token
                hydrogens.append(-1)
            else:
                raise MoleculeError(f"unsupported atom {token!r} in SMILES {smiles!r}")
            atom = len(molecule.symbols)
            molecule.symbols.append(symbol)
            if previous is not None:
                molecule.bonds.append((previous, atom, pending or 1))
            previous, pending = atom, None
    if rings or stack:
        raise MoleculeError(f"unclosed ring or branch in SMILES {smiles!r}")
    heavy = len(molecule.symbols)
    valence = [0] * heavy
    for i, j, order in molecule.bonds:
        valence[i] += order
        valence[j] += order
    for atom in range(heavy):
        count = hydrogens[atom]
        if count < 0:
            fits = [v for v in VALENCES[molecule.symbols[atom]] if v >= valence[atom]]
            if not fits:
                raise MoleculeError(f"atom {atom} exceeds its valence in SMILES {smiles!r}")
            count = fits[0] - valence[atom]
        for _ in range(count):
            molecule.bonds.append((atom, len(molecule.symbols), 1))
            molecule.symbols.append("H")
    return molecule


def graph(molecule: Molecule) -> tuple[torch.Tensor, torch.Tensor]:
    """(nodes (n, 11), edges (n, n, 4)) with PyG's QM9 features (see the module docstring)."""
    n = len(molecule.symbols)
    unknown = set(molecule.symbols) - set(ELEMENTS)
    if unknown:
        raise MoleculeError(f"{molecule.name}: elements {sorted(unknown)} are not in QM9")
    nodes = torch.zeros(n, NODE_FEATURES)
    edges = torch.zeros(n, n, BOND_TYPES)
    for atom, symbol in enumerate(molecule.symbols):
        nodes[atom, ELEMENTS.index(symbol)] = 1.0
        nodes[atom, len(ELEMENTS)] = ATOMIC_NUMBER[symbol]
    for i, j, order in molecule.bonds:
        if not 1 <= order <= BOND_TYPES:
            raise MoleculeError(f"{molecule.name}: bond type {order} is not 1-4")
        edges[i, j, order - 1] = edges[j, i, order - 1] = 1.0
        nodes[i, -1] += molecule.symbols[j] == "H"  # number of bonded hydrogens
        nodes[j, -1] += molecule.symbols[i] == "H"
    return nodes, edges
