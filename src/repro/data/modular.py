"""Modular arithmetic: c = f(a, b) mod p for every pair (a, b), split into train and validation.

The operation is an expression in a and b, e.g. "a+b", "a*b", "a/b", "a^2+a*b+b^2". Division is
multiplication by the modular inverse; pairs whose divisor is 0 mod p are skipped (for a/b: b=0),
as in Power et al. 2022. Common operations have short names (add, sub, mul, div, ...) that keep
run ids readable.

Encodings:
- "tokens": the sequence [a, op, b, =] with vocabulary p + 2 (op = p, "=" = p + 1), for
  sequence models (Power et al. 2022);
- "onehot": [onehot(a) | onehot(b)], a float vector of length 2p (the MLP's input in Liu et al.).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import torch

from repro.config import ConfigError

NAMED_OPERATIONS = {
    "add": "a+b",
    "sub": "a-b",
    "mul": "a*b",
    "div": "a/b",
    "square_sum": "a^2+b^2",
    "quad1": "a^2+a*b+b^2",
    "quad2": "a^2+a*b+b^2+a",
    "cube_sum": "a^3+b^3",
    "cube_ab": "a^3+a*b",
    "poly3": "a^3+a*b^2+b",
}
ENCODINGS = ("tokens", "onehot")

from repro.data.polynomials import POLYNOMIALS  # noqa: E402  (Furuta et al.'s ~30 polynomials)

NAMED_OPERATIONS.update(POLYNOMIALS)


@dataclass
class Split:
    """Inputs and labels of one split; inputs are int64 tokens or float32 one-hot vectors."""

    inputs: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Dataset:
    train: Split
    val: Split
    n_classes: int
    vocab_size: int  # token vocabulary, or the one-hot width per position for "onehot"
    seq_len: int


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


def expression(operation: str) -> str:
    return NAMED_OPERATIONS.get(operation, operation)


def parse(operation: str) -> ast.expr:
    """Parse an operation into a tree of + - * / ^, integers, a and b; ConfigError otherwise."""
    text = expression(operation).replace("^", "**")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise ConfigError(
            f"data.operation: cannot parse {operation!r}; expected a name "
            f"({', '.join(NAMED_OPERATIONS)}) or an expression in a and b "
            f"such as 'a^2+a*b+b^2'"
        ) from None
    for node in ast.walk(tree):
        ok = (
            isinstance(
                node,
                (
                    ast.BinOp,
                    ast.UnaryOp,
                    ast.Add,
                    ast.Sub,
                    ast.Mult,
                    ast.Div,
                    ast.Pow,
                    ast.USub,
                    ast.Load,
                ),
            )
            or (isinstance(node, ast.Name) and node.id in ("a", "b"))
            or (isinstance(node, ast.Constant) and isinstance(node.value, int))
        )
        if not ok:
            raise ConfigError(
                f"data.operation: {operation!r} may only use a, b, integers and + - * / ^"
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            if not (isinstance(node.right, ast.Constant) and node.right.value >= 0):
                raise ConfigError(
                    f"data.operation: {operation!r}: exponents must be "
                    "non-negative integer constants"
                )
    return tree


def evaluate(operation: str, a: torch.Tensor, b: torch.Tensor, p: int):
    """(values mod p, valid mask) of the operation on int64 tensors a and b."""
    valid = torch.ones_like(a, dtype=torch.bool)

    def walk(node):
        nonlocal valid
        if isinstance(node, ast.Name):
            return (a if node.id == "a" else b) % p
        if isinstance(node, ast.Constant):
            return torch.full_like(a, node.value % p)
        if isinstance(node, ast.UnaryOp):
            return (-walk(node.operand)) % p
        left = walk(node.left)
        if isinstance(node.op, ast.Pow):
            result = torch.ones_like(a)
            for _ in range(node.right.value):  # exponents are small constants
                result = result * left % p
            return result
        right = walk(node.right)
        if isinstance(node.op, ast.Add):
            return (left + right) % p
        if isinstance(node.op, ast.Sub):
            return (left - right) % p
        if isinstance(node.op, ast.Mult):
            return left * right % p
        valid = valid & (right != 0)  # division: multiply by the inverse (Fermat: x^(p-2))
        inverse = torch.ones_like(a)
        base, exponent = right.clone(), p - 2
        while exponent:
            if exponent & 1:
                inverse = inverse * base % p
            base, exponent = base * base % p, exponent >> 1
        return left * inverse % p

    return walk(parse(operation)), valid


def check(
    p: int,
    operation: str,
    train_fraction: float,
    encoding: str = "tokens",
    b_min: int = 0,
    symmetric: bool = False,
    **_,
) -> None:
    if not is_prime(p):
        raise ConfigError(f"data.p: {p} is not prime; modular arithmetic tasks need a prime p")
    if not 0 <= b_min < p:
        raise ConfigError(f"data.b_min: {b_min} is outside [0, p)")
    parse(operation)
    if not 0 < train_fraction < 1:
        raise ConfigError(f"data.train_fraction: {train_fraction} is outside (0, 1)")
    if encoding not in ENCODINGS:
        raise ConfigError(f"data.encoding: {encoding!r} is not one of {list(ENCODINGS)}")


def build(
    p: int,
    operation: str,
    train_fraction: float,
    encoding: str = "tokens",
    b_min: int = 0,
    split_seed: int = 0,
    symmetric: bool = False,
) -> Dataset:
    """Every valid pair with b >= b_min (Grokfast's x*y uses b in [1, p): 97 * 96 pairs),
    shuffled by a generator seeded with split_seed; the first round(train_fraction * n) pairs
    are the training set. symmetric: only pairs with a <= b (Grokking Tickets' code: p(p+1)/2
    pairs, the diagonal included)."""
    check(p, operation, train_fraction, encoding, b_min)
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(b_min, p)).unbind(1)
    labels, valid = evaluate(operation, a, b, p)
    if symmetric:
        valid = valid & (a <= b)
    a, b, labels = a[valid], b[valid], labels[valid]
    if encoding == "tokens":
        inputs = torch.stack([a, torch.full_like(a, p), b, torch.full_like(a, p + 1)], dim=1)
        vocab_size, seq_len = p + 2, 4
    else:
        inputs = torch.cat(
            [torch.nn.functional.one_hot(a, p), torch.nn.functional.one_hot(b, p)], dim=1
        ).float()
        vocab_size, seq_len = p, 2
    generator = torch.Generator().manual_seed(split_seed)
    order = torch.randperm(len(labels), generator=generator)
    n_train = round(train_fraction * len(labels))
    if not 0 < n_train < len(labels):
        raise ConfigError(
            f"data.train_fraction: {train_fraction} leaves an empty split of {len(labels)} pairs"
        )
    train, val = order[:n_train], order[n_train:]
    return Dataset(
        train=Split(inputs[train], labels[train]),
        val=Split(inputs[val], labels[val]),
        n_classes=p,
        vocab_size=vocab_size,
        seq_len=seq_len,
    )
