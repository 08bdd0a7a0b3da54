"""glibc's allocator tuned for a process that decodes images: large buffers reused, not faulted in anew.

Every full-size PNG/WebP decode allocates a few buffers of several MB. By default glibc hands
such blocks back to the kernel when they are freed, so the next picture's buffers are
page-faulted and zeroed again. Raising the mmap and trim thresholds keeps those blocks in the
heap for the next decode (figures in bench/results.md); two arenas keep eight download threads
from each holding a heap of their own. The process then keeps up to TRIM_THRESHOLD_BYTES of
freed memory per arena instead of returning it at once.

Pillow allocates an image in blocks of at most PILLOW_BLOCK_BYTES. Set above the mmap
threshold, a picture larger than that (a 60-megapixel PNG decodes to 240 MB) comes in mapped
blocks that go back to the kernel when it is freed, instead of staying in an arena's heap
after the job: without it, eight such pictures left a pool process at 800 MB (bench/memory.py).
Pictures up to the block size are one heap block each, as before.
"""

from __future__ import annotations

import ctypes

from PIL import Image

from backend.logging import get_logger

logger = get_logger(__name__)

# mallopt(3) parameters, from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # blocks up to this come from the heap, and go back to it
TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024  # free memory at the top of a heap kept for reuse
ARENAS = 2
PILLOW_BLOCK_BYTES = 64 * 1024 * 1024  # above MMAP_THRESHOLD_BYTES


def tune_allocator() -> bool:
    """Apply the settings through mallopt(3); False, and nothing changed, where libc is not glibc."""
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return False
    settings = (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
        (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
        (M_ARENA_MAX, ARENAS),
    )
    Image.core.set_block_size(PILLOW_BLOCK_BYTES)
    applied = all(libc.mallopt(parameter, value) == 1 for parameter, value in settings)
    if not applied:
        logger.warning("worker.allocator_not_tuned")
    return applied
