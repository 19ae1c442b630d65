"""The IDX format of the MNIST files, read and written without torchvision.

Layout (big-endian throughout): two zero bytes, one byte giving the element type, one byte
giving the number of dimensions n, then n unsigned 32-bit sizes, then the elements in C order.
MNIST images are type 0x08 (uint8) with 3 dimensions (magic 2051 = 0x00000803), labels are
uint8 with 1 dimension (magic 2049). Files ending in .gz are gunzipped on the fly.

The reader checks the magic bytes and that the file holds exactly the bytes its header
announces, so a truncated or foreign file fails with a message naming it rather than
producing a silently wrong array.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

# element type code -> big-endian numpy dtype
DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IdxError(ValueError):
    """The file is not a well-formed IDX file; the message names it and what is wrong."""


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in an IDX file (gzipped or not), in native byte order."""
    path = Path(path)
    try:
        with _open(path) as file:
            data = file.read()
    except (OSError, EOFError) as error:  # gzip: bad magic, truncated stream, CRC
        raise IdxError(f"{path}: cannot read ({error})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in DTYPES:
        raise IdxError(f"{path}: not an IDX file (magic bytes {data[:4].hex() or 'missing'})")
    dtype, ndim = DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{path}: header announces {ndim} dimensions but the file ends first")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise IdxError(
            f"{path}: header announces shape {shape} ({expected} bytes) "
            f"but the file has {len(data)} bytes"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an array as IDX (gzipped if the name ends in .gz); used to make test fixtures."""
    path = Path(path)
    codes = {dtype.newbyteorder("="): code for code, dtype in DTYPES.items()}
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise IdxError(f"{path}: IDX cannot store dtype {array.dtype}")
    big_endian = array.astype(DTYPES[codes[native]])
    header = bytes([0, 0, codes[native], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as file:
        file.write(header + big_endian.tobytes())
