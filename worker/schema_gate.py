"""The worker's schema gate: take no job until the database is at the code's head.

A worker started against a database one revision behind ran every job into
`UndefinedColumn`, three attempts each. At start, before it forks its pool, the worker
reads alembic_version; while the schema is `behind` (another service is migrating, or
MIGRATE_ON_START=false and the release step has not run yet) it waits, polling, for at
most SCHEMA_WAIT_SECONDS, then exits so the platform restarts it. Two heads in the
scripts is refused at once.
"""

from __future__ import annotations

import time
from pathlib import Path

from backend.db import make_command_engine
from backend.logging import get_logger
from backend.schema_state import SERVABLE, code_head, schema_state
from backend.settings import Settings

logger = get_logger(__name__)

POLL_SECONDS = 2.0
LOG_EVERY_SECONDS = 10.0


class SchemaNotReadyError(RuntimeError):
    """The database stayed behind the code's head for the whole wait."""


def read_state(settings: Settings, script_location: Path | None = None) -> str:
    """The schema state, on a connection of its own (the worker's main process keeps no pool)."""
    engine = make_command_engine(settings.effective_database_url, settings.db_connect_timeout)
    try:
        with engine.connect() as connection:
            return schema_state(connection, script_location)
    finally:
        engine.dispose()


def wait_for_schema(settings: Settings, script_location: Path | None = None) -> str:
    """Return the state once it is servable; SchemaNotReadyError after SCHEMA_WAIT_SECONDS; SchemaHeadsError at once."""
    head = code_head(script_location)
    deadline = time.monotonic() + settings.schema_wait_seconds
    next_log = 0.0
    while True:
        try:
            state = read_state(settings, script_location)
        except Exception as exc:  # unreachable for a moment: the same wait, the reason logged
            state = f"unreadable ({type(exc).__name__})"
        if state in SERVABLE:
            logger.info("worker.schema", state=state, head=head)
            return state
        now = time.monotonic()
        if now >= deadline:
            raise SchemaNotReadyError(
                f"the database schema is {state}, not at head {head}, after {settings.schema_wait_seconds:.0f}s: "
                "run the migrations (python -m backend.migrate)"
            )
        if now >= next_log:
            logger.warning("worker.schema.waiting", state=state, head=head, jobs="none until migrated")
            next_log = now + LOG_EVERY_SECONDS
        time.sleep(POLL_SECONDS)
