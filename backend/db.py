"""The process's one engine and its session factory, built from settings."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from backend.settings import Settings


def make_engine(settings: Settings) -> Engine:
    """An engine sized and guarded by settings: pool limits, pre-ping, timeouts, keepalives."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        return _make_sqlite_engine(url)
    pool_options: dict[str, Any]
    if settings.db_nullpool:
        # Behind PgBouncer/Supabase poolers the pooler owns the connections; we
        # must not hold idle ones ourselves, nor rely on session state.
        pool_options = {"poolclass": NullPool}
    else:
        pool_options = {
            "pool_size": settings.db_pool_size,
            "max_overflow": settings.db_max_overflow,
            "pool_recycle": settings.db_pool_recycle,
            "pool_timeout": settings.db_pool_timeout,
            "pool_pre_ping": True,
        }
    engine = create_engine(
        url, connect_args=_postgres_connect_args(settings.db_connect_timeout), **pool_options
    )
    if not settings.db_nullpool and settings.db_idle_timeout:
        _close_when_idle(engine, settings.db_idle_timeout)
    return engine


# idle_session_timeout exists from Postgres 14 on.
IDLE_SESSION_TIMEOUT_SINCE = 140000


def _close_when_idle(engine: Engine, seconds: int) -> None:
    """Have the server end a pooled connection left idle for `seconds` (idle_session_timeout).

    A pool keeps its connections open for ever otherwise: after a burst, idle connections of
    every process held the server's slots. The next checkout's pre-ping finds a connection the
    server ended and opens a fresh one. Not with NullPool: a transaction pooler would keep the
    setting on its server connection.
    """

    @event.listens_for(engine, "connect")
    def _set_idle_timeout(dbapi_connection: Any, _record: Any) -> None:
        if getattr(dbapi_connection, "server_version", 0) < IDLE_SESSION_TIMEOUT_SINCE:
            return
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET idle_session_timeout = {int(seconds) * 1000}")
        cursor.close()
        dbapi_connection.commit()  # a rolled-back SET would be undone


def make_command_engine(url: str | URL, connect_timeout: int = 5) -> Engine:
    """A NullPool engine for a one-off command (migrate, verify_migrations): every connect bounded.

    libpq's connect_timeout covers the whole handshake, so a server that accepts the TCP
    connection and never answers fails the connect instead of hanging the command.
    """
    url = make_url(url)
    ensure_sqlite_directory(url)
    if url.get_backend_name() != "postgresql":
        return create_engine(url, poolclass=NullPool)
    return create_engine(url, poolclass=NullPool, connect_args=_postgres_connect_args(connect_timeout))


def _postgres_connect_args(connect_timeout: int) -> dict[str, Any]:
    return {
        "connect_timeout": connect_timeout,
        "application_name": f"image-scraper:{os.getpid()}",
        # Keepalives notice a silently dropped connection (NAT, pooler restart)
        # within ~1 minute instead of a TCP timeout of hours.
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }


def ensure_sqlite_directory(url: str | URL) -> None:
    """Create the folder of a SQLite file database (SQLite creates the file, not its folder)."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).resolve().parent.mkdir(parents=True, exist_ok=True)


def _make_sqlite_engine(url: URL) -> Engine:
    ensure_sqlite_directory(url)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets the API read while the worker writes.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


class Database:
    """One engine plus its session factory; create one per process (after fork)."""

    def __init__(self, settings: Settings) -> None:
        self.engine = make_engine(settings)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session for one unit of work: rolled back on error, always closed."""
        session = self.session_factory()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
