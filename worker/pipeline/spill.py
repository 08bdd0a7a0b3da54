"""A job's downloaded image bytes on disk between measuring and storing, not in memory.

An image that passes the junk checks waits for ranking, and the kept ones for their upload.
Held in memory, 200 copies of a 19 MB picture took a pool process to 4 GB. Instead its
bytes are written once per content hash (200 URLs serving the same file are one file) into
the job's temporary folder, and read back only when they are stored. In memory stay only
the downloads in flight (SCRAPER_DOWNLOAD_WORKERS × MAX_IMAGE_BYTES at most) and the decodes
(worker.pipeline.decode_budget). On disk a job holds at most SCRAPER_MAX_CANDIDATES ×
MAX_IMAGE_BYTES, distinct pictures only. The folder is removed once nothing refers to its
files any more (the job's result dropped), or at `close()`.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path


class Spill:
    """One job's folder of spilled image bytes, by content hash; removed when closed or collected."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="scraper-spill-"))
        self._lock = threading.Lock()
        self._by_hash: dict[str, SpilledBytes] = {}
        self._remove = weakref.finalize(self, shutil.rmtree, self.folder, ignore_errors=True)

    def keep(self, data: bytes, content_hash: str) -> SpilledBytes:
        """The bytes on disk (written once per content hash), as a handle that reads them back."""
        with self._lock:
            known = self._by_hash.get(content_hash)
            if known is None:
                path = self.folder / content_hash
                path.write_bytes(data)
                known = self._by_hash[content_hash] = SpilledBytes(path=path, size=len(data), spill=self)
            return known

    def close(self) -> None:
        self._remove()


@dataclass(frozen=True)
class SpilledBytes:
    """Image bytes in a Spill's folder; `read()` gives them back. Keeps its Spill (and so the file) alive."""

    path: Path
    size: int
    spill: Spill = field(repr=False, compare=False)

    def read(self) -> bytes:
        return self.path.read_bytes()
