"""Run Alembic migrations to head: retried on connection errors, serialized by an advisory lock.

`python -m backend.migrate` is the deploy step (scripts/web-start.sh runs it before
gunicorn). Every step is logged on its own line as it happens, and any failure
ends the process with exit code 1, so a broken migration stops the container
instead of letting it serve against the wrong schema.

Only on Postgres does it take an advisory lock: two containers starting together
migrate one after the other, and the second finds nothing left to do. SQLite (the
embedded default) has one writer at a time anyway.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from backend.db import ensure_sqlite_directory
from backend.errors import ConfigError
from backend.settings import get_settings

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT_LOCATION = ROOT / "migrations"
# Any fixed 64-bit number, the same in every container of this service.
MIGRATION_LOCK_ID = 727_001_315
LOCK_POLL_SECONDS = 1.0
LOCK_LOG_EVERY_SECONDS = 10.0
DEFAULT_LOCK_WAIT_SECONDS = 600.0


class MigrationLockTimeoutError(RuntimeError):
    """Another process held the migration lock for longer than we were willing to wait."""


def alembic_config(database_url: str | None = None, script_location: Path | None = None) -> Config:
    """An Alembic config for this repository (or a copy of its migrations at `script_location`)."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(script_location or SCRIPT_LOCATION))
    config.attributes["configure_logger"] = False
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def script_heads(script_location: Path | None = None) -> tuple[str, ...]:
    """The head revisions of the migration scripts (exactly one when the history is healthy)."""
    script = ScriptDirectory.from_config(alembic_config(script_location=script_location))
    return tuple(sorted(script.get_heads()))


def known_revisions(script_location: Path | None = None) -> set[str]:
    """Every revision id the migration scripts define."""
    script = ScriptDirectory.from_config(alembic_config(script_location=script_location))
    return {revision.revision for revision in script.walk_revisions()}


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions the database is stamped with (empty before the first migration)."""
    return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def redact(url: str) -> str:
    """The URL with its password hidden, for logs."""
    return make_url(url).render_as_string(hide_password=True)


def _acquire_lock(connection: Connection, wait_seconds: float) -> None:
    # pg_try_advisory_lock in a loop rather than pg_advisory_lock: we can say that
    # we are waiting, and give up after a bound instead of hanging a deploy forever.
    started = time.monotonic()
    next_log = started
    while True:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID}).scalar()
        connection.commit()
        waited = time.monotonic() - started
        if got:
            logger.info("migrate.lock.acquired waited=%.1fs", waited)
            return
        if waited >= wait_seconds:
            raise MigrationLockTimeoutError(
                f"another process held the migration lock for {wait_seconds:.0f}s; giving up"
            )
        if time.monotonic() >= next_log:
            logger.info("migrate.lock.waiting waited=%.0fs (another container is migrating)", waited)
            next_log += LOCK_LOG_EVERY_SECONDS
        time.sleep(LOCK_POLL_SECONDS)


def _release_lock(connection: Connection) -> None:
    # If the connection died the server has released the lock already.
    with contextlib.suppress(Exception):
        connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
        logger.info("migrate.lock.released")


def _upgrade(connection: Connection, config: Config, target: str) -> None:
    before = current_revisions(connection)
    logger.info("migrate.current revision=%s target=%s", ",".join(before) or "<empty>", target)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    connection.commit()
    after = current_revisions(connection)
    connection.commit()
    if before == after:
        logger.info("migrate.up_to_date revision=%s", ",".join(after))
    else:
        logger.info("migrate.upgraded from=%s to=%s", ",".join(before) or "<empty>", ",".join(after))


@contextlib.contextmanager
def migration_lock(connection: Connection, wait_seconds: float) -> Iterator[None]:
    """Hold the Postgres advisory lock that serialises migrations (a no-op elsewhere)."""
    if connection.dialect.name != "postgresql":
        yield
        return
    _acquire_lock(connection, wait_seconds)
    try:
        yield
    finally:
        _release_lock(connection)


def _upgrade_once(url: str, config: Config, target: str, lock_wait_seconds: float) -> None:
    ensure_sqlite_directory(url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            logger.info("migrate.connected dialect=%s", connection.dialect.name)
            with migration_lock(connection, lock_wait_seconds):
                _upgrade(connection, config, target)
    finally:
        engine.dispose()


def _log_retry(state: object) -> None:
    outcome = getattr(state, "outcome", None)
    error = outcome.exception() if outcome is not None else None
    first_line = str(error).strip().splitlines()[0] if error else "?"
    logger.warning(
        "migrate.retry attempt=%d error=%s: %s",
        getattr(state, "attempt_number", 0),
        type(error).__name__,
        first_line,
    )


def upgrade_to_head(
    database_url: str | None = None,
    *,
    attempts: int = 8,
    script_location: Path | None = None,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
) -> None:
    """Upgrade the database to head; retry while it is unreachable; raise on any other failure."""
    url = database_url or get_settings().effective_database_url
    config = alembic_config(url, script_location)
    heads = script_heads(script_location)
    if len(heads) != 1:
        raise RuntimeError(f"the migration history has {len(heads)} heads ({', '.join(heads)}); expected one")
    logger.info("migrate.start database=%s head=%s", redact(url), heads[0])
    for attempt in Retrying(
        retry=retry_if_exception_type(OperationalError),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=0.5, max=10),
        reraise=True,
        before_sleep=_log_retry,
    ):
        with attempt:
            _upgrade_once(url, config, heads[0], lock_wait_seconds)


def drop_alembic_chatter(record: logging.LogRecord) -> bool:
    # Alembic announces its dialect every time a context is built; the steps matter, not that.
    return not record.getMessage().startswith(("Context impl", "Will assume"))


def configure_step_logging() -> None:
    """One line per step on stdout, written at once (no buffering between steps)."""
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(drop_alembic_chatter)
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.migrate", description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=8, help="connection attempts before giving up")
    parser.add_argument(
        "--lock-wait", type=float, default=DEFAULT_LOCK_WAIT_SECONDS, help="seconds to wait for the lock"
    )
    args = parser.parse_args(argv)
    configure_step_logging()
    try:
        upgrade_to_head(attempts=args.attempts, lock_wait_seconds=args.lock_wait)
    except ConfigError as exc:
        logger.error("migrate.failed config error: %s", exc)
        return 1
    except OperationalError as exc:
        # Unreachable after every retry: one line says why; a traceback would bury it.
        first_line = str(exc.orig or exc).strip().splitlines()[0]
        logger.error("migrate.failed attempts=%d error=OperationalError: %s", args.attempts, first_line)
        return 1
    except Exception as exc:
        logger.exception("migrate.failed error=%s", type(exc).__name__)
        return 1
    logger.info("migrate.done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
