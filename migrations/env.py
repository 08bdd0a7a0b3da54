"""Alembic environment: URL from settings, models as the target, timeouts on Postgres."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, text

from backend.db import make_command_engine
from backend.migrate import DEFAULT_LOCK_WAIT_SECONDS, migration_lock
from backend.models import Base
from backend.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _database_url() -> str:
    return config.attributes.get("database_url") or get_settings().migration_database_url


def run_migrations_offline() -> None:
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    if not is_sqlite:
        # Never queue behind a long transaction holding a lock for minutes, and
        # never let one statement run unbounded during a deploy. LOCAL: they end with the
        # migration's transaction, so nothing is left on a pooler's server connection.
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))
        connection.execute(text("SET LOCAL statement_timeout = '5min'"))
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # Plain `alembic upgrade head`: the same bounded connect, lock and one transaction as
    # `python -m backend.migrate` (migration_lock commits it; the lock goes with the commit).
    engine = make_command_engine(_database_url())
    try:
        with engine.connect() as conn, migration_lock(conn, DEFAULT_LOCK_WAIT_SECONDS):
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
