"""How many bytes of decoded pixels one process may hold at once, shared by all its download threads.

Each image's header says how many pixels decoding it will make (a JPEG fewer: it decodes at
reduced scale, see measure.decoded_pixels). Before decoding, a thread reserves that many
pixels times BYTES_PER_PIXEL from the process's budget (MAX_DECODE_BYTES) and waits while
the budget cannot cover it; it gives them back when the reduced copies are made. Eight
threads decoding eight 60-megapixel PNGs therefore take turns instead of holding 8× the
memory, while ordinary photos, a few megabytes each, decode side by side. A reservation
larger than the whole budget (MAX_IMAGE_PIXELS raised above it) waits for the budget to be
empty and then runs alone.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

# Pillow keeps a multi-band pixel in four bytes, and one working copy (a mode conversion,
# a premultiplied resize) may exist beside the decode at a time.
BYTES_PER_PIXEL = 8


class DecodeBudget:
    """A counting budget of bytes: reserve(n) waits until n fit (or everything is free), release on exit."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self._freed = threading.Condition()

    @contextlib.contextmanager
    def reserve(self, size: int) -> Iterator[None]:
        size = min(size, self.capacity)
        with self._freed:
            while self.in_use + size > self.capacity:
                self._freed.wait()
            self.in_use += size
        try:
            yield
        finally:
            with self._freed:
                self.in_use -= size
                self._freed.notify_all()


_budgets: dict[int, DecodeBudget] = {}
_lock = threading.Lock()


def process_budget(capacity: int) -> DecodeBudget:
    """This process's budget of `capacity` bytes (one per capacity, so a test can use its own)."""
    with _lock:
        budget = _budgets.get(capacity)
        if budget is None:
            budget = _budgets[capacity] = DecodeBudget(capacity)
        return budget


def _forget_after_fork() -> None:
    # A forked child starts with nothing reserved, whatever its parent's threads held.
    global _lock  # noqa: PLW0603
    _budgets.clear()
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
