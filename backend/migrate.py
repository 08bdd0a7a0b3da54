"""Run Alembic migrations to head: retried on connection errors, serialized by an advisory lock."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from backend.settings import get_settings

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
# Any fixed 64-bit number, the same in every container of this service.
MIGRATION_LOCK_ID = 727_001_315


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["configure_logger"] = False
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def _upgrade_locked(connection: Connection, config: Config) -> None:
    is_postgres = connection.dialect.name == "postgresql"
    if is_postgres:
        # Two containers starting together: the second waits here, then finds nothing to do.
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
    try:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()
    finally:
        if is_postgres:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()


def upgrade_to_head(database_url: str | None = None, *, attempts: int = 8) -> None:
    """Upgrade the database to head; retry while it is unreachable; raise on any other failure."""
    url = database_url or get_settings().effective_database_url
    config = alembic_config(url)
    for attempt in Retrying(
        retry=retry_if_exception_type(OperationalError),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=0.5, max=10),
        reraise=True,
        before_sleep=lambda state: logger.warning("migrate.retry attempt=%d", state.attempt_number),
    ):
        with attempt:
            engine = create_engine(url, poolclass=NullPool)
            try:
                with engine.connect() as connection:
                    _upgrade_locked(connection, config)
            finally:
                engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.migrate", description=__doc__)
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s")
    logger.info("migrate.start")
    try:
        upgrade_to_head()
    except Exception:
        logger.exception("migrate.failed")
        return 1
    logger.info("migrate.done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
