"""The two loops of the bundled token quadratic net (repro.models.stacked_quadratic) that touch
every hidden unit of every example, compiled with numba for the CPU.

With torch operations, each of them is several full passes over the (N * batch, hidden)
activations: the hidden layer is embedding_bag then a square (and z kept for the backward);
W's gradient is a multiply by z, two index_add_ and a scale. Here each is one pass, row by row,
and z is recomputed from W's table (a few KB per model, in cache) instead of being stored: at
N = 16, p = 31, width 124, full batch, 1 thread, the two passes went from 0.39 to 0.14 ms and
from 0.82 to 0.37 ms (minimum of 15 x 100 calls; bench/README.md). Same arithmetic in the same
order as the torch operations (a sum of two rows; contributions accumulated example by example,
and 2 x + 2 y = 2 (x + y) exactly in floating point), so the results are bit for bit those of
`squared_sums_torch` and `table_gradient_torch` (tests/test_pair_kernels.py), which the bundle
uses off the CPU.

Sequential loops, so deterministic at any thread count. Compiled on first use (about a second)
and cached next to this file (numba's cache=True; NUMBA_CACHE_DIR moves it).
"""

from __future__ import annotations

import numba
import numpy as np
import torch
import torch.nn.functional as F


@numba.njit(cache=True, nogil=True)
def _squared_sums(table, rows, out):  # pragma: no cover (compiled)
    hidden = table.shape[1]
    for example in range(rows.shape[0]):
        a, b = table[rows[example, 0]], table[rows[example, 1]]
        row = out[example]
        for unit in range(hidden):
            z = a[unit] + b[unit]
            row[unit] = z * z


@numba.njit(cache=True, nogil=True)
def _table_gradient(table, rows, grad_h, out):  # pragma: no cover (compiled)
    hidden = table.shape[1]
    out[:] = 0
    contribution = np.empty(hidden, dtype=table.dtype)
    for example in range(rows.shape[0]):
        first, second = rows[example, 0], rows[example, 1]
        a, b, g = table[first], table[second], grad_h[example]
        for unit in range(hidden):  # dh/dz = 2 z
            contribution[unit] = 2 * (g[unit] * (a[unit] + b[unit]))
        into = out[first]
        for unit in range(hidden):
            into[unit] += contribution[unit]
        into = out[second]
        for unit in range(hidden):
            into[unit] += contribution[unit]


def squared_sums(table: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """h = (table[rows[:, 0]] + table[rows[:, 1]])^2, (len(rows), hidden): the hidden layer of
    each example, from a table (rows, hidden) of float32 and rows (examples, 2) of int64."""
    if table.device.type != "cpu":
        return squared_sums_torch(table, rows)
    out = table.new_empty(len(rows), table.shape[1])
    _squared_sums(_array(table), _array(rows), out.numpy())
    return out


def table_gradient(table: torch.Tensor, rows: torch.Tensor, grad_h: torch.Tensor) -> torch.Tensor:
    """The gradient of the table (table's shape) from dL/dh (examples, hidden), for h as in
    `squared_sums`: 2 z dL/dh added into both of the example's rows."""
    if table.device.type != "cpu":
        return table_gradient_torch(table, rows, grad_h)
    out = torch.empty_like(table, memory_format=torch.contiguous_format)
    _table_gradient(_array(table), _array(rows), _array(grad_h), out.numpy())
    return out


def squared_sums_torch(table: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """`squared_sums` as torch operations (any device)."""
    z = F.embedding_bag(rows, table, mode="sum")
    return z * z


def table_gradient_torch(table, rows, grad_h) -> torch.Tensor:
    """`table_gradient` as torch operations (any device)."""
    grad_z = grad_h * F.embedding_bag(rows, table, mode="sum")  # dh z; the 2 applied last
    out = torch.zeros_like(table, memory_format=torch.contiguous_format)
    out.index_add_(0, rows[:, 0], grad_z).index_add_(0, rows[:, 1], grad_z)
    return out.mul_(2)


def _array(tensor: torch.Tensor) -> np.ndarray:
    """A numpy view (no copy) of a contiguous CPU tensor, detached from autograd."""
    return tensor.detach().contiguous().numpy()
