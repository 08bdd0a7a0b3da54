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
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from backend.db import make_command_engine
from backend.errors import EX_CONFIG, ConfigError
from backend.logging import TextFormatter, get_logger
from backend.settings import get_settings

logger = get_logger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT_LOCATION = ROOT / "migrations"
# Any fixed 64-bit number, the same in every container of this service.
MIGRATION_LOCK_ID = 727_001_315
LOCK_POLL_SECONDS = 1.0
LOCK_LOG_EVERY_SECONDS = 10.0
# Shorter than Railway's web healthcheckTimeout (180 s in railway.web.json) together with the
# connect retries (see `worst_case_start_seconds`): a deploy stuck behind another migrator
# fails its own start with a clear line before the platform gives up on it silently.
DEFAULT_LOCK_WAIT_SECONDS = 60.0
DEFAULT_ATTEMPTS = 8
DEFAULT_CONNECT_TIMEOUT = 5
RETRY_WAIT_MULTIPLIER = 0.5
RETRY_WAIT_MAX = 10.0
RETRY_WAIT_JITTER = 1.0


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
    # pg_try_advisory_xact_lock in a loop rather than pg_advisory_xact_lock: we can say that
    # we are waiting, and give up after a bound instead of hanging a deploy forever. Between
    # tries the transaction is rolled back, so a waiting runner pins no pooler server connection.
    started = time.monotonic()
    next_log = started
    while True:
        got = connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID}
        ).scalar()
        waited = time.monotonic() - started
        if got:
            logger.info("migrate.lock.acquired", waited_s=round(waited, 1))
            return
        connection.rollback()
        if waited >= wait_seconds:
            raise MigrationLockTimeoutError(
                f"another process held the migration lock for {wait_seconds:.0f}s; giving up"
            )
        if time.monotonic() >= next_log:
            logger.info(
                "migrate.lock.waiting", waited_s=round(waited), holder="another container is migrating"
            )
            next_log += LOCK_LOG_EVERY_SECONDS
        time.sleep(LOCK_POLL_SECONDS)


@contextlib.contextmanager
def migration_lock(connection: Connection, wait_seconds: float) -> Iterator[None]:
    """The migration's one transaction, holding the lock that serialises migrations; committed on success.

    On Postgres the lock is transaction-scoped (pg_try_advisory_xact_lock): the commit or
    rollback of this transaction releases it, and so does the server if the connection dies.
    It cannot outlive the transaction, not even behind a transaction pooler (PgBouncer), where
    a session lock stays with whichever server connection happened to take it. Elsewhere
    (SQLite, one writer at a time) it is just the transaction.
    """
    is_postgres = connection.dialect.name == "postgresql"
    if is_postgres:
        _acquire_lock(connection, wait_seconds)
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # a dead connection has rolled back already
            connection.rollback()
        if is_postgres:
            logger.info("migrate.lock.released", rolled_back=True)
        raise
    connection.commit()
    if is_postgres:
        logger.info("migrate.lock.released")


def _upgrade_once(
    url: str, config: Config, target: str, lock_wait_seconds: float, connect_timeout: int
) -> None:
    engine = make_command_engine(url, connect_timeout)
    try:
        with engine.connect() as connection:
            logger.info("migrate.connected", dialect=connection.dialect.name)
            with migration_lock(connection, lock_wait_seconds):
                before = current_revisions(connection)
                logger.info("migrate.current", revision=",".join(before) or "<empty>", target=target)
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                after = current_revisions(connection)
    finally:
        engine.dispose()
    if before == after:
        logger.info("migrate.up_to_date", revision=",".join(after))
    else:
        logger.info(
            "migrate.upgraded", revision_from=",".join(before) or "<empty>", revision_to=",".join(after)
        )


def _log_retry(state: object) -> None:
    outcome = getattr(state, "outcome", None)
    error = outcome.exception() if outcome is not None else None
    first_line = str(error).strip().splitlines()[0] if error else "?"
    logger.warning(
        "migrate.retry",
        attempt=getattr(state, "attempt_number", 0),
        error=type(error).__name__,
        detail=first_line,
    )


def upgrade_to_head(
    database_url: str | None = None,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    script_location: Path | None = None,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
) -> None:
    """Upgrade the database to head; retry while it is unreachable; raise on any other failure.

    Without `database_url`: DATABASE_DIRECT_URL if set, else DATABASE_URL, with DB_CONNECT_TIMEOUT.
    """
    if database_url is None:
        settings = get_settings()
        database_url, connect_timeout = settings.migration_database_url, settings.db_connect_timeout
    url = database_url
    config = alembic_config(url, script_location)
    heads = script_heads(script_location)
    if len(heads) != 1:
        raise RuntimeError(f"the migration history has {len(heads)} heads ({', '.join(heads)}); expected one")
    logger.info("migrate.start", database=redact(url), head=heads[0])
    for attempt in Retrying(
        retry=retry_if_exception_type(OperationalError),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(
            multiplier=RETRY_WAIT_MULTIPLIER, max=RETRY_WAIT_MAX, jitter=RETRY_WAIT_JITTER
        ),
        reraise=True,
        before_sleep=_log_retry,
    ):
        with attempt:
            _upgrade_once(url, config, heads[0], lock_wait_seconds, connect_timeout)


def worst_case_start_seconds(
    attempts: int = DEFAULT_ATTEMPTS,
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
) -> float:
    """The longest the runner can take before it migrates or fails: every connect times out, then the lock waits."""
    waits = sum(
        min(RETRY_WAIT_MULTIPLIER * 2**retry + RETRY_WAIT_JITTER, RETRY_WAIT_MAX)
        for retry in range(attempts - 1)
    )
    return attempts * connect_timeout + waits + lock_wait_seconds + LOCK_POLL_SECONDS


def drop_alembic_chatter(record: logging.LogRecord) -> bool:
    # Alembic announces its dialect every time a context is built; the steps matter, not that.
    return not record.getMessage().startswith(("Context impl", "Will assume"))


def configure_step_logging() -> None:
    """One line per step on stdout, written at once (no buffering between steps)."""
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # stdout is a TextIOWrapper here
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(drop_alembic_chatter)
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.migrate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--attempts", type=int, default=DEFAULT_ATTEMPTS, help="connection attempts before giving up"
    )
    parser.add_argument(
        "--lock-wait", type=float, default=DEFAULT_LOCK_WAIT_SECONDS, help="seconds to wait for the lock"
    )
    args = parser.parse_args(argv)
    configure_step_logging()
    try:
        upgrade_to_head(attempts=args.attempts, lock_wait_seconds=args.lock_wait)
    except ConfigError as exc:
        logger.error("migrate.failed", error="ConfigError", detail=str(exc))
        return EX_CONFIG
    except OperationalError as exc:
        # Unreachable after every retry: one line says why; a traceback would bury it.
        first_line = str(exc.orig or exc).strip().splitlines()[0]
        logger.error("migrate.failed", attempts=args.attempts, error="OperationalError", detail=first_line)
        return 1
    except Exception as exc:
        logger.exception("migrate.failed", error=type(exc).__name__)
        return 1
    logger.info("migrate.done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
