"""The per-process resources (settings, database, object store), built lazily and never across a fork."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from backend.db import Database
from backend.settings import Settings, get_settings
from backend.storage import ImageStore, make_store


@dataclass
class Runtime:
    settings: Settings
    db: Database
    store: ImageStore
    pid: int = field(default_factory=os.getpid)


_lock = threading.Lock()
_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    """This process's runtime; a forked child builds its own (pooled connections must not cross a fork)."""
    global _runtime  # noqa: PLW0603 - one runtime per process is the point
    with _lock:
        if _runtime is not None and _runtime.pid != os.getpid():
            # Forget the parent's pooled connections without closing them under it.
            _runtime.db.engine.dispose(close=False)
            _runtime = None
        if _runtime is None:
            settings = get_settings()
            _runtime = Runtime(settings=settings, db=Database(settings), store=make_store(settings))
        return _runtime


def reset_runtime() -> None:
    """Drop this process's runtime (after fork, or when a test changes settings)."""
    global _runtime  # noqa: PLW0603
    with _lock:
        if _runtime is not None and _runtime.pid == os.getpid():
            _runtime.db.dispose()
        _runtime = None
