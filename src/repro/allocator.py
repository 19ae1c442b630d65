"""Keep freed memory in the process between training steps (glibc's malloc only).

glibc hands a large freed block back to the kernel at once: blocks over M_MMAP_THRESHOLD are
unmapped, and a heap top over M_TRIM_THRESHOLD is trimmed. The next step allocates tensors of the
same sizes again, and every page of them faults back in, zeroed by the kernel. For a bundle's
activations (a few MB each) that was a third of a step: 10.3 ms -> 7.0 ms per step of the
quadratic bundle, 1 thread (bench/README.md). Raising both thresholds keeps the pages in the
process; its resident memory then stays at its peak, tens of MB for the models trained here.
Elsewhere (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import functools

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers (malloc.h)
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD_BYTES = 256 << 20


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True where that took."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
